import Foundation

/// Builds and tears down labs: runs a `LabPlan`'s steps and keeps the `LabState` record true.
///
/// Teardown is idempotent and works on half-built labs: it deletes every recorded namespace
/// that exists (after ending the processes inside it), treats "already gone" as success, and
/// verifies at the end that no namespace with the lab's prefix is left.
public struct LabController: Sendable {
    public let runner: any CommandRunning
    public let store: LabStateStore

    public init(runner: any CommandRunning = SystemCommandRunner(), store: LabStateStore = LabStateStore()) {
        self.runner = runner
        self.store = store
    }

    public enum LabError: Error, CustomStringConvertible {
        case alreadyUp(LabID, [String])
        case leftOver(LabID, [String])
        case command(CommandError)

        public var description: String {
            switch self {
            case .alreadyUp(let id, let names):
                "lab \(id) is already up (\(names.joined(separator: ", "))); run `slb lab down --id \(id)` first"
            case .leftOver(let id, let names):
                "lab \(id): namespaces still present after teardown: \(names.joined(separator: ", "))"
            case .command(let error):
                error.description
            }
        }
    }

    // MARK: up

    /// Builds the lab. On any failure the half-built lab is torn down before the error is
    /// rethrown. `owner` stays recorded while the caller holds the lab (`up --for`); pass
    /// `handOver: true` to clear it once built, leaving the lab to a later `down`.
    @discardableResult
    public func up(_ plan: LabPlan, owner: ProcessIdentity?, handOver: Bool) throws -> LabState {
        let existing = try namespaces(withPrefix: plan.id.namespacePrefix)
        guard existing.isEmpty else { throw LabError.alreadyUp(plan.id, existing) }

        var state = LabState(plan: plan, owner: owner)
        try store.save(state)
        do {
            for step in plan.steps { try apply(step) }
        } catch {
            try? down(plan.id)
            throw error
        }
        state.complete = true
        if handOver { state.owner = nil }
        try store.save(state)
        return state
    }

    func apply(_ step: LabStep) throws {
        let result = try runner.run(step.argv)
        guard result.succeeded else {
            // br_netfilter's sysctls exist only when it is built in or loaded; without it there
            // is no hook to turn off (and every lab bridge also says `nf_call_iptables 0`).
            if case .sysctl(_, let key, _) = step, key.hasPrefix("net.bridge."),
               result.errorOutput.contains("No such file") || result.errorOutput.contains("cannot stat") {
                return
            }
            throw LabError.command(CommandError(argv: step.argv, result: result, reason: "failed"))
        }
    }

    // MARK: down

    /// Removes lab `id`: its recorded processes and namespaces, plus any namespace carrying
    /// its prefix (a run may have crashed before its record was written).
    public func down(_ id: LabID) throws {
        let state = try? store.load(id)
        var names = state?.namespaces ?? []
        for name in try namespaces(withPrefix: id.namespacePrefix) where !names.contains(name) {
            names.append(name)
        }
        for name in names { try deleteNamespace(name) }
        for process in state?.processes ?? [] { process.terminate() }
        try? FileManager.default.removeItem(atPath: store.gatewayDirectory(for: id))  // LabGateways' PSK, sockets, logs
        let left = try namespaces(withPrefix: id.namespacePrefix)
        guard left.isEmpty else { throw LabError.leftOver(id, left) }
        store.remove(id)
        // The owner of an `up --for` is told last, so it finds the lab already gone.
        if let owner = state?.owner { owner.terminate() }
    }

    /// Labs whose recording run died before handing them over (`LabState.isStale`), and
    /// records that cannot be read. Returns the labs removed.
    public func downStale() throws -> [LabID] {
        var removed: [LabID] = []
        for id in store.all() {
            let state: LabState?
            do { state = try store.load(id) } catch { state = nil }
            if let state, !state.isStale { continue }
            try down(id)
            removed.append(id)
        }
        return removed
    }

    /// Kills what runs inside the namespace (a namespace with processes in it outlives
    /// `ip netns del`), then deletes it. A namespace that is already gone is success.
    func deleteNamespace(_ name: String) throws {
        let pids = try runner.run(["ip", "netns", "pids", name])
        if pids.succeeded {
            for line in pids.output.split(whereSeparator: \.isNewline) {
                if let pid = Int32(line.trimmingCharacters(in: .whitespaces)),
                   let process = ProcessIdentity.of(pid: pid) {
                    process.terminate()
                }
            }
        }
        let result = try runner.run(["ip", "netns", "delete", name])
        if !result.succeeded && !result.errorOutput.contains("No such file") {
            throw LabError.command(CommandError(argv: ["ip", "netns", "delete", name], result: result, reason: "failed"))
        }
    }

    /// Namespaces whose names start with `prefix`, from `ip netns list` ("NAME (id: N)").
    public func namespaces(withPrefix prefix: String) throws -> [String] {
        let result = try runner.run(["ip", "netns", "list"])
        guard result.succeeded else {
            throw LabError.command(CommandError(argv: ["ip", "netns", "list"], result: result, reason: "failed"))
        }
        return result.output.split(whereSeparator: \.isNewline).compactMap { line in
            guard let name = line.split(separator: " ").first.map(String.init), name.hasPrefix(prefix) else { return nil }
            return name
        }
    }

    // MARK: processes

    /// Records a process the lab started (e.g. a gateway inside a namespace) so teardown ends it.
    public func record(_ process: ProcessIdentity, in id: LabID) throws {
        guard var state = try store.load(id) else { return }
        state.processes.append(process)
        try store.save(state)
    }
}
