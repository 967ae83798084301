import ArgumentParser
import Foundation
import Runtime
import SLBConfig

/// `slb cli`: an IOS-style prompt on the running SLB. Exec mode runs `show ...` and
/// `clear ...`; `configure terminal` enters configuration mode with IOS prompts
/// (`slb(config-slb-sfarm)#`), `?` help and unique-prefix keywords; `end` applies the edit.
struct CLICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cli",
        abstract: "Interactive IOS-style CLI on the running SLB.")

    @OptionGroup var control: ControlOptions

    func run() throws {
        var cli = CLISession(running: try fetchRunning())
        let interactive = isatty(0) != 0
        while true {
            if interactive { print(cli.prompt, terminator: " "); fflush(nil) }
            guard let line = readLine() else { break }
            if !interactive { print(cli.prompt + " " + line) }
            var quit = false
            for action in cli.input(line) {
                switch action {
                case .print(let text):
                    print(text)
                case .send(let request):
                    do {
                        let answer = try request.send(to: control.path)
                        if !answer.text.isEmpty { print(answer.text, terminator: answer.text.hasSuffix("\n") ? "" : "\n") }
                        if case .configure = request { cli.update(running: try fetchRunning()) }
                    } catch {
                        print("% \(error)")
                    }
                case .quit:
                    quit = true
                }
            }
            if quit { break }
        }
    }

    /// The running configuration, as text from the daemon, parsed back (the CLI's edits start from it).
    private func fetchRunning() throws -> SLBConfiguration {
        let answer: ControlAnswer
        do { answer = try ControlRequest.runningConfig(all: false).send(to: control.path) } catch {
            throw ValidationError("\(error) — is slb run running with --control \(control.path)?")
        }
        guard answer.ok, let configuration = ConfigParser.parse(answer.text, file: "<running-config>").configuration else {
            throw ValidationError("cannot read the running configuration: \(answer.text)")
        }
        return configuration
    }
}
