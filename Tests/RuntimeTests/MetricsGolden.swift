/// `MetricsTests.golden`: the exposition for 4 clients on a 3+1 real farm, one real
/// PROBE_FAILED, one RTT sample, two dataplane drops (regenerate by reading the diff).
enum MetricsGolden {
    static let text = """
        # HELP vpnslb_real_connections Connections currently assigned to the real.
        # TYPE vpnslb_real_connections gauge
        vpnslb_real_connections{farm="IPSEC",real="198.51.100.11"} 8
        vpnslb_real_connections{farm="IPSEC",real="198.51.100.12"} 0
        vpnslb_real_connections{farm="IPSEC",real="198.51.100.13"} 0
        vpnslb_real_connections{farm="SPARE",real="198.51.100.21"} 0
        # HELP vpnslb_real_connections_total Connections ever assigned to the real.
        # TYPE vpnslb_real_connections_total counter
        vpnslb_real_connections_total{farm="IPSEC",real="198.51.100.11"} 8
        vpnslb_real_connections_total{farm="IPSEC",real="198.51.100.12"} 0
        vpnslb_real_connections_total{farm="IPSEC",real="198.51.100.13"} 0
        vpnslb_real_connections_total{farm="SPARE",real="198.51.100.21"} 0
        # HELP vpnslb_real_packets_total Packets the SLB sent to the real.
        # TYPE vpnslb_real_packets_total counter
        vpnslb_real_packets_total{farm="IPSEC",real="198.51.100.11"} 8
        vpnslb_real_packets_total{farm="IPSEC",real="198.51.100.12"} 0
        vpnslb_real_packets_total{farm="IPSEC",real="198.51.100.13"} 0
        vpnslb_real_packets_total{farm="SPARE",real="198.51.100.21"} 0
        # HELP vpnslb_real_weight Configured weight of the real.
        # TYPE vpnslb_real_weight gauge
        vpnslb_real_weight{farm="IPSEC",real="198.51.100.11"} 8
        vpnslb_real_weight{farm="IPSEC",real="198.51.100.12"} 8
        vpnslb_real_weight{farm="IPSEC",real="198.51.100.13"} 8
        vpnslb_real_weight{farm="SPARE",real="198.51.100.21"} 8
        # HELP vpnslb_real_state 1 for the real's current IOS state, 0 for the others.
        # TYPE vpnslb_real_state gauge
        vpnslb_real_state{farm="IPSEC",real="198.51.100.11",state="OUTOFSERVICE"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.11",state="OPERATIONAL"} 1
        vpnslb_real_state{farm="IPSEC",real="198.51.100.11",state="MAXCONNS"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.11",state="PROBE_FAILED"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.12",state="OUTOFSERVICE"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.12",state="OPERATIONAL"} 1
        vpnslb_real_state{farm="IPSEC",real="198.51.100.12",state="MAXCONNS"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.12",state="PROBE_FAILED"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.13",state="OUTOFSERVICE"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.13",state="OPERATIONAL"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.13",state="MAXCONNS"} 0
        vpnslb_real_state{farm="IPSEC",real="198.51.100.13",state="PROBE_FAILED"} 1
        vpnslb_real_state{farm="SPARE",real="198.51.100.21",state="OUTOFSERVICE"} 0
        vpnslb_real_state{farm="SPARE",real="198.51.100.21",state="OPERATIONAL"} 1
        vpnslb_real_state{farm="SPARE",real="198.51.100.21",state="MAXCONNS"} 0
        vpnslb_real_state{farm="SPARE",real="198.51.100.21",state="PROBE_FAILED"} 0
        # HELP vpnslb_probe_up 1 when the probe instance is not failing.
        # TYPE vpnslb_probe_up gauge
        vpnslb_probe_up{probe="PING",farm="IPSEC",real="198.51.100.11"} 1
        vpnslb_probe_up{probe="PING",farm="IPSEC",real="198.51.100.12"} 1
        vpnslb_probe_up{probe="PING",farm="IPSEC",real="198.51.100.13"} 0
        # HELP vpnslb_probe_rtt_seconds Round-trip time of the last successful probe.
        # TYPE vpnslb_probe_rtt_seconds gauge
        vpnslb_probe_rtt_seconds{probe="PING",farm="IPSEC",real="198.51.100.11"} 0.002
        # HELP vpnslb_probe_outages_total Times the probe instance failed the real.
        # TYPE vpnslb_probe_outages_total counter
        vpnslb_probe_outages_total{probe="PING",farm="IPSEC",real="198.51.100.11"} 0
        vpnslb_probe_outages_total{probe="PING",farm="IPSEC",real="198.51.100.12"} 0
        vpnslb_probe_outages_total{probe="PING",farm="IPSEC",real="198.51.100.13"} 1
        # HELP vpnslb_vserver_connections Connections currently held by the vserver.
        # TYPE vpnslb_vserver_connections gauge
        vpnslb_vserver_connections{vserver="IPSEC-ISAKMP"} 4
        vpnslb_vserver_connections{vserver="IPSEC-ESP"} 4
        # HELP vpnslb_vserver_connections_total Connections ever created by the vserver.
        # TYPE vpnslb_vserver_connections_total counter
        vpnslb_vserver_connections_total{vserver="IPSEC-ISAKMP"} 4
        vpnslb_vserver_connections_total{vserver="IPSEC-ESP"} 4
        # HELP vpnslb_vserver_packets_total Packets the vserver load balanced.
        # TYPE vpnslb_vserver_packets_total counter
        vpnslb_vserver_packets_total{vserver="IPSEC-ISAKMP"} 4
        vpnslb_vserver_packets_total{vserver="IPSEC-ESP"} 4
        # HELP vpnslb_vserver_up 1 when the vserver is OPERATIONAL.
        # TYPE vpnslb_vserver_up gauge
        vpnslb_vserver_up{vserver="IPSEC-ISAKMP"} 1
        vpnslb_vserver_up{vserver="IPSEC-ESP"} 1
        # HELP vpnslb_packets_balanced_total Packets load balanced by the engine.
        # TYPE vpnslb_packets_balanced_total counter
        vpnslb_packets_balanced_total 8
        # HELP vpnslb_connections_created_total Connections created.
        # TYPE vpnslb_connections_created_total counter
        vpnslb_connections_created_total 8
        # HELP vpnslb_connections_destroyed_total Connections destroyed (idle, purge, clear).
        # TYPE vpnslb_connections_destroyed_total counter
        vpnslb_connections_destroyed_total 0
        # HELP vpnslb_connections_purged_total Connections removed by failaction purge or clear.
        # TYPE vpnslb_connections_purged_total counter
        vpnslb_connections_purged_total 0
        # HELP vpnslb_drops_total Packets dropped, by reason (engine and dataplane).
        # TYPE vpnslb_drops_total counter
        vpnslb_drops_total{reason="client not allowed"} 0
        vpnslb_drops_total{reason="connection table full"} 0
        vpnslb_drops_total{reason="no real available"} 0
        vpnslb_drops_total{reason="no-neighbour"} 2
        vpnslb_drops_total{reason="passed"} 0
        vpnslb_drops_total{reason="sticky table full"} 0
        # HELP vpnslb_dataplane_packets_total Frames received on the public side and forwarded.
        # TYPE vpnslb_dataplane_packets_total counter
        vpnslb_dataplane_packets_total{direction="received"} 20
        vpnslb_dataplane_packets_total{direction="forwarded"} 18
        # HELP vpnslb_table_entries Live entries of the connection and sticky tables.
        # TYPE vpnslb_table_entries gauge
        vpnslb_table_entries{table="connections"} 8
        vpnslb_table_entries{table="sticky"} 4
        # HELP vpnslb_table_limit ip slb entries caps.
        # TYPE vpnslb_table_limit gauge
        vpnslb_table_limit{table="connections"} 2000000
        vpnslb_table_limit{table="sticky"} 1000000
        # HELP vpnslb_table_fill_ratio Live entries divided by the cap.
        # TYPE vpnslb_table_fill_ratio gauge
        vpnslb_table_fill_ratio{table="connections"} 4e-06
        vpnslb_table_fill_ratio{table="sticky"} 4e-06
        # HELP vpnslb_table_bytes Memory the table holds, reserved capacity included.
        # TYPE vpnslb_table_bytes gauge
        vpnslb_table_bytes{table="connections"} 4096
        vpnslb_table_bytes{table="sticky"} 2048
        # HELP vpnslb_events_total Engine events by name.
        # TYPE vpnslb_events_total counter
        vpnslb_events_total{event="slb.real.down"} 1

        """
}
