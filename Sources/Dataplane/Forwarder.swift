import SLBCore
import SLBWire

/// Forwarding of one received batch, in place:
/// complete an offloaded checksum → parse → (later fragment: fragment table) → `Engine.decide`
/// → TTL − 1, next-hop MAC of the chosen real (dispatched mode) or also destination VIP → real
/// address/port (directed mode, `nat server`) → transmit batch. Directed-mode replies come back
/// through `processReplies` (Forwarder+Replies.swift); ICMP to a VIP is Forwarder+ICMP.swift.
///
/// Single-threaded: the forwarding thread owns it (and the engine). No allocation per packet
/// on the established-flow path; held fragments are copied (rare slow path, SLBWire).
public final class Forwarder {
    public let engine: Engine
    /// The transmit interface's MAC: the new source MAC of forwarded frames.
    public let sourceMAC: MACAddress
    /// The public interface's MAC: the source of directed-mode replies and echo answers.
    public let publicMAC: MACAddress?
    public internal(set) var counters = ForwarderCounters()
    private var fragments = FragmentTable<RealID>()
    /// Per real (engine order): how to rewrite, and its MAC once resolved.
    var forwarding: [Forwarding]
    private var neighbours: [MACAddress?]
    /// Directed mode: real → (VIP, virtual port) for replies.
    public internal(set) var replies: DirectedReplyMap
    /// Directed mode: the previous hop's MAC per client, learned from the client's frames, so a
    /// reply goes back the way the request came without an ARP round trip per client.
    var clientMACs: [IPv4Address: MACAddress] = [:]
    /// The public side's neighbour table (fallback for clients not learned).
    var publicNeighbours: [IPv4Address: MACAddress] = [:]
    /// VIPs with at least one OPERATIONAL vserver: ICMP echo to them is answered.
    var answeringVIPs: Set<IPv4Address> = []
    /// Frames for the public side built on the slow path (echo answers), sent by `sendAnswers`.
    var answers: [[UInt8]] = []
    /// ICMP error lookups left in the current second (they scan the client's connections).
    var icmpErrorBudget = Forwarder.icmpErrorLookupsPerSecond
    /// Reals whose MAC was missing since the last refresh: resolve them.
    public private(set) var unresolved: Set<RealID> = []
    private let outgoing: UnsafeMutableBufferPointer<Frame>
    var outgoingBuffer: UnsafeMutableBufferPointer<Frame> { outgoing }

    /// Bounds the learned client MACs (a client flood must not grow memory without limit):
    /// when full the table is cleared and relearned from the next packets.
    static let clientMACLimit = 1 << 16
    static let icmpErrorLookupsPerSecond = 200

    public init(engine: Engine, sourceMAC: MACAddress, batchLimit: Int, publicMAC: MACAddress? = nil) {
        self.engine = engine
        self.sourceMAC = sourceMAC
        self.publicMAC = publicMAC
        replies = DirectedReplyMap(configuration: engine.configuration)
        forwarding = engine.probeTargets.map { engine.forwarding(for: $0.real) }
        neighbours = Array(repeating: nil, count: forwarding.count)
        outgoing = .allocate(capacity: max(batchLimit, 1))
    }

    deinit { outgoing.deallocate() }

    /// After `Engine.reconfigure` renumbered the reals: rebuild the per-real rewrite table and
    /// the directed-mode reply map. Resolved MACs are kept by address; held fragments decided
    /// for old RealIDs are dropped.
    public func reloadForwardingTable() {
        let old = Dictionary(zip(forwarding.map(\.address), neighbours), uniquingKeysWith: { first, _ in first })
        forwarding = engine.probeTargets.map { engine.forwarding(for: $0.real) }
        neighbours = forwarding.map { old[$0.address] ?? nil }
        unresolved.removeAll(keepingCapacity: true)
        replies = DirectedReplyMap(configuration: engine.configuration)
        fragments = FragmentTable<RealID>()
    }

