import ESP
import GatewayShow
import IKE
import IPsecCrypto
import SLBWire

/// The IKEv1 half of the gateway core: the responder, its next due time and what the edge
/// knows of each ISAKMP SA. ESP SAs from quick mode live in the same SA database and child
/// table as IKEv2's (`ChildRecord.isakmp` set), so ESP, inner traffic and `show crypto
/// ipsec sa` treat both versions alike.
struct IKEv1GatewayState {
    var responder: IKEv1Responder
    var wakeup: MonotonicTime?
    let enabled: Bool
    /// Established ISAKMP SAs as announced (endpoints after the NAT-T float, conn-id), so a
    /// quick mode's install does not walk the responder's whole table.
    var established: [ISAKMPCookies: ISAKMPSAInfo] = [:]

    init(configuration: GatewayConfiguration, crypto: any CryptoProvider) {
        responder = IKEv1Responder(configuration: configuration.ikev1ResponderConfiguration, crypto: crypto)
        enabled = configuration.ikev1.enabled
    }
}

extension GatewayCore {
    /// ISAKMP header octet 17 (RFC 2408 §3.1, RFC 7296 §3.1): major version in the high
    /// nibble, 1 for IKEv1 (0x10), 2 for IKEv2 (0x20). Anything not version 1 is left to the
    /// IKEv2 responder, which counts what it cannot parse.
    static func isIKEv1(_ datagram: [UInt8]) -> Bool {
        datagram.count > versionOctet && datagram[versionOctet] >> 4 == 1
    }

    /// Offset of the version octet in both headers (RFC 2408 §3.1, RFC 7296 §3.1).
    static let versionOctet = 17

    /// Handles `datagram` when it is IKEv1; false hands it to IKEv2.
    mutating func routeIKEv1(_ datagram: [UInt8], from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime,
                             into output: inout [GatewayOutput]) -> Bool {
        guard Self.isIKEv1(datagram) else { return false }
        guard v1.enabled else {
            counters.count("ikev1.disabled")
            return true
        }
        performIKEv1(v1.responder.receive(datagram, from: from, to: to, now: now), peer: from, now: now, into: &output)
        return true
    }

    mutating func handleIKEv1Timers(now: MonotonicTime, into output: inout [GatewayOutput]) {
        guard let w = v1.wakeup, w <= now else { return }
        v1.wakeup = nil
        let actions = v1.responder.handleTimers(now: now)
        // Retransmitted QM2s, DPD R-U-THEREs and expiry DELETEs: counted so an operator
        // (and the namespace tests) can see the gateway probing.
        for case .send in actions { counters.count("ikev1.timerSend") }
        performIKEv1(actions, peer: nil, now: now, into: &output)
    }

    /// An IKEv1 ESP SA passed its hard lifetime in the ESP target (seconds or kilobytes,
    /// RFC 2407 §4.5): quick mode's lifetime is ours to enforce, so the gateway deletes the
    /// pair and tells the peer (RFC 2408 §3.15), which then negotiates a new one.
    mutating func expireIKEv1Child(inboundSPI spi: UInt32, now: MonotonicTime, into output: inout [GatewayOutput]) {
        guard let cookies = children[spi]?.isakmp else { return }
        counters.count("esp.expired")
        note(.childExpired(inboundSPI: spi))
        performIKEv1(v1.responder.deleteChildSA(cookies, inboundSPI: spi, now: now), peer: nil, now: now, into: &output)
        inbound.remove(spi: spi)
        children[spi] = nil
    }

    /// Sends an R-U-THERE to the peer of every established ISAKMP SA now (on-demand DPD;
    /// tests and operators use it to check liveness without waiting for `--dpd`).
    public mutating func probeIKEv1Peers(now: MonotonicTime, into output: inout [GatewayOutput]) {
        for info in v1.responder.isakmpSAs where info.state == .qmIdle {
            performIKEv1(v1.responder.probePeer(info.cookies, now: now), peer: nil, now: now, into: &output)
        }
    }

