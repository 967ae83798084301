import SLBCore
import SLBWire

/// Dispatched-mode forwarding of one received batch, in place:
/// complete an offloaded checksum → parse → (later fragment: fragment table) → `Engine.decide`
/// → next-hop MAC of the chosen real, TTL − 1 → transmit batch.
///
/// Single-threaded: the forwarding thread owns it (and the engine). No allocation per packet
/// on the established-flow path; held fragments are copied (rare slow path, SLBWire).
public final class Forwarder {
    public let engine: Engine
    /// The transmit interface's MAC: the new source MAC of forwarded frames.
    public let sourceMAC: MACAddress
    public private(set) var counters = ForwarderCounters()
    private var fragments = FragmentTable<RealID>()
    /// Per real (engine order): how to rewrite, and its MAC once resolved.
    private var forwarding: [Forwarding]
    private var neighbours: [MACAddress?]
    /// Reals whose MAC was missing since the last refresh: resolve them.
    public private(set) var unresolved: Set<RealID> = []
    private let outgoing: UnsafeMutableBufferPointer<Frame>

    public init(engine: Engine, sourceMAC: MACAddress, batchLimit: Int) {
        self.engine = engine
        self.sourceMAC = sourceMAC
        forwarding = engine.probeTargets.map { engine.forwarding(for: $0.real) }
        neighbours = Array(repeating: nil, count: forwarding.count)
        outgoing = .allocate(capacity: max(batchLimit, 1))
    }

    deinit { outgoing.deallocate() }

    /// After `Engine.reconfigure` renumbered the reals: rebuild the per-real rewrite table.
    /// Resolved MACs are kept by address; held fragments decided for old RealIDs are dropped.
    public func reloadForwardingTable() {
        var known: [IPv4Address: MACAddress] = [:]
        for index in forwarding.indices { if let mac = neighbours[index] { known[forwarding[index].address] = mac } }
        forwarding = engine.probeTargets.map { engine.forwarding(for: $0.real) }
        neighbours = forwarding.map { known[$0.address] }
        unresolved.removeAll(keepingCapacity: true)
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

    private func rewrite(_ frame: UnsafeMutableRawBufferPointer, _ packet: inout ParsedPacket, for real: RealID) -> Bool {
        let index = Int(real.index)
        guard index >= 0, index < forwarding.count else { return false }
        guard case .dispatched = forwarding[index].mode else {
            counters.directedUnsupported += 1
            return false
        }
        guard let mac = neighbours[index] else {
            counters.noNeighbour += 1
            unresolved.insert(real)
            return false
        }
        if PacketRewrite.decrementTTL(in: frame, packet: &packet) != nil {
            counters.ttlExpired += 1
            return false
        }
        return PacketRewrite.setMACs(in: frame, destination: mac, source: sourceMAC)
    }

    /// Idle fragment state goes; call about once a second with `Engine.expire`.
    public func expireFragments(now: MonotonicTime) {
        let dropped = fragments.expire(now: now)
        counters.fragmentsDropped += UInt64(dropped)
    }
}
