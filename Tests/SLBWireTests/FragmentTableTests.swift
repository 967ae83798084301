import Testing
import SLBWire

/// DESIGN.md "Fragments": the first fragment decides, later ones follow, early ones wait.
@Suite struct FragmentTableTests {
    typealias Table = FragmentTable<Int>
    static let key = FragmentKey(source: Lab.client, destination: Lab.vip, identification: 0xBEEF, ipProtocol: .udp)
    static let otherKey = FragmentKey(source: Lab.client, destination: Lab.vip, identification: 0xBEF0, ipProtocol: .udp)
    static let t0 = MonotonicTime.seconds(100)

    @Test func inOrderLaterFragmentsFollowTheFirst() {
        var table = Table()
        #expect(table.record(Self.key, decision: 2, now: Self.t0) == .recorded)
        #expect(table.lookup(Self.key, now: Self.t0 + .milliseconds(1)) == 2)
        #expect(table.lookup(Self.key, now: Self.t0 + .milliseconds(2)) == 2)
        #expect(table.lookup(Self.otherKey, now: Self.t0) == nil)
        #expect(table.counters.lookupHits == 2 && table.counters.lookupMisses == 1)
        _ = table.hold(Self.otherKey, fragment: [1], now: Self.t0)
        #expect(table.counters.lookupMisses == 1)
    }