    public var establishedISAKMPSACount: Int { v1.responder.establishedCount }

    private mutating func performIKEv1(_ actions: [IKEv1Action], peer: IKEEndpoint?, now: MonotonicTime,
                                       into output: inout [GatewayOutput]) {
        for action in actions {
            switch action {
            case .send(let bytes, let to, let from):
                // RFC 3947 §4: after the float IKE travels on 4500 behind the non-ESP marker.
                output.append(.udp(from.port == 500 ? bytes : markedIKEDatagram(bytes), from: from, to: to))
            case .natDetected(_, let status, _):
                counters.count(status.detected ? "ikev1.natDetected" : "ikev1.noNAT")
            case .phase1Established(let info):
                counters.count("ikev1.phase1Established")
                v1.established[info.cookies] = info
                note(.ikev1("ISAKMP SA established", Self.metadata(info)))
            case .installChildSA(let child):
                installIKEv1(child, now: now)
            case .deleteChildSA(let inboundSPI, let outboundSPI, let cookies, let reason):
                inbound.remove(spi: inboundSPI)
                children[inboundSPI] = nil
                note(.ikev1("IPsec SA deleted", ["isakmp.cookies": "\(cookies)", "esp.spi_in": Self.hex(inboundSPI),
                                                 "esp.spi_out": Self.hex(outboundSPI), "reason": reason.rawValue]))
            case .childSAsMoved(let spis, let from, let to, let connectionID):
                counters.count("ikev1.childSAsMoved")
                for spi in spis {
                    children[spi]?.isakmp = to
                    children[spi]?.ike = IKESAIdentifier(spiI: to.initiator, spiR: to.responder)
                    children[spi]?.isakmpConnectionID = connectionID
                }
                note(.ikev1("IPsec SAs moved to the peer's new ISAKMP SA", ["isakmp.cookies": "\(to)", "isakmp.old_cookies": "\(from)",
                                                                           "esp.count": "\(spis.count)"]))
            case .deleteISAKMPSA(let cookies, let reason):
                counters.count("ikev1.deleted.\(reason.rawValue)")
                v1.established[cookies] = nil
                for (spi, c) in children where c.isakmp == cookies {
                    inbound.remove(spi: spi)
                    children[spi] = nil
                }
                note(.ikev1("ISAKMP SA deleted", ["isakmp.cookies": "\(cookies)", "reason": reason.rawValue]))
            case .peerAlive:
                counters.count("ikev1.dpd.alive")
            case .peerDead(let cookies):
                counters.count("ikev1.dpd.dead")
                note(.ikev1("DPD: peer dead (RFC 3706), deleting its SAs", ["isakmp.cookies": "\(cookies)"], notice: true))
            case .schedule(let at):
                v1.wakeup = at
            case .failed(let failure):
                counters.count("ikev1.failed.\(failure)")
                note(.ikev1("ISAKMP negotiation failed", ["failure": "\(failure)"], notice: true))
            case .dropped(let reason):
                counters.count("ikev1.\(reason.rawValue)")
                // No acceptable proposal, aggressive mode, unknown exchanges and Transaction
                // (XAuth / Mode-Config) are refused by the core with a notify; logged at the
                // 1st, 2nd, 4th, 8th… so a flood of them cannot flood the log.
                if reason == .notSupported {
                    let n = counters["ikev1.notSupported"]
                    if n & (n - 1) == 0 {
                        note(.ikev1("IKEv1 refused (no acceptable proposal, aggressive mode, XAuth/Mode-Config or unknown exchange)",
                                    ["ike.peer": peer.map { "\($0)" } ?? "-", "count": "\(n)"], notice: true))
                    }
                }
            }
        }
    }

