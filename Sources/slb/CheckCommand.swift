import ArgumentParser
import Foundation
import Runtime
import SLBConfig

/// `slb check FILE [--all]`: reads an IOS `ip slb` configuration (or a whole running-config)
/// and prints it in canonical form, or every diagnostic. The work is SLBConfig's; this only
/// reads the file and routes output.
struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check an IOS 'ip slb' configuration file and print it in canonical form.",
        discussion: """
            Prints what 'show running-config | section ip slb' would show when the file has no \
            errors; warnings and notes go to standard error. Exit status 0 when there is no \
            error, 1 otherwise.
            """)

    @Argument(help: "Configuration file (IOS syntax); '-' reads standard input.")
    var file: String

    @Flag(help: "Write every default explicitly, like 'show running-config all'.")
    var all = false

    func run() throws {
        let text: String
        do throws(ConfigurationFile.ReadError) {
            if file == "-" {
                text = try ConfigurationFile.read(fileDescriptor: 0)
            } else {
                text = try ConfigurationFile.read(path: file)
            }
        } catch {
            FileHandle.standardError.write(Data("\(file == "-" ? "<stdin>" : file): error: \(error)\n".utf8))
            throw ExitCode.failure
        }
        let result = ConfigParser.parse(text, file: file == "-" ? "<stdin>" : file)
        let report = result.diagnostics.map { $0.description + "\n" }.joined()
        if !report.isEmpty { FileHandle.standardError.write(Data(report.utf8)) }
        guard let configuration = result.configuration else {
            let errors = result.errors.count
            FileHandle.standardError.write(Data("\(errors) error\(errors == 1 ? "" : "s")\n".utf8))
            throw ExitCode.failure
        }
        print(ConfigRenderer.render(configuration, all: all), terminator: "")
    }
}
