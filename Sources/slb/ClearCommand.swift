import ArgumentParser
import Runtime

/// `slb clear ip slb connections [vserver NAME | serverfarm NAME]`, `slb clear ip slb counters`.
struct ClearCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clear",
        abstract: "Clear the running SLB's connections or counters (IOS clear ip slb).")

    @OptionGroup var control: ControlOptions

    @Argument(help: "[ip slb] connections [vserver NAME | serverfarm NAME] | counters")
    var words: [String] = []

    func run() throws {
        var words = words
        if words.count >= 2, "ip".hasPrefix(words[0].lowercased()), "slb".hasPrefix(words[1].lowercased()) {
            words = ["clear"] + words
        }
        try control.perform(.clear(words))
    }
}
