import ArgumentParser
import Foundation
import Runtime

/// `slb reload [FILE]`: the running SLB re-reads its configuration file (or FILE) and applies
/// the difference; an invalid file is rejected with its diagnostics and nothing changes.
/// SIGHUP to `slb run` does the same with the file it started with.
struct ReloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reload",
        abstract: "Reload the running SLB's configuration (as SIGHUP does).")

    @OptionGroup var control: ControlOptions

    @Argument(help: "Configuration file (default: the one slb run started with).")
    var file: String?

    func run() throws {
        // The daemon may run in another directory: send an absolute path.
        let path = file.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        try control.perform(.reload(file: path))
    }
}
