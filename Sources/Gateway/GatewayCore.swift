import CryptoOpenSSL
import ESP
import GatewayShow
import IKE
import IPsecCrypto
import SLBWire

/// The gateway's protocol state between its sockets: the IKEv2 responder, the ESP SAs it
/// installed, per-SA counters and drop counters. Datagrams and `now:` in, `GatewayOutput`s
/// out; no sockets, no clock, no threads, so tests drive it in memory. The event loop owns
/// one instance on one thread.
public struct GatewayCore {
    public let configuration: GatewayConfiguration
    let crypto: OpenSSLCryptoProvider
    private var responder: IKEv2Responder
    var inbound: ESPSADatabase
    var children: [UInt32: ChildRecord] = [:]
    private var ikeSAs: [IKESAIdentifier: IKERecord] = [:]
    private var nextTunnelID = 1
    public internal(set) var counters = GatewayCounters()
    /// Events since the last `takeEvents()`, bounded so an unread log cannot grow forever.
    private var events: [GatewayEvent] = []
    static let maximumPendingEvents = 4096
    /// When the responder asked to be called back (retransmissions, half-open expiry).
    public private(set) var ikeWakeup: MonotonicTime?
    /// IKEv1 main/quick mode responder on the same sockets (GatewayCore+IKEv1.swift).
    var v1: IKEv1GatewayState
    let started: MonotonicTime
    private let echoAddresses: Set<IPv4Address>

    struct IKERecord {
        var info: IKESAInfo
        var tunnelID: Int
        var established: MonotonicTime
        /// When the current IKE SA's keys were made (IKE_AUTH, or the last rekey): its age
        /// counts against `ikeLifetime`.
        var keyed: MonotonicTime
        var expiryDeleteSent = false
    }

    struct ChildRecord {
        var ike: IKESAIdentifier
        var child: ChildSA
        var outbound: OutboundSA
        var local: IPv4Address
        var peer: IPv4Address
        var framing: ESPFraming
        var allowedSources: [ClosedRange<UInt32>]
        var allowedDestinations: [ClosedRange<UInt32>]
        var receiveErrors: UInt64 = 0
        var sendErrors: UInt64 = 0
        var echoReplies: UInt64 = 0
        var innerOther: UInt64 = 0
        /// Set for ESP SAs negotiated by IKEv1 quick mode (`ike` then holds the cookies).
        var isakmp: ISAKMPCookies? = nil
        var isakmpConnectionID: Int? = nil
        /// The gateway sent CREATE_CHILD_SA to rekey this IKEv2 Child SA (soft lifetime).
        var rekeyStarted = false
    }

    public init(configuration: GatewayConfiguration, crypto: OpenSSLCryptoProvider = OpenSSLCryptoProvider(), now: MonotonicTime) {
        self.configuration = configuration
        self.crypto = crypto
        self.responder = IKEv2Responder(configuration: configuration.responderConfiguration, crypto: crypto)
        self.inbound = ESPSADatabase()
        self.v1 = IKEv1GatewayState(configuration: configuration, crypto: crypto)
        self.started = now
        self.echoAddresses = configuration.echoAddresses
    }

    public var establishedIKESACount: Int { ikeSAs.count }
    public var childSACount: Int { children.count }
    public var inboundSPIs: [UInt32] { children.keys.sorted() }

    // MARK: input

    /// A UDP payload that arrived at `to` (one of our sockets) from `from`. Port 500 carries
    /// bare IKE; port 4500 is demultiplexed by the non-ESP marker (RFC 3948 §2.2).
    public mutating func receiveUDP(_ payload: [UInt8], from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime,
                                    into output: inout [GatewayOutput]) {
        if to.port == 500 {
            receiveIKE(payload, from: from, to: to, now: now, into: &output)
            return
        }
        switch classifyNATTDatagram(payload) {
        case .ike(let message):
            receiveIKE(Array(message), from: from, to: to, now: now, into: &output)
        case .esp:
            receiveESP(payload, from: from.address, framing: .udp(peerPort: from.port), now: now, into: &output)
        case .keepalive:
            counters.count("natt.keepalive")
        case .invalid:
            counters.count("natt.invalid")
        }
    }

