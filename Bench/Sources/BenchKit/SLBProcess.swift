import Foundation
import Lab
#if canImport(Glibc)
import Glibc
#endif

/// `slb run` in a lab's slb namespace, pinned to one CPU, its stderr in `log`.
enum SLBProcess {
    static func start(slbPath: String, plan: LabPlan, farm: URL, log: URL, cpu: Int?, backend: String,
                      seconds: Int) throws -> Process {
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SystemCommandRunner.resolve("ip") ?? "/usr/sbin/ip")
        // `ip netns exec` and `taskset` both exec, so the pid is slb's own (for /proc/PID/stat).
        var arguments = ["netns", "exec", plan.slbNamespace]
        if let cpu { arguments += [SystemCommandRunner.resolve("taskset") ?? "/usr/bin/taskset", "-c", "\(cpu)"] }
        process.arguments = arguments + [slbPath, "run", farm.path, "--backend", backend, "--for", "\(seconds)"]
        process.standardError = try FileHandle(forWritingTo: log)
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Measure.seconds() + 10
        func text() -> String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }
        while Measure.seconds() < deadline && !text().contains("slb.run.ready") && process.isRunning { usleep(50_000) }
        guard text().contains("slb.run.ready") else {
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            throw BenchError("slb run did not start: \(text())")
        }
        // The first probes make the kernel resolve the gateways' MACs; the loop reads them each second.
        usleep(1_500_000)
        return process
    }
}
