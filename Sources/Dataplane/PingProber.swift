import SLBCore
import SLBConfig
import SLBWire

/// Runs the `ping` probes of every real without blocking, on the forwarding thread (the engine
/// has one owner). Each (real, probe) pair sends an ICMP echo every `interval` seconds; a reply
/// must come before the next echo is due, or that round is a miss. The engine counts misses
/// against `faildetect` (IOS: consecutive failures mark the real PROBE_FAILED).
public final class PingProber {
    public struct Result: Hashable, Sendable {
        public var real: RealID
        public var probe: String
        public var success: Bool
        public var rtt: TimeSpan?
    }

    struct Slot {
        var real: RealID
        var address: IPv4Address
        var probe: String
        var interval: TimeSpan
        var nextSend: MonotonicTime
        var outstanding: (sequence: UInt16, sentAt: MonotonicTime)?
    }

    private var slots: [Slot]
    private let socket: ICMPEcho
    private var sequence: UInt16 = 0
    /// Kinds the configuration asked for that this prober cannot run (reported once).
    public let unsupported: [String]

    public var descriptor: Int32 { socket.descriptor }

    public init(targets: [ProbeTarget], socket: ICMPEcho, now: MonotonicTime) {
        self.socket = socket
        var slots: [Slot] = []
        var unsupported: [String] = []
        for target in targets {
            for probe in target.probes {
                switch probe.kind {
                case .ping:
                    slots.append(Slot(real: target.real, address: target.address, probe: probe.name,
                                      interval: .seconds(UInt64(max(probe.interval, 1))), nextSend: now, outstanding: nil))
                case .ike:
                    unsupported.append("\(probe.name) (ike) on \(target.address)")
                }
            }
        }
        self.slots = slots
        self.unsupported = unsupported
    }

    /// Sends due echoes and turns overdue ones into misses.
    public func tick(now: MonotonicTime, into results: inout [Result]) throws {
        for index in slots.indices {
            if let outstanding = slots[index].outstanding, now - outstanding.sentAt >= slots[index].interval {
                results.append(Result(real: slots[index].real, probe: slots[index].probe, success: false, rtt: nil))
                slots[index].outstanding = nil
            }
            if now >= slots[index].nextSend && slots[index].outstanding == nil {
                sequence &+= 1
                try socket.sendRequest(to: slots[index].address, sequence: sequence)
                slots[index].outstanding = (sequence, now)
                // Keep the cadence: the next echo is due one interval after this one was.
                slots[index].nextSend = slots[index].nextSend + slots[index].interval
                if slots[index].nextSend < now { slots[index].nextSend = now + slots[index].interval }
            }
        }
    }

    /// Matches waiting echo replies to outstanding echoes.
    public func readReplies(now: MonotonicTime, into results: inout [Result]) throws {
        while let reply = try socket.receiveReply() {
            for index in slots.indices {
                guard let outstanding = slots[index].outstanding, outstanding.sequence == reply.sequence,
                      slots[index].address == reply.source else { continue }
                results.append(Result(real: slots[index].real, probe: slots[index].probe, success: true,
                                      rtt: now - outstanding.sentAt))
                slots[index].outstanding = nil
            }
        }
    }

    /// When `tick` next has work (for the poll timeout).
    public var nextDeadline: MonotonicTime? {
        slots.map { slot in
            slot.outstanding.map { min(slot.nextSend, $0.sentAt + slot.interval) } ?? slot.nextSend
        }.min()
    }

    /// One echo to an address, reply ignored: makes the kernel resolve its MAC (ARP).
    public func solicit(_ address: IPv4Address) {
        sequence &+= 1
        try? socket.sendRequest(to: address, sequence: sequence)
    }
}

extension PingProber {
    /// After a reload renumbered the reals: the new work list. A (real address, probe) pair
    /// that already ran keeps its schedule and outstanding echo, so a reload neither floods
    /// the reals with echoes nor turns an in-flight echo into a miss.
    public func retarget(_ targets: [ProbeTarget], now: MonotonicTime) {
        var previous: [String: Slot] = [:]
        for slot in slots { previous["\(slot.address)/\(slot.probe)"] = slot }
        var next: [Slot] = []
        for target in targets {
            for probe in target.probes where probe.kind == .ping {
                var slot = previous["\(target.address)/\(probe.name)"]
                    ?? Slot(real: target.real, address: target.address, probe: probe.name,
                            interval: .seconds(UInt64(max(probe.interval, 1))), nextSend: now, outstanding: nil)
                slot.real = target.real
                slot.interval = .seconds(UInt64(max(probe.interval, 1)))
                next.append(slot)
            }
        }
        slots = next
    }
}
