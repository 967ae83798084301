import ArgumentParser
import Runtime

/// `slb show ip slb conns|reals|vservers|serverfarms|sticky|probe|stats [...] [--json]` and
/// `slb show running-config`: asks the running `slb run` over its control socket and prints
/// exactly what the in-process renderers print. IOS abbreviations work (`slb sh ip slb conn`).
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show the running SLB's tables (IOS format, or --json).",
        discussion: "slb show ip slb conns vserver IPSEC-ESP detail; slb show ip slb reals --json; slb show running-config")

    @OptionGroup var control: ControlOptions

    @Flag(help: "JSON instead of the IOS table.")
    var json = false

    @Flag(help: "With running-config: write every default out.")
    var all = false

    @Argument(help: "The show command's words: [ip slb] TABLE [filter] [detail], or running-config.")
    var words: [String] = []

    func run() throws {
        var words = words
        if let first = words.first, first.count >= 2, "show".hasPrefix(first.lowercased()) { words.removeFirst() }
        if let first = words.first, first.count >= 2, "running-config".hasPrefix(first.lowercased()) {
            try control.perform(.runningConfig(all: all))
            return
        }
        // `slb show ip slb X` and `slb show X` both reach ShowCommandParser's grammar.
        if words.count >= 2, "ip".hasPrefix(words[0].lowercased()), "slb".hasPrefix(words[1].lowercased()) {
            words = ["show"] + words
        }
        if json { words.append("--json") }
        try control.perform(.show(words))
    }
}