    /// The reals' addresses, in engine order (what to look up in the neighbour table).
    public var realAddresses: [IPv4Address] { forwarding.map(\.address) }

    /// Installs MACs from the kernel's neighbour table; returns how many reals are resolved.
    @discardableResult
    public func updateNeighbours(_ table: [IPv4Address: MACAddress]) -> Int {
        for index in forwarding.indices { neighbours[index] = table[forwarding[index].address] }
        unresolved.removeAll(keepingCapacity: true)
        return neighbours.lazy.filter { $0 != nil }.count
    }

    /// Handles one received batch and transmits what goes on through `transmit`.
    public func process<TX: PacketIO>(_ frames: UnsafeMutableBufferPointer<Frame>, now: MonotonicTime, transmit: TX) throws {
        var count = 0
        for index in frames.indices {
            counters.received += 1
            if handle(frames[index].bytes, checksum: frames[index].checksum, now: now) {
                outgoing[count] = frames[index]
                count += 1
            }
            if count == outgoing.count {
                try flush(count, transmit)
                count = 0
            }
        }
        if count > 0 { try flush(count, transmit) }
    }

    private func flush<TX: PacketIO>(_ count: Int, _ transmit: TX) throws {
        let sent = try transmit.send(UnsafeBufferPointer(rebasing: outgoing[0..<count]))
        counters.forwarded += UInt64(sent)
        counters.sendDropped += UInt64(count - sent)
    }

    /// Installs the public side's neighbours (clients or their routers; directed-mode replies).
    public func updatePublicNeighbours(_ table: [IPv4Address: MACAddress]) { publicNeighbours = table }

    /// True when the frame was rewritten for a real and should be sent.
    func handle(_ frame: UnsafeMutableRawBufferPointer, checksum: ChecksumState, now: MonotonicTime) -> Bool {
        guard case .ipv4(var packet) = PacketView.parse(UnsafeRawBufferPointer(frame)) else {
            counters.malformed += 1
            return false
        }
        // A router forwards only what was sent to it (RFC 1812 §5.3.4: no link-layer
        // broadcast or multicast forwarding of unicast IP).
        guard !packet.ethernet.destination.isMulticast else {
            counters.notUnicast += 1
            return false
        }
        switch ChecksumCompletion.complete(frame, packet: &packet, state: checksum) {
        case .completed, .recomputed: counters.checksumsCompleted += 1
        case .unchanged, .notApplicable: break
        }

        if packet.fragment.isLaterFragment {
            let key = packet.fragmentKey
            if let real = fragments.lookup(key, now: now) { return rewrite(frame, &packet, for: real) }
            switch fragments.hold(key, fragment: UnsafeRawBufferPointer(frame), now: now) {
            case .held: counters.fragmentsHeld += 1
            case .decided(let real): return rewrite(frame, &packet, for: real)
            case .dropped: counters.fragmentsDropped += 1
            }
            return false
        }

        if case .icmp(let icmp) = packet.transport {
            return handleICMP(frame, &packet, icmp, now: now)
        }
        let flow = Flow(ipProtocol: packet.ipProtocol, client: packet.source, clientPort: packet.sourcePort,
                        vip: packet.destination, vipPort: packet.destinationPort)
        switch engine.decide(flow, now: now) {
        case .forward(let real):
            if packet.fragment.isFragment { recordFirstFragment(packet.fragmentKey, real, now) }
            return rewrite(frame, &packet, for: real)
        case .drop:
            counters.engineDropped += 1
            return false
        case .pass:
            counters.passed += 1
            return false
        }
    }

    /// Fragments that arrived before their first fragment, ready once it is decided; sent by
    /// `sendReleasedFragments` after the batch (copies, the slow path).
    private var pendingRelease: [[UInt8]] = []

