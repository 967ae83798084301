import Foundation

/// What a run sent: per packet kind, taken by the kernel (`sent`) and refused by a full
/// socket queue (`notSent`), plus the offered rate. Text for people, JSON for slb-bench.
public struct TrafficReport: Hashable, Sendable, Codable {
    public var clients: Int
    public var mode: TrafficPlan.Mode
    public var requestedRate: Int
    public var requestedDuration: Double
    public var vip: String
    public var elapsedSeconds: Double = 0
    public var sent: [String: Int] = [:]
    public var notSent: [String: Int] = [:]
    /// The sending thread's time on a CPU and waiting for one (runnable, not running) during
    /// the run, from `/proc/thread-self/schedstat`; nil where that file is missing. A sender
    /// that waited is not measuring the path it sends through (Bench/README.md, forwarding).
    public var threadRunSeconds: Double?
    public var threadRunQueueSeconds: Double?

    public init(plan: TrafficPlan) {
        clients = plan.clients
        mode = plan.mode
        requestedRate = plan.rate
        requestedDuration = plan.duration
        vip = plan.vip.description
    }

    public var totalSent: Int { sent.values.reduce(0, +) }
    public var totalNotSent: Int { notSent.values.reduce(0, +) }
    /// Packets the kernel took per second of the run.
    public var sentRate: Double { elapsedSeconds > 0 ? Double(totalSent) / elapsedSeconds : 0 }

    public func sent(_ kind: PacketKind) -> Int { sent[kind.rawValue] ?? 0 }

    mutating func record(counts: [Int], misses: [Int], elapsed: Double) {
        elapsedSeconds = elapsed
        for (index, kind) in PacketKind.allCases.enumerated() {
            sent[kind.rawValue] = index < counts.count ? counts[index] : 0
            notSent[kind.rawValue] = index < misses.count ? misses[index] : 0
        }
    }

    public var text: String {
        var lines = ["slb traffic: \(clients) clients → \(vip), \(mode.rawValue), "
            + (requestedRate > 0 ? "\(requestedRate) pps" : "unpaced") + ", \(String(format: "%.2f", elapsedSeconds)) s"]
        lines.append("kind        sent       not sent")
        for kind in PacketKind.allCases {
            lines.append(kind.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0)
                + String(sent(kind)).leftPadded(9) + "  " + String(notSent[kind.rawValue] ?? 0).leftPadded(9))
        }
        lines.append("total     " + String(totalSent).leftPadded(9) + "  " + String(totalNotSent).leftPadded(9)
            + String(format: "   (%.0f pps sent)", sentRate))
        return lines.joined(separator: "\n")
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
