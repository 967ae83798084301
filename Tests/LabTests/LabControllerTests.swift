import Foundation
import Synchronization
import Testing
@testable import Lab

/// Plays `ip netns add|delete|list|pids` against a set of names and records every command;
/// fails the first command that contains `failOn`.
final class FakeNetns: CommandRunning {
    struct Log { var commands: [[String]] = []; var namespaces: [String] = [] }
    let log = Mutex(Log())
    let failOn: String?

    init(failOn: String? = nil, existing: [String] = []) {
        self.failOn = failOn
        log.withLock { $0.namespaces = existing }
    }

    var namespaces: [String] { log.withLock { $0.namespaces } }
    var commands: [[String]] { log.withLock { $0.commands } }

    func run(_ argv: [String]) throws -> CommandResult {
        log.withLock { log in
            log.commands.append(argv)
            let line = argv.joined(separator: " ")
            if let failOn, line.contains(failOn) {
                return CommandResult(status: 2, errorOutput: "RTNETLINK answers: File exists")
            }
            switch Array(argv.prefix(3)) {
            case ["ip", "netns", "add"]:
                log.namespaces.append(argv[3])
            case ["ip", "netns", "delete"]:
                guard let index = log.namespaces.firstIndex(of: argv[3]) else {
                    return CommandResult(status: 1, errorOutput: "Cannot remove namespace file \"/run/netns/\(argv[3])\": No such file or directory")
                }
                log.namespaces.remove(at: index)
            case ["ip", "netns", "list"]:
                return CommandResult(status: 0, output: log.namespaces.enumerated().map { "\($1) (id: \($0))\n" }.joined())
            case ["ip", "netns", "pids"]:
                return CommandResult(status: 0, output: "")
            default:
                break
            }
            return CommandResult(status: 0)
        }
    }
}

@Suite("Lab controller: build, rollback, idempotent teardown (fake commands, no root)")
final class LabControllerTests {
    // A class so each test's state directory goes with its instance.
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("vslb-state-\(UUID().uuidString)").path

    deinit {
        // `directory + "b"`: the broken runner's store in the rollback test.
        for path in [directory, directory + "b"] { try? FileManager.default.removeItem(atPath: path) }
    }

    @Test("up runs every planned step in order, records the lab, down removes it")
    func upAndDown() throws {
        let runner = FakeNetns()
        let controller = LabController(runner: runner, store: LabStateStore(directory: directory))
        let plan = try LabPlan(id: LabID("u1")!, gatewayCount: 2)
        let state = try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
        #expect(state.complete && state.owner == nil)
        let run = runner.commands.filter { !($0.starts(with: ["ip", "netns", "list"])) }
        #expect(run == plan.steps.map(\.argv))
        #expect(try LabStateStore(directory: directory).load(plan.id) == state)
        #expect(runner.namespaces == plan.namespaces)

        try controller.down(plan.id)
        #expect(runner.namespaces.isEmpty)
        #expect(try LabStateStore(directory: directory).load(plan.id) == nil)
        // Twice is fine: teardown is idempotent.
        try controller.down(plan.id)
    }

    @Test("a failure half-way tears down what was built and reports the failing command")
    func rollback() throws {
        let runner = FakeNetns(failOn: "link add gw2")
        let controller = LabController(runner: runner, store: LabStateStore(directory: directory))
        let plan = try LabPlan(id: LabID("r1")!, gatewayCount: 3)
        do {
            try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
            Issue.record("up should have failed")
        } catch {
            #expect("\(error)".contains("link add gw2"))
            #expect("\(error)".contains("File exists"))
        }
        #expect(runner.namespaces.isEmpty)
        #expect(try LabStateStore(directory: directory).load(plan.id) == nil)
    }

    @Test("up refuses a lab whose namespaces already exist")
    func alreadyUp() throws {
        let runner = FakeNetns(existing: ["vslb-d1-gw1"])
        let controller = LabController(runner: runner, store: LabStateStore(directory: directory))
        #expect(throws: LabController.LabError.self) {
            try controller.up(try LabPlan(id: LabID("d1")!, gatewayCount: 1), owner: nil, handOver: true)
        }
        #expect(runner.namespaces == ["vslb-d1-gw1"])
    }

    @Test("down also removes prefixed namespaces missing from the record, and no other lab's")
    func downByPrefix() throws {
        let runner = FakeNetns(existing: ["vslb-p1-slb", "vslb-p1-gw9", "vslb-p10-slb", "other"])
        let controller = LabController(runner: runner, store: LabStateStore(directory: directory))
        try controller.down(LabID("p1")!)
        #expect(runner.namespaces == ["vslb-p10-slb", "other"])
    }

    @Test("--stale removes labs whose owner died, keeps handed-over labs and labs with a live owner")
    func stale() throws {
        let runner = FakeNetns()
        let store = LabStateStore(directory: directory)
        let controller = LabController(runner: runner, store: store)
        let dead = ProcessIdentity(pid: getpid(), startTime: 1)   // our PID, wrong start time: not us
        try controller.up(try LabPlan(id: LabID("crash")!, gatewayCount: 1), owner: dead, handOver: false)
        try controller.up(try LabPlan(id: LabID("held")!, gatewayCount: 1), owner: ProcessIdentity.current, handOver: false)
        try controller.up(try LabPlan(id: LabID("kept")!, gatewayCount: 1), owner: ProcessIdentity.current, handOver: true)

        #expect(try store.load(LabID("crash")!)?.isStale == true)
        let removed = try controller.downStale()
        #expect(removed == [LabID("crash")!])
        #expect(runner.namespaces.allSatisfy { !$0.hasPrefix("vslb-crash-") })
        #expect(store.all().map(\.rawValue) == ["held", "kept"])
        try controller.down(LabID("held")!)
        try controller.down(LabID("kept")!)
        #expect(runner.namespaces.isEmpty)
    }

    @Test("a missing br_netfilter sysctl is tolerated; any other failing sysctl is not")
    func bridgeSysctl() throws {
        let plan = try LabPlan(id: LabID("s1")!, gatewayCount: 1)
        let missing = FakeNetnsWithSysctlError(key: "net.bridge.bridge-nf-call-iptables")
        try LabController(runner: missing, store: LabStateStore(directory: directory)).up(plan, owner: nil, handOver: true)
        let broken = FakeNetnsWithSysctlError(key: "net.ipv4.ip_forward")
        #expect(throws: LabController.LabError.self) {
            try LabController(runner: broken, store: LabStateStore(directory: directory + "b")).up(plan, owner: nil, handOver: true)
        }
    }

    @Test("process identities: this process is alive, a wrong start time is not")
    func processIdentity() throws {
        let me = try #require(ProcessIdentity.current)
        #expect(me.isAlive)
        #expect(!ProcessIdentity(pid: me.pid, startTime: me.startTime + 1).isAlive)
        #expect(ProcessIdentity.of(pid: -1) == nil)
    }
}

final class FakeNetnsWithSysctlError: CommandRunning {
    let base = FakeNetns()
    let key: String
    init(key: String) { self.key = key }
    func run(_ argv: [String]) throws -> CommandResult {
        if argv.contains("sysctl"), argv.last?.hasPrefix(key + "=") == true {
            return CommandResult(status: 255, errorOutput: "sysctl: cannot stat /proc/sys/\(key.replacingOccurrences(of: ".", with: "/")): No such file or directory")
        }
        return try base.run(argv)
    }
}
