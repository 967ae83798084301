import ControlSocket
import Foundation

/// What `slb show|clear|configure|reload` asks a running `slb run` over the control socket.
/// The body is this enum as JSON; the answer is UTF-8 text, exactly what the command prints
/// (status ok), or an error message (status bad request). Words are sent unparsed so the
/// daemon parses them once, with the same IOS abbreviation rules as the in-process CLI.
public enum ControlRequest: Hashable, Sendable, Codable {
    /// `show ip slb ...` words (with or without the leading `show ip slb`).
    case show([String])
    /// `clear ip slb ...` words.
    case clear([String])
    /// IOS configuration lines, applied in order from global configuration mode.
    case configure([String])
    /// `show running-config` (`all`: every default written out).
    case runningConfig(all: Bool)
    /// Reload the configuration file (the one `slb run` started with, or another).
    case reload(file: String?)
    /// `write memory`: save the running configuration to the file `slb run` started with
    /// (`force`: even when that file was edited since it was read).
    case writeMemory(force: Bool)
    /// Write the state file now.
    case saveState

    public func encoded() -> [UInt8] {
        (try? Array(JSONEncoder().encode(self))) ?? []
    }

    public static func decode(_ body: [UInt8]) -> ControlRequest? {
        try? JSONDecoder().decode(ControlRequest.self, from: Data(body))
    }

    /// Default control socket path (0700 directory, 0600 socket, root only).
    public static let defaultPath = "/run/vpnslb/slb.sock"
}

/// An answer: text to print, or an error to report (the CLI exits non-zero).
public struct ControlAnswer: Hashable, Sendable {
    public var ok: Bool
    public var text: String

    public init(ok: Bool, text: String) {
        self.ok = ok
        self.text = text
    }

    public static func failure(_ text: String) -> ControlAnswer { ControlAnswer(ok: false, text: text) }
    public static func success(_ text: String) -> ControlAnswer { ControlAnswer(ok: true, text: text) }
}

extension ControlRequest {
    /// Sends the request to a running `slb run` and returns its answer; a refused peer or a
    /// daemon that is not running is an error with the socket's message.
    public func send(to path: String, timeoutMilliseconds: Int = 30_000) throws(ControlSocketError) -> ControlAnswer {
        do {
            let answer = try ControlClient.request(path: path, encoded(), timeoutMilliseconds: timeoutMilliseconds)
            return .success(String(decoding: answer, as: UTF8.self))
        } catch where error.code == .badRequest {
            return .failure(error.detail)
        }
    }
}
