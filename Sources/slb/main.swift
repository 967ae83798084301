import ArgumentParser

/// `slb`: the VPNSLB command. One subcommand per job; see README.md.
struct SLB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slb",
        abstract: "VPNSLB: IOS-style server load balancing for IPsec VPN gateway farms.",
        subcommands: [CheckCommand.self, SimulateCommand.self, RunCommand.self, LabCommand.self,
                      GatewayCommand.self, ClientCommand.self, ShowCommand.self, ClearCommand.self,
                      ConfigureCommand.self, ReloadCommand.self, WriteCommand.self, CLICommand.self, TrafficCommand.self])
}

SLB.main()
