#if canImport(Glibc)
import Glibc
#endif

/// A failed system call: which call, and errno. Every syscall of this target goes through
/// `retryingEINTR` / `check`, so callers see one error type with the call's name in it.
public struct SystemError: Error, Equatable, CustomStringConvertible, Sendable {
    public var call: String
    public var errno: Int32

    public init(_ call: String, errno: Int32 = Glibc.errno) {
        self.call = call
        self.errno = errno
    }

    public var description: String {
        "\(call): \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// Retries a call interrupted by a signal (EINTR), throws on any other -1.
@inline(__always)
func retryingEINTR<T: BinaryInteger>(_ call: String, _ body: () -> T) throws -> T {
    while true {
        let result = body()
        if result != -1 { return result }
        let error = errno
        if error == EINTR { continue }
        throw SystemError(call, errno: error)
    }
}

/// Wraps a setup call (setsockopt, bind, ...) that is not retried.
@inline(__always)
func check(_ call: String, _ result: Int32) throws {
    if result == -1 { throw SystemError(call) }
}
