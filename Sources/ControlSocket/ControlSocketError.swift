/// Failures of the control socket, with the errno that caused them.
public struct ControlSocketError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case pathTooLong, socket, bind, listen, connect, io, timeout, protocolError, refused, badRequest
    }
    public var code: Code
    public var errno: Int32
    public var detail: String

    public init(_ code: Code, errno: Int32 = 0, _ detail: String = "") {
        self.code = code
        self.errno = errno
        self.detail = detail
    }

    public var description: String {
        var s = "control socket: \(code.rawValue)"
        if !detail.isEmpty { s += ": \(detail)" }
        if errno != 0 { s += " (errno \(errno))" }
        return s
    }
}
