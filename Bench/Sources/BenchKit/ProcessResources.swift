import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Monotonic time, resident memory and CPU time, read from the kernel (Linux /proc).
public enum Measure {
    public static func seconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    /// Resident set size of this process in bytes (/proc/self/statm, second field, in pages).
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }

    /// utime + stime of a process in seconds (/proc/PID/stat fields 14 and 15, in clock ticks).
    public static func cpuSeconds(pid: Int32) -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "(comm)" start at field 3 (state); utime is field 14, stime 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Seconds all CPUs spent in softirq (/proc/stat `cpu` line, 7th value): where the kernel
    /// baselines forward, on whichever CPU received the frame.
    public static func softirqSeconds() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
        guard values.count > 6 else { return nil }
        return values[6] / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}
