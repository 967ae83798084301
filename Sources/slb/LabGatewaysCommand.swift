import Foundation
import Lab

/// `slb lab up` (default `--gateways-run`): the embedded gateway in every gateway namespace,
/// run by this very `slb` executable (Sources/Lab/LabGatewayPlan.swift).
extension LabCommand.Up {
    func gatewayPlan(_ plan: LabPlan, store: LabStateStore) -> LabGatewayPlan {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return LabGatewayPlan(lab: plan, directory: store.gatewayDirectory(for: plan.id), executable: executable)
    }

    func printGatewayCommands(_ plan: LabPlan) {
        let gateways = gatewayPlan(plan, store: LabStateStore(directory: options.stateDirectory))
        for n in plan.gatewayNumbers {
            print(gateways.counterArguments(n).joined(separator: " "))
            print(gateways.arguments(n).joined(separator: " ") + " &")
        }
    }

    /// Starts the gateways; a failure tears the whole lab down (it would be half-useful) and
    /// is reported.
    func startGateways(_ plan: LabPlan, _ controller: LabController) throws {
        let gateways = gatewayPlan(plan, store: controller.store)
        do {
            let started = try LabGateways(controller: controller).start(gateways)
            print("  gateways: slb gateway in each gateway namespace, PSK file \(gateways.pskPath) (root only)")
            for gateway in started {
                let n = gateway.number
                let pool = gateways.pool(n).map { "pool \($0)" } ?? "no pool"
                print("    \(plan.gatewayNamespace(n)): \(gateway.process), \(pool), log \(gateways.logPath(n))")
                print("      slb gateway show crypto ipsec sa --control \(gateways.controlPath(n))")
            }
            print("  ESP counters: ip netns exec \(plan.gatewayNamespace(1)) nft list table ip \(LabGatewayPlan.counterTable)")
        } catch {
            try? controller.down(plan.id)
            throw error
        }
    }
}
