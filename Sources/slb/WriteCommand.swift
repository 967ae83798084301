import ArgumentParser
import Runtime

/// `slb write memory [--force]`: IOS `write memory` (`copy running-config startup-config`).
/// The running SLB renders its running configuration (what `slb configure` and `slb cli`
/// changed) canonically and replaces the configuration file it started with, atomically, so
/// the next `slb reload`, SIGHUP or restart keeps those changes. A file edited by hand since
/// it was loaded is not overwritten unless `--force`.
struct WriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Save the running configuration to the configuration file (IOS write memory).")

    @OptionGroup var control: ControlOptions

    @Flag(help: "Overwrite the file even if it was changed on disk since it was loaded.")
    var force = false

    @Argument(help: "memory (the only target; IOS prefixes like 'mem' work).")
    var target: String = "memory"

    func validate() throws {
        guard !target.isEmpty, "memory".hasPrefix(target.lowercased()) else {
            throw ValidationError("% Invalid input \"\(target)\": only write memory")
        }
    }

    func run() throws {
        try control.perform(.writeMemory(force: force))
    }
}