    /// The IPv4 payload of a protocol-50 datagram from `source` (raw socket; header stripped).
    public mutating func receiveRawESP(_ packet: [UInt8], from source: IPv4Address, now: MonotonicTime,
                                       into output: inout [GatewayOutput]) {
        receiveESP(packet, from: source, framing: .raw, now: now, into: &output)
    }

    /// Counts a datagram the edge could not even hand over (truncated read, bad outer IPv4).
    public mutating func countEdgeDrop(_ name: String) { counters.count(name) }

    private mutating func receiveIKE(_ datagram: [UInt8], from: IKEEndpoint, to: IKEEndpoint, now: MonotonicTime,
                                     into output: inout [GatewayOutput]) {
        if routeIKEv1(datagram, from: from, to: to, now: now, into: &output) { return }
        let actions = responder.receive(datagram, from: from, to: to, now: now)
        perform(actions, now: now, into: &output)
    }

    private mutating func receiveESP(_ packet: [UInt8], from source: IPv4Address, framing: ESPFraming, now: MonotonicTime,
                                     into output: inout [GatewayOutput]) {
        let decapsulated: ESPDecapsulated
        do {
            decapsulated = try inbound.open(packet, now: now, crypto: crypto)
        } catch {
            counters.count("esp.\(error)")
            if error != .badSPI && error != .truncated, packet.count >= 4 {
                let spi = UInt32(packet[0]) << 24 | UInt32(packet[1]) << 16 | UInt32(packet[2]) << 8 | UInt32(packet[3])
                children[spi]?.receiveErrors &+= 1
            }
            return
        }
        let spi = UInt32(packet[0]) << 24 | UInt32(packet[1]) << 16 | UInt32(packet[2]) << 8 | UInt32(packet[3])
        guard let index = children.index(forKey: spi) else {
            counters.count("esp.noChildRecord")
            return
        }
        // RFC 3948 §3.1 / RFC 7296 §2.23: replies go where the authenticated traffic came
        // from; a NAT may have changed the peer's port.
        children.values[index].peer = source
        children.values[index].framing = framing
        guard decapsulated.nextHeader == ESPNextHeader.ipv4 else {
            // RFC 4303 §2.6: 59 is a TFC dummy, dropped after authentication; IPv6 is not served.
            counters.count(decapsulated.nextHeader == ESPNextHeader.dummy ? "inner.dummy" : "inner.notIPv4")
            return
        }
        switch InnerTraffic.handle(decapsulated.payload, localAddresses: echoAddresses,
                                   allowedSources: children.values[index].allowedSources,
                                   allowedDestinations: children.values[index].allowedDestinations) {
        case .echoReply(let reply):
            do {
                // Sealed in place: the outbound SA (its sequence number, hence the GCM IV)
                // has exactly one live copy.
                let esp = try children.values[index].outbound.seal(reply, now: now, crypto: crypto)
                children.values[index].echoReplies &+= 1
                output.append(Self.espOutput(esp, local: children.values[index].local, peer: children.values[index].peer,
                                             framing: children.values[index].framing))
            } catch {
                children.values[index].sendErrors &+= 1
                counters.count("esp.seal.\(error)")
            }
        case .other:
            children.values[index].innerOther &+= 1
        case .malformed:
            counters.count("inner.malformed")
        case .selectorMismatch:
            counters.count("inner.selectorMismatch")
        }
    }

    private static func espOutput(_ esp: [UInt8], local: IPv4Address, peer: IPv4Address, framing: ESPFraming) -> GatewayOutput {
        switch framing {
        case .raw: .rawESP(esp, from: local, to: peer)
        case .udp(let port): .udp(esp, from: IKEEndpoint(local, 4500), to: IKEEndpoint(peer, port))
        }
    }

    /// Hands the pending events to the caller (the loop logs them).
    public mutating func takeEvents() -> [GatewayEvent] {
        guard !events.isEmpty else { return [] }
        let taken = events
        events = []
        return taken
    }

