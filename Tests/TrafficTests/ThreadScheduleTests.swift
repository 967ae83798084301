import Testing
@testable import Traffic

/// The sender's own scheduler accounting (slb-bench's "sender waited").
@Suite("Thread schedule (/proc/thread-self/schedstat)")
struct ThreadScheduleTests {
    @Test("run and run-queue nanoseconds become seconds; anything else is nil", arguments: [
        ("123456789 2000000000 42\n", 0.123456789, 2.0),
        ("0 0 0", 0.0, 0.0),
    ])
    func parse(line: String, run: Double, wait: Double) throws {
        let schedule = try #require(ThreadSchedule.parse(line))
        #expect(abs(schedule.runSeconds - run) < 1e-12 && abs(schedule.waitSeconds - wait) < 1e-12)
    }

    @Test("malformed lines are refused", arguments: ["", "12", "a b c", "-1 5 1", "1.5 2 3"])
    func malformed(line: String) {
        #expect(ThreadSchedule.parse(line) == nil)
    }

    @Test("this thread's own accounting grows while it works")
    func live() throws {
        let before = try #require(ThreadSchedule.read())
        // Busy for 100 ms of wall time: the kernel adds a running thread's time at scheduler
        // ticks (every 1–10 ms), so a shorter loop could read the same sum twice.
        let start = TrafficGenerator.now()
        var x: UInt64 = 1
        var i: UInt64 = 0
        while TrafficGenerator.now() - start < 0.1 {
            for _ in 0..<10_000 { x = x &* 6364136223846793005 &+ i; i &+= 1 }
        }
        #expect(x != 0)
        let after = try #require(ThreadSchedule.read())
        #expect(after.runSeconds > before.runSeconds)
        #expect(after.waitSeconds >= before.waitSeconds)
    }
}