    /// All fields of the key matter: another id, protocol, source or destination is
    /// another datagram.
    @Test func keyIsSourceDestinationIdProtocol() {
        var table = Table()
        _ = table.record(Self.key, decision: 1, now: Self.t0)
        var variants = [Self.key, Self.key, Self.key, Self.key]
        variants[0].identification &+= 1
        variants[1].ipProtocol = .esp
        variants[2].source = Lab.real1
        variants[3].destination = Lab.real2
        for variant in variants { #expect(table.lookup(variant, now: Self.t0) == nil) }
    }

    @Test func reverseOrderHeldThenReleasedInArrivalOrder() {
        var table = Table()
        #expect(table.hold(Self.key, fragment: [3, 3, 3], now: Self.t0) == .held)
        #expect(table.hold(Self.key, fragment: [2, 2], now: Self.t0 + .milliseconds(1)) == .held)
        #expect(table.heldFragmentCount == 2 && table.heldByteCount == 5 && table.pendingDatagramCount == 1)
        #expect(table.record(Self.key, decision: 7, now: Self.t0 + .milliseconds(2)) == .recorded)
        #expect(table.release(Self.key) == [[3, 3, 3], [2, 2]])
        #expect(table.release(Self.key) == [])
        #expect(table.heldFragmentCount == 0 && table.heldByteCount == 0 && table.pendingDatagramCount == 0)
        #expect(table.hold(Self.key, fragment: [4], now: Self.t0 + .milliseconds(3)) == .decided(7))
        #expect(table.counters.fragmentsHeld == 2 && table.counters.fragmentsReleased == 2)
    }

    /// Held fragments wait 2 s (DESIGN.md) counted from the first one held.
    @Test func heldFragmentsTimeOut() {
        var table = Table()
        #expect(table.hold(Self.key, fragment: [1], now: Self.t0) == .held)
        #expect(table.hold(Self.key, fragment: [2], now: Self.t0 + .milliseconds(1500)) == .held)
        #expect(table.expire(now: Self.t0 + .milliseconds(1999)) == 0)
        #expect(table.expire(now: Self.t0 + .seconds(2)) == 2)
        #expect(table.counters.drops(.holdTimeout) == 2)
        #expect(table.release(Self.key) == [])
        #expect(table.heldFragmentCount == 0 && table.heldByteCount == 0)
    }

    /// A hold after the deadline, before any expire tick, drops the stale ones first.
    @Test func staleHeldFragmentsAreDroppedOnTheNextHold() {
        var table = Table()
        _ = table.hold(Self.key, fragment: [1], now: Self.t0)
        #expect(table.hold(Self.key, fragment: [2], now: Self.t0 + .seconds(3)) == .held)
        #expect(table.counters.drops(.holdTimeout) == 1)
        #expect(table.release(Self.key) == [[2]])
    }

    @Test func decisionsExpireUnlessFragmentsKeepComing() {
        var table = Table()
        _ = table.record(Self.key, decision: 1, now: Self.t0)
        _ = table.record(Self.otherKey, decision: 2, now: Self.t0)
        #expect(table.lookup(Self.key, now: Self.t0 + .milliseconds(1900)) == 1)
        #expect(table.lookup(Self.key, now: Self.t0 + .milliseconds(3800)) == 1)
        #expect(table.lookup(Self.otherKey, now: Self.t0 + .milliseconds(3800)) == nil)
        table.expire(now: Self.t0 + .seconds(6))
        #expect(table.decisionCount == 0)
        #expect(table.counters.decisionsExpired == 2)
    }

    @Test func boundedDecisions() {
        var table = Table(limits: .init(maximumDatagrams: 2))
        var keys: [FragmentKey] = []
        for id in 0..<3 {
            keys.append(FragmentKey(source: Lab.client, destination: Lab.vip, identification: UInt16(id), ipProtocol: .udp))
        }
        #expect(table.record(keys[0], decision: 0, now: Self.t0) == .recorded)
        #expect(table.record(keys[1], decision: 1, now: Self.t0) == .recorded)
        #expect(table.record(keys[2], decision: 2, now: Self.t0) == .dropped(.tableFull))
        #expect(table.record(keys[1], decision: 5, now: Self.t0) == .recorded)
        #expect(table.counters.drops(.tableFull) == 1)
        // Once the old decisions lapse there is room again, without an expire tick.
        #expect(table.record(keys[2], decision: 2, now: Self.t0 + .seconds(3)) == .recorded)
        #expect(table.decisionCount == 1)
    }

    struct Bound: Sendable, CustomTestStringConvertible {
        let limits: FragmentTable<Int>.Limits
        let fragmentSize: Int
        let differentDatagrams: Bool
        let heldBeforeDrop: Int
        let reason: FragmentDropReason
        var testDescription: String { reason.rawValue }
    }

    @Test(arguments: [
        Bound(limits: .init(maximumFragmentsPerDatagram: 3), fragmentSize: 100, differentDatagrams: false,
              heldBeforeDrop: 3, reason: .perDatagramLimit),
        Bound(limits: .init(maximumHeldFragments: 5), fragmentSize: 100, differentDatagrams: true,
              heldBeforeDrop: 5, reason: .holdCountLimit),
        Bound(limits: .init(maximumHeldBytes: 4000), fragmentSize: 1480, differentDatagrams: true,
              heldBeforeDrop: 2, reason: .holdBytesLimit),
    ])
    func holdingIsBounded(_ bound: Bound) {
        var table = Table(limits: bound.limits)
        let fragment = [UInt8](repeating: 0xEE, count: bound.fragmentSize)
        for index in 0..<bound.heldBeforeDrop {
            let key = FragmentKey(source: Lab.client, destination: Lab.vip,
                                  identification: bound.differentDatagrams ? UInt16(index) : 1, ipProtocol: .udp)
            #expect(table.hold(key, fragment: fragment, now: Self.t0) == .held)
        }
        let next = FragmentKey(source: Lab.client, destination: Lab.vip,
                               identification: bound.differentDatagrams ? 999 : 1, ipProtocol: .udp)
        #expect(table.hold(next, fragment: fragment, now: Self.t0) == .dropped(bound.reason))
        #expect(table.counters.drops(bound.reason) == 1)
        #expect(table.heldFragmentCount == bound.heldBeforeDrop)
        #expect(table.heldByteCount == bound.heldBeforeDrop * bound.fragmentSize)
    }

    @Test func dropReasonNamesAreStable() {
        #expect(FragmentDropReason.allCases.map(\.rawValue) == [
            "fragment-hold-count-limit", "fragment-hold-bytes-limit", "fragment-hold-per-datagram-limit",
            "fragment-hold-timeout", "fragment-table-full",
        ])
    }

    /// What the dataplane does with the three fragments of a 3000-byte ISAKMP datagram in
    /// every arrival order: all three leave for the real the first fragment was given,
    /// the first fragment before any held one.
    @Test(arguments: [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1], [1, 2, 0], [0, 2, 1]])
    func everyArrivalOrderReachesOneReal(order: [Int]) throws {
        let fragments = Lab.bigISAKMPFragments
        var table = Table()
        var sent: [(real: Int, frame: [UInt8])] = []
        var now = Self.t0
        let real = 3
        for index in order {
            now = now + .milliseconds(1)
            let frame = fragments[index]
            let packet = try #require(PacketView.parse(frame).packet)
            let key = packet.fragmentKey
            if !packet.fragment.isLaterFragment {
                #expect(packet.sourcePort == 500 && packet.destinationPort == 500)
                #expect(table.record(key, decision: real, now: now) == .recorded)
                sent.append((real, frame))
                for held in table.release(key) { sent.append((real, held)) }
            } else if let decided = table.lookup(key, now: now) {
                sent.append((decided, frame))
            } else {
                switch table.hold(key, fragment: frame, now: now) {
                case .held: break
                case .decided(let decided): sent.append((decided, frame))
                case .dropped(let reason): Issue.record("dropped: \(reason)")
                }
            }
        }
        #expect(sent.count == 3)
        #expect(sent.allSatisfy { $0.real == real })
        #expect(Set(sent.map { hexString($0.frame) }) == Set(fragments.map(hexString)))
        #expect(sent.first.flatMap { PacketView.parse($0.frame).packet?.fragment.offset } == 0)
        #expect(table.heldFragmentCount == 0)
    }
}
