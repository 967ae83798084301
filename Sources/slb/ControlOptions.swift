import ArgumentParser
import Foundation
import Runtime

/// `--control PATH`, shared by `slb run` (where it listens) and the commands that ask it.
struct ControlOptions: ParsableArguments {
    @Option(name: .customLong("control"), help: "Control socket of the running slb (root only).")
    var path: String = ControlRequest.defaultPath

    /// Sends one request; prints the answer (stdout) or the error (stderr, exit 1).
    func perform(_ request: ControlRequest) throws {
        let answer: ControlAnswer
        do { answer = try request.send(to: path) } catch {
            printError("\(error) — is slb run running with --control \(path)?")
            throw ExitCode.failure
        }
        if answer.ok {
            if !answer.text.isEmpty { print(answer.text, terminator: answer.text.hasSuffix("\n") ? "" : "\n") }
        } else {
            printError(answer.text)
            throw ExitCode.failure
        }
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
