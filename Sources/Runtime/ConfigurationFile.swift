#if canImport(Glibc)
import Glibc
#endif

/// Reads an IOS configuration file for `slb check`, `slb simulate` and `slb reload`, with an
/// error an operator can act on ("is a directory", "not UTF-8 text at line 3") instead of
/// Foundation's "the file isn't in the correct format". Bounded, so `/dev/zero` or a log file
/// given by mistake is refused rather than read into memory.
public enum ConfigurationFile {
    /// Far above any real `ip slb` configuration (the 350-client lab farm is about 1 KiB, a
    /// whole router running-config rarely passes 1 MiB), low enough that a wrong file cannot
    /// exhaust memory.
    public static let maximumBytes = 16 << 20

    public enum ReadError: Error, Hashable, Sendable, CustomStringConvertible {
        case cannotOpen(reason: String)
        case directory
        case tooLarge(limit: Int)
        case notUTF8(line: Int)
        case readFailed(reason: String)

        public var description: String {
            switch self {
            case .cannotOpen(let reason): "cannot open: \(reason)"
            case .directory: "is a directory, not a configuration file"
            case .tooLarge(let limit): "larger than \(limit) octets; not a configuration file?"
            case .notUTF8(let line): "not UTF-8 text (invalid byte on line \(line)); a binary file?"
            case .readFailed(let reason): "cannot read: \(reason)"
            }
        }
    }

    /// The file's text, or why it is not usable as a configuration.
    public static func read(path: String) throws(ReadError) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .cannotOpen(reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var status = stat()
        if fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFDIR { throw .directory }
        return try read(fileDescriptor: fd)
    }

    /// Reads an open descriptor to its end (`slb check -` reads standard input), with the
    /// same size bound and UTF-8 check as a file.
    public static func read(fileDescriptor fd: Int32) throws(ReadError) -> String {
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == EISDIR { throw .directory }
                throw .readFailed(reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            guard bytes.count + n <= maximumBytes else { throw .tooLarge(limit: maximumBytes) }
            bytes.append(contentsOf: chunk[..<n])
        }
        return try text(bytes)
    }

    /// Strict UTF-8 decoding: a replaced byte would silently change a name or an address.
    public static func text(_ bytes: [UInt8]) throws(ReadError) -> String {
        if let text = String(validating: bytes, as: UTF8.self) { return text }
        // Invalid: walk it again only to name the line.
        var line = 1
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): if scalar == "\n" { line += 1 }
            case .emptyInput, .error: throw .notUTF8(line: line)
            }
        }
    }
}