    private mutating func installIKEv1(_ c: IKEv1ChildSA, now: MonotonicTime) {
        guard let info = v1.established[c.isakmp] ?? v1.responder.isakmpSAs.first(where: { $0.cookies == c.isakmp }) else {
            counters.count("esp.install.noISAKMPSA")
            return
        }
        do throws(ESPError) {
            let inboundSA = try c.child.inboundSA(now: now, lifetime: c.lifetime)
            let outboundSA = try c.child.outboundSA(now: now, lifetime: c.lifetime)
            do {
                try inbound.insert(inboundSA)
            } catch {
                counters.count("esp.install.\(error)")
                return
            }
            var record = ChildRecord(
                ike: IKESAIdentifier(spiI: c.isakmp.initiator, spiR: c.isakmp.responder), child: c.child,
                outbound: outboundSA, local: info.local.address, peer: info.peer.address,
                framing: c.child.udpEncapsulation ? .udp(peerPort: info.peer.port) : .raw,
                allowedSources: c.child.remoteSelectors.compactMap(\.ipv4Range),
                allowedDestinations: c.child.localSelectors.compactMap(\.ipv4Range))
            record.isakmp = c.isakmp
            record.isakmpConnectionID = info.connectionID
            children[c.child.inboundSPI] = record
            note(.ikev1("IPsec SA installed", [
                "isakmp.cookies": "\(c.isakmp)", "esp.spi_in": Self.hex(c.child.inboundSPI),
                "esp.spi_out": Self.hex(c.child.outboundSPI), "esp.udp": "\(c.child.udpEncapsulation)",
                "esp.lifetime_s": c.lifetime.hardTime.map { "\($0.wholeSeconds)" } ?? "-",
                "esp.lifetime_kb": c.lifetime.hardBytes.map { "\($0 / 1024)" } ?? "-"]))
        } catch {
            counters.count("esp.install.\(error)")
        }
    }

    /// Rows of `show crypto isakmp sa` (plus what `--json` adds).
    func isakmpRows(now: MonotonicTime) -> [ISAKMPSARow] {
        var ipsecCount: [ISAKMPCookies: Int] = [:]
        for c in children.values { if let k = c.isakmp { ipsecCount[k, default: 0] += 1 } }
        return v1.responder.isakmpSAs.map { info in
            ISAKMPSARow(
                destination: "\(info.peer.address)", source: "\(info.local.address)", state: info.state.rawValue,
                connectionID: info.connectionID, slot: 0, remotePort: info.peer.port, localPort: info.local.port,
                initiatorCookie: ShowNames.hex64(info.cookies.initiator), responderCookie: ShowNames.hex64(info.cookies.responder),
                suite: info.suite.map { "\($0)" }, peerIdentity: info.peerIdentity.map(Self.identity),
                natDetected: info.nat.detected, peerSupportsDPD: info.peerSupportsDPD,
                ipsecSACount: ipsecCount[info.cookies] ?? 0)
        }
    }

    static func identity(_ id: ISAKMPIdentification) -> String {
        if id.type == IPsecDOI.idIPv4Address, id.data.count == 4 {
            return "\(IPv4Address(id.data[0], id.data[1], id.data[2], id.data[3]))"
        }
        return "type \(id.type): " + id.data.map { String($0, radix: 16) }.joined()
    }

    private static func hex(_ v: UInt32) -> String { String(v, radix: 16) }

    private static func metadata(_ info: ISAKMPSAInfo) -> [String: String] {
        [
            "isakmp.cookies": "\(info.cookies)", "ike.peer": "\(info.peer)", "ike.local": "\(info.local)",
            "isakmp.conn_id": "\(info.connectionID)", "isakmp.suite": info.suite.map { "\($0)" } ?? "-",
            "ike.identity": info.peerIdentity.map(identity) ?? "-", "isakmp.nat": "\(info.nat.detected)",
            "isakmp.peer_dpd": "\(info.peerSupportsDPD)",
        ]
    }
}