    mutating func note(_ e: GatewayEvent) {
        guard events.count < Self.maximumPendingEvents else { return }
        events.append(e)
    }

    // MARK: timers

    /// The next time `handleTimers` must run for IKE.
    public var nextIKEDeadline: MonotonicTime? {
        guard let v1 = v1.wakeup else { return ikeWakeup }
        return ikeWakeup.map { min($0, v1) } ?? v1
    }

    /// IKE retransmissions and expiries when due, and the ESP hard-lifetime sweep.
    public mutating func handleTimers(now: MonotonicTime, into output: inout [GatewayOutput]) {
        if let w = ikeWakeup, w <= now {
            ikeWakeup = nil
            perform(responder.handleTimers(now: now), now: now, into: &output)
        }
        handleIKEv1Timers(now: now, into: &output)
        for spi in inbound.removeExpired(now: now) {
            if children[spi]?.isakmp != nil {
                expireIKEv1Child(inboundSPI: spi, now: now, into: &output)
                continue
            }
            expireIKEv2Child(inboundSPI: spi, now: now, into: &output)
        }
        sweepIKEv2ChildLifetimes(now: now, into: &output)
        sweepIKELifetimes(now: now, into: &output)
    }

    /// IKE SAs older than `ikeLifetime` since their keys were made: D(IKE) once; the SA and
    /// its Child SAs go when the peer answers, or when it is found dead after the
    /// retransmissions. The gateway does not rekey IKE SAs itself (see IKE/README.md).
    private mutating func sweepIKELifetimes(now: MonotonicTime, into output: inout [GatewayOutput]) {
        guard let lifetime = configuration.ikeLifetime else { return }
        var expired: [IKESAIdentifier] = []
        for (id, record) in ikeSAs where !record.expiryDeleteSent && !((now - record.keyed) < lifetime) {
            expired.append(id)
        }
        for id in expired.sorted(by: { ($0.spiR, $0.spiI) < ($1.spiR, $1.spiI) }) {
            ikeSAs[id]?.expiryDeleteSent = true
            counters.count("ike.expired")
            note(.ikeExpired(id))
            perform(responder.delete(id, now: now), now: now, into: &output)
        }
    }

    /// Soft limit passed (either direction: the outbound SA counts the bytes we send) and the
    /// peer has not rekeyed: the gateway rekeys (RFC 4301 §4.4.2.1, RFC 7296 §2.8). An
    /// outbound SA past its hard byte limit ends the pair like an expired inbound one.
    private mutating func sweepIKEv2ChildLifetimes(now: MonotonicTime, into output: inout [GatewayOutput]) {
        var rekey: [(UInt32, IKESAIdentifier)] = []
        var expired: [UInt32] = []
        for (spi, c) in children where c.isakmp == nil {
            guard let sa = inbound[spi] else { continue }
            switch max(sa.lifetimeState(now: now), c.outbound.lifetimeState(now: now)) {
            case .valid: continue
            case .rekeyDue: if !c.rekeyStarted { rekey.append((spi, c.ike)) }
            case .expired: expired.append(spi)
            }
        }
        for spi in expired.sorted() { expireIKEv2Child(inboundSPI: spi, now: now, into: &output) }
        for (spi, ike) in rekey.sorted(by: { $0.0 < $1.0 }) where children[spi] != nil {
            children[spi]?.rekeyStarted = true
            counters.count("esp.rekeyStarted")
            note(.childRekeyStarted(inboundSPI: spi))
            perform(responder.rekeyChildSA(ike, inboundSPI: spi, now: now), now: now, into: &output)
        }
    }

    /// Hard lifetime passed without a completed rekey (RFC 4301 §4.4.2.1): the pair goes and
    /// the peer is told with an INFORMATIONAL D(ESP) (§1.4.1), so it negotiates a new Child
    /// SA instead of sending into an SA that no longer exists. A peer that never answers
    /// loses its IKE SA after the retransmissions (dead peer).
    private mutating func expireIKEv2Child(inboundSPI spi: UInt32, now: MonotonicTime, into output: inout [GatewayOutput]) {
        inbound.remove(spi: spi)
        guard let c = children.removeValue(forKey: spi) else { return }
        counters.count("esp.expired")
        note(.childExpired(inboundSPI: spi))
        perform(responder.deleteChildSA(c.ike, inboundSPI: spi, now: now), now: now, into: &output)
    }

