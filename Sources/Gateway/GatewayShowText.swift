import GatewayShow
import IKE
import SLBWire

/// Text of `slb gateway show crypto isakmp sa`: the snapshot's rows through the IKEv1 core's
/// `ISAKMPSATable` (seed 002 Example 6-2 layout), in connection-id order.
public enum GatewayShowText {
    public static func isakmpSA(_ snapshot: GatewaySnapshot) -> String {
        let rows = snapshot.isakmpSAs.sorted { $0.connectionID < $1.connectionID }.compactMap { r -> ISAKMPSASnapshot? in
            guard let d = IPv4Address(r.destination), let s = IPv4Address(r.source) else { return nil }
            return ISAKMPSASnapshot(destination: d, source: s, state: r.state, connectionID: r.connectionID, slot: r.slot)
        }
        return ISAKMPSATable.render(rows)
    }
}
