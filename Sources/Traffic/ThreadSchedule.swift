#if canImport(Glibc)
import Glibc
#endif

/// The calling thread's scheduler accounting: `/proc/thread-self/schedstat` holds the time
/// spent on a CPU and the time spent runnable in a run queue, in nanoseconds (kernel
/// Documentation/scheduler/sched-stats.rst). Softirq work done in the thread's context is in
/// neither when the kernel accounts IRQ time separately.
struct ThreadSchedule {
    var runSeconds: Double
    var waitSeconds: Double

    static let path = "/proc/thread-self/schedstat"

    static func read() -> ThreadSchedule? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var buffer = [CChar](repeating: 0, count: 128)
        guard fgets(&buffer, Int32(buffer.count), file) != nil else { return nil }
        let line = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return parse(line)
    }

    /// "RUN_NS WAIT_NS SLICES": nil unless the first two fields are numbers.
    static func parse(_ line: String) -> ThreadSchedule? {
        let fields = line.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 2, let run = UInt64(fields[0]), let wait = UInt64(fields[1]) else { return nil }
        return ThreadSchedule(runSeconds: Double(run) / 1e9, waitSeconds: Double(wait) / 1e9)
    }
}