    // MARK: IKE actions

    private mutating func perform(_ actions: [IKEAction], now: MonotonicTime, into output: inout [GatewayOutput]) {
        for action in actions {
            switch action {
            case .send(let bytes, let to, let from):
                // The responder answers from the endpoint the request reached (4500 after
                // the NAT-T float, RFC 7296 §2.23); IKE on 4500 carries the non-ESP marker.
                let datagram = from.port == 500 ? bytes : markedIKEDatagram(bytes)
                output.append(.udp(datagram, from: from, to: to))
            case .established(let info):
                ikeSAs[info.id] = IKERecord(info: info, tunnelID: nextTunnelID, established: now, keyed: now)
                note(.ikeEstablished(info.id, peer: info.peer, identity: ShowNames.identity(info.peerIdentity), tunnelID: nextTunnelID))
                nextTunnelID += 1
            case .installChildSA(let child, let ike):
                install(child, ike: ike, now: now)
            case .deleteChildSA(let inboundSPI, _, _):
                inbound.remove(spi: inboundSPI)
                // Already gone when the gateway expired it and this is the peer's answer.
                if children.removeValue(forKey: inboundSPI) != nil { note(.childDeleted(inboundSPI: inboundSPI)) }
            case .deleteIKESA(let id):
                ikeSAs[id] = nil
                note(.ikeDeleted(id))
                for (spi, c) in children where c.ike == id {
                    inbound.remove(spi: spi)
                    children[spi] = nil
                }
            case .rekeyedIKESA(let old, let new):
                var record = ikeSAs.removeValue(forKey: old) ?? IKERecord(info: new, tunnelID: nextTunnelID, established: now, keyed: now)
                if record.tunnelID == nextTunnelID { nextTunnelID += 1 }
                record.info = new
                record.keyed = now
                record.expiryDeleteSent = false
                ikeSAs[new.id] = record
                note(.ikeRekeyed(old: old, new: new.id))
                for spi in Array(children.keys) where children[spi]?.ike == old { children[spi]?.ike = new.id }
            case .schedule(let at):
                ikeWakeup = at
            case .failed(let failure):
                counters.count("ike.failed.\(failure)")
                note(.ikeFailed("\(failure)"))
            case .dropped(let reason):
                counters.count("ike.\(reason.rawValue)")
            }
        }
    }

    private mutating func install(_ child: ChildSA, ike: IKESAIdentifier, now: MonotonicTime) {
        let info = ikeSAs[ike]?.info ?? responder.establishedSAs.first(where: { $0.id == ike })
        guard let info else {
            counters.count("esp.install.noIKESA")
            return
        }
        do throws(ESPError) {
            let transform = try ESPTransform(encryption: child.suite.encryption, keyLength: child.suite.keyLength,
                                             integrity: child.suite.integrity)
            let inboundSA = try InboundSA(spi: child.inboundSPI, transform: transform,
                                          keyMaterial: child.inboundKeys.encryption + child.inboundKeys.integrity,
                                          lifetime: configuration.ikev2ChildLifetime, now: now)
            let outboundSA = try OutboundSA(spi: child.outboundSPI, transform: transform,
                                            keyMaterial: child.outboundKeys.encryption + child.outboundKeys.integrity,
                                            lifetime: configuration.ikev2ChildLifetime, now: now)
            do {
                try inbound.insert(inboundSA)
            } catch {
                counters.count("esp.install.\(error)")
                return
            }
            children[child.inboundSPI] = ChildRecord(
                ike: ike, child: child, outbound: outboundSA, local: info.local.address, peer: info.peer.address,
                framing: child.udpEncapsulation ? .udp(peerPort: info.peer.port) : .raw,
                allowedSources: child.remoteSelectors.compactMap(\.ipv4Range),
                allowedDestinations: child.localSelectors.compactMap(\.ipv4Range))
            note(.childInstalled(inboundSPI: child.inboundSPI, outboundSPI: child.outboundSPI,
                                 udpEncapsulation: child.udpEncapsulation, ike: ike))
        } catch {
            counters.count("esp.install.\(error)")
        }
    }

