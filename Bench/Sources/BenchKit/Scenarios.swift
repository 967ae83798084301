/// The slb-bench scenarios and where each comes from. A new scenario is a type with
/// `Parameters` (standard + smoke), a `run() throws -> Document` that writes
/// `<name>.json`/`.svg` through `BenchOutput`, a `table(_:)` for the terminal, a subcommand in
/// `slb-bench`, a smoke test in Tests/BenchTests, and a section in Bench/scripts/report.py.
public enum ScenarioName: String, CaseIterable, Sendable {
    case distribution, scale, forwarding, micro, failover

    public var summary: String {
        switch self {
        case .distribution: "WRR vs WLC, sticky group vs per-vserver sticky, 100,000 churning clients (in-process)"
        case .scale: "1,000,000 sticky clients / 2,000,000 connections: insert, lookup, memory, expiry (in-process)"
        case .forwarding: "pps and loss through the lab's slb namespace: slb run vs nftables DNAT and DSR (root)"
        case .micro: "package-benchmark micro benchmarks in Bench/ (swift package benchmark)"
        case .failover: "outage per client when a gateway's IKE dies (process killed, link cut): IKE probe, purge, DPD re-landing (root)"
        }
    }

    /// Every scenario runs (failover: `FailoverScenario`).
    public var isAvailable: Bool { true }
}
