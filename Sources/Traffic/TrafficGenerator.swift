import Synchronization
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// Sends a `TrafficPlan`: opens every client's sockets up front (so the caller can do that
/// inside the client namespace and send from anywhere: a socket keeps its namespace), then
/// `run()` paces packets round-robin over the clients until the duration, the packet cap or
/// `stop()`, whichever comes first.
public final class TrafficGenerator: @unchecked Sendable {
    public let plan: TrafficPlan
    /// Per client: the socket and payload index for each kind it sends.
    private var routes: [[PacketKind: (socket: ClientSocket, payload: Int)]] = []
    private let stopRequested = Atomic<Bool>(false)

    public init(plan: TrafficPlan) throws(TrafficError) {
        self.plan = plan
        TrafficGenerator.raiseDescriptorLimit()
        let batch = plan.mode == .fast ? TrafficPlan.fastBatch : 1
        for index in 0..<plan.clients {
            guard let source = TrafficPlan.clientAddress(index) else { throw .invalid("no address for client \(index)") }
            let kinds = Set((0..<4).map { plan.kind(client: index, round: $0) })
            var route: [PacketKind: (socket: ClientSocket, payload: Int)] = [:]
            if kinds.contains(.isakmp) {
                let socket = try ClientSocket(source: source, sourcePort: 500, vip: plan.vip, vipPort: 500,
                                              payloads: [TrafficPayloads.payload(.isakmp, client: index)], batch: batch)
                route[.isakmp] = (socket, 0)
            }
            if kinds.contains(.nattIKE) || kinds.contains(.nattESP) {
                let socket = try ClientSocket(source: source, sourcePort: plan.nattPort(index), vip: plan.vip, vipPort: 4500,
                                              payloads: [TrafficPayloads.payload(.nattIKE, client: index),
                                                         TrafficPayloads.payload(.nattESP, client: index)], batch: batch)
                route[.nattIKE] = (socket, 0)
                route[.nattESP] = (socket, 1)
            }
            if kinds.contains(.esp) {
                let socket = try ClientSocket(source: source, sourcePort: nil, vip: plan.vip, vipPort: 0,
                                              payloads: [TrafficPayloads.payload(.esp, client: index)], batch: batch)
                route[.esp] = (socket, 0)
            }
            routes.append(route)
        }
    }

    /// Ends a running `run()` within one pacing step (≤ 10 ms).
    public func stop() { stopRequested.store(true, ordering: .relaxed) }

    public func run(progress: ((TrafficReport) -> Void)? = nil) -> TrafficReport {
        var report = TrafficReport(plan: plan)
        let unit = plan.mode == .fast ? TrafficPlan.fastBatch : 1
        let cap = plan.maximumPackets ?? Int.max
        let start = TrafficGenerator.now()
        var attempted = 0
        var step = 0
        var nextProgress = 1.0
        var counts = [Int](repeating: 0, count: PacketKind.allCases.count)
        var misses = [Int](repeating: 0, count: PacketKind.allCases.count)
        let scheduled = ThreadSchedule.read()
        while attempted < cap && !stopRequested.load(ordering: .relaxed) {
            let elapsed = TrafficGenerator.now() - start
            if elapsed >= plan.duration { break }
            if plan.rate > 0 {
                let due = Double(attempted + unit) / Double(plan.rate)
                if due > elapsed {
                    TrafficGenerator.sleep(seconds: min(due - elapsed, 0.01))
                    continue
                }
            }
            if let progress, elapsed >= nextProgress {
                nextProgress += 1
                report.record(counts: counts, misses: misses, elapsed: elapsed)
                progress(report)
            }
            let client = step % plan.clients
            let round = step / plan.clients
            step += 1
            let kind = plan.kind(client: client, round: round)
            let count = min(unit, cap - attempted)
            attempted += count
            guard let route = routes[client][kind] else { continue }
            let sent = route.socket.send(payload: route.payload, count: count)
            let slot = kind.slot
            counts[slot] += sent
            misses[slot] += count - sent
        }
        report.record(counts: counts, misses: misses, elapsed: TrafficGenerator.now() - start)
        if let scheduled, let now = ThreadSchedule.read() {
            report.threadRunSeconds = now.runSeconds - scheduled.runSeconds
            report.threadRunQueueSeconds = now.waitSeconds - scheduled.waitSeconds
        }
        return report
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    static func sleep(seconds: Double) {
        var request = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var remaining = timespec()
        _ = nanosleep(&request, &remaining)
    }

    /// Up to three sockets per client (371 clients): lift the soft descriptor limit to the hard one.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