    /// The first fragment decides for the whole datagram; fragments held for it go after it.
    private func recordFirstFragment(_ key: FragmentKey, _ real: RealID, _ now: MonotonicTime) {
        if case .dropped = fragments.record(key, decision: real, now: now) {
            counters.fragmentsDropped += 1
            return
        }
        pendingRelease += fragments.release(key)
    }

    /// Rewrites and sends fragments released by a first fragment in the last batch.
    public func sendReleasedFragments<TX: PacketIO>(now: MonotonicTime, transmit: TX) throws {
        guard !pendingRelease.isEmpty else { return }
        var released = pendingRelease
        pendingRelease.removeAll()
        for index in released.indices {
            counters.fragmentsReleased += 1
            let send = released[index].withUnsafeMutableBytes { bytes -> Bool in
                guard case .ipv4(var packet) = PacketView.parse(UnsafeRawBufferPointer(bytes)),
                      let real = fragments.lookup(packet.fragmentKey, now: now) else { return false }
                return rewrite(bytes, &packet, for: real)
            }
            guard send else { continue }
            try released[index].withUnsafeMutableBytes { bytes in
                var frame = Frame(bytes: bytes, checksum: .complete)
                let sent = try withUnsafeMutablePointer(to: &frame) {
                    try transmit.send(UnsafeBufferPointer(start: $0, count: 1))
                }
                counters.forwarded += UInt64(sent)
                counters.sendDropped += UInt64(1 - sent)
            }
        }
    }

    func rewrite(_ frame: UnsafeMutableRawBufferPointer, _ packet: inout ParsedPacket, for real: RealID,
                 quotedPort: UInt16? = nil) -> Bool {
        let index = Int(real.index)
        guard index >= 0, index < forwarding.count else { return false }
        guard let mac = neighbours[index] else {
            counters.noNeighbour += 1
            unresolved.insert(real)
            return false
        }
        if PacketRewrite.decrementTTL(in: frame, packet: &packet) != nil {
            counters.ttlExpired += 1
            return false
        }
        if case .directed(let port) = forwarding[index].mode {
            let address = forwarding[index].address
            learnClientMAC(packet)
            var failed: PacketDropReason?
            switch packet.transport {
            case .udp, .tcp:
                failed = PacketRewrite.rewriteDestination(in: frame, packet: &packet, address: address, port: port)
            case .icmp:
                // An error about a datagram the VIP sent: the quoted source is the VIP too
                // (RFC 5508 §4.2); the real must recognise its own datagram.
                failed = PacketRewrite.rewriteDestination(in: frame, packet: &packet, address: address)
                    ?? PacketRewrite.rewriteQuotedSource(in: frame, packet: &packet, address: address, port: quotedPort)
            case .esp, .laterFragment, .other:
                failed = PacketRewrite.rewriteDestination(in: frame, packet: &packet, address: address)
            }
            if failed != nil {
                counters.directedUnsupported += 1
                return false
            }
            counters.directed += 1
        }
        return PacketRewrite.setMACs(in: frame, destination: mac, source: sourceMAC)
    }

    @inline(__always)
    private func learnClientMAC(_ packet: ParsedPacket) {
        let client = packet.source
        let mac = packet.ethernet.source
        if clientMACs[client] != mac {
            if clientMACs.count >= Forwarder.clientMACLimit { clientMACs.removeAll(keepingCapacity: true) }
            clientMACs[client] = mac
        }
    }

    /// Which real index serves `address` (first in engine order), for ICMP errors.
    func realID(address: IPv4Address, port: UInt16?) -> RealID? {
        var fallback: RealID?
        for index in forwarding.indices where forwarding[index].address == address {
            if case .directed(let realPort) = forwarding[index].mode, realPort != port { fallback = fallback ?? forwarding[index].real; continue }
            return forwarding[index].real
        }
        return fallback
    }

    /// Idle fragment state goes; call about once a second with `Engine.expire`.
    public func expireFragments(now: MonotonicTime) {
        let dropped = fragments.expire(now: now)
        counters.fragmentsDropped += UInt64(dropped)
    }
}