    // MARK: show

    public func snapshot(now: MonotonicTime) -> GatewaySnapshot {
        var ikeRows: [IKESARow] = []
        for record in ikeSAs.values {
            let info = record.info
            let s = info.suite
            ikeRows.append(IKESARow(
                tunnelID: record.tunnelID, localAddress: "\(info.local.address)",
                localPort: info.local.port,
                remoteAddress: "\(info.peer.address)", remotePort: info.peer.port,
                encryption: ShowNames.ikeCipher(s.encryption), keySize: s.keyLength * 8, prf: ShowNames.hash(s.prf.hash),
                hash: s.integrity.map { ShowNames.hash($0.hash) } ?? "None", dhGroup: Int(s.dhGroup.rawValue),
                localSPI: ShowNames.hex64(info.id.spiR), remoteSPI: ShowNames.hex64(info.id.spiI),
                localID: ShowNames.identity(.ipv4(configuration.virtualIP.wireBytes)),
                remoteID: ShowNames.identity(info.peerIdentity),
                activeSeconds: (now - record.keyed).wholeSeconds, natDetected: info.udpEncapsulation,
                assignedAddress: info.virtualAddress.map { "\($0)" },
                childSACount: children.values.filter { $0.ike == info.id }.count))
            ikeRows[ikeRows.count - 1].lifetimeSeconds = configuration.ikeLifetime?.wholeSeconds
        }
        var ipsecRows: [IPsecSARow] = []
        for (spi, c) in children {
            guard let inboundSA = inbound[spi] else { continue }
            let lifetime = inboundSA.lifetime
            let age = now - inboundSA.established
            let remainingSeconds = lifetime.hardTime.map { $0.nanoseconds > age.nanoseconds ? ($0.nanoseconds - age.nanoseconds) / 1_000_000_000 : 0 }
            let used = max(inboundSA.counters.bytes, c.outbound.counters.bytes)
            let remainingKB = lifetime.hardBytes.map { $0 > used ? ($0 - used) / 1024 : 0 }
            let port: UInt16? = if case .udp(let p) = c.framing { p } else { nil }
            ipsecRows.append(IPsecSARow(
                tunnelID: c.isakmpConnectionID ?? ikeSAs[c.ike]?.tunnelID ?? 0, localAddress: "\(c.local)", remoteAddress: "\(c.peer)",
                remoteUDPPort: port,
                localSelector: ShowNames.selector(c.child.localSelectors.first),
                remoteSelector: ShowNames.selector(c.child.remoteSelectors.first),
                inboundSPI: spi, outboundSPI: c.child.outboundSPI, transform: ShowNames.transform(c.child.suite),
                ivSize: c.child.suite.encryption.ivLength,
                packetsEncrypted: c.outbound.counters.packets, packetsDecrypted: inboundSA.counters.packets,
                bytesEncrypted: c.outbound.counters.bytes, bytesDecrypted: inboundSA.counters.bytes,
                receiveErrors: c.receiveErrors, sendErrors: c.sendErrors, echoRepliesSent: c.echoReplies,
                innerOtherPackets: c.innerOther, remainingSeconds: remainingSeconds, remainingKilobytes: remainingKB))
        }
        let drops = counters.values
        var snapshot = GatewaySnapshot(
            virtualIP: "\(configuration.virtualIP)", uptimeSeconds: (now - started).wholeSeconds,
            ikeSAs: ikeRows.sorted { $0.tunnelID < $1.tunnelID },
            ipsecSAs: ipsecRows.sorted { ($0.tunnelID, $0.inboundSPI) < ($1.tunnelID, $1.inboundSPI) },
            drops: drops.map { DropCounter(name: $0.key, count: $0.value) }.sorted { $0.name < $1.name })
        snapshot.isakmpSAs = isakmpRows(now: now)
        return snapshot
    }
}
