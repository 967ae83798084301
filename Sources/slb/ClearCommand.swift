import ArgumentParser
import Runtime

/// `slb clear ip slb connections [vserver NAME | serverfarm NAME]`, `slb clear ip slb counters`,
/// `slb clear ip slb sticky [client IP] [group N]` (VPNSLB extension).
struct ClearCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear",
        abstract: "Clear the running SLB's connections, counters or idle sticky objects (IOS clear ip slb; sticky is a VPNSLB extension).")

    @OptionGroup var control: ControlOptions

    @Argument(help: "[ip slb] connections [vserver NAME | serverfarm NAME] | counters | sticky [client IP] [group N]")
    var words: [String] = []

    func run() throws {
        var words = words
        if words.count >= 2, "ip".hasPrefix(words[0].lowercased()), "slb".hasPrefix(words[1].lowercased()) {
            words = ["clear"] + words
        }
        // Checked locally first, with the daemon's parser, so a typo is reported as such
        // rather than as a missing daemon.
        do { _ = try Runtime.ClearCommand.parse(words: words) } catch {
            printError(error.description)
            throw ExitCode.failure
        }
        try control.perform(.clear(words))
    }
}
