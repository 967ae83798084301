import ArgumentParser
import Runtime

/// `slb configure 'ip slb serverfarm IPSEC' 'real 198.51.100.12' 'no inservice'`: IOS lines
/// applied to the running configuration (mode stack from global configuration), validated as
/// a whole, then applied to the engine without dropping flows. On any error nothing changes.
struct ConfigureCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configure",
        abstract: "Apply IOS configuration lines to the running SLB.")

    @OptionGroup var control: ControlOptions

    @Argument(help: "Configuration lines, in order (quote each).")
    var lines: [String]

    func run() throws {
        try control.perform(.configure(lines))
    }
}
