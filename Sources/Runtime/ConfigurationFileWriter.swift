#if canImport(Glibc)
import Glibc
#endif

/// Writes a configuration file for `slb write memory` so that a crash or a full disk never
/// leaves a half-written startup configuration: a new file in the same directory (rename(2)
/// is atomic only within one file system), written, given the old file's mode and owner,
/// fsync'd, renamed over the old one, then the directory fsync'd so the rename itself is
/// durable. A symbolic link is followed: the file it names is replaced, the link stays.
public enum ConfigurationFileWriter {
    public enum WriteError: Error, Hashable, Sendable, CustomStringConvertible {
        case resolve(reason: String)
        case create(path: String, reason: String)
        case write(path: String, reason: String)
        case rename(reason: String)

        public var description: String {
            switch self {
            case .resolve(let reason): "cannot resolve the file's directory: \(reason)"
            case .create(let path, let reason): "cannot create \(path): \(reason)"
            case .write(let path, let reason): "cannot write \(path): \(reason)"
            case .rename(let reason): "cannot replace the file: \(reason)"
            }
        }
    }

    /// Mode of a file that did not exist before: readable by all, as `/etc` configuration
    /// usually is (it holds no secrets; the PSKs live in the gateways' own files).
    public static let newFileMode: mode_t = 0o644

    public static func write(_ text: String, to path: String) throws(WriteError) {
        let target = try resolved(path)
        var old = stat()
        let existed = stat(target, &old) == 0
        let directory = Self.directory(of: target)
        let base = target.split(separator: "/").last.map(String.init) ?? "config"
        let temporary = "\(directory)/.\(base).slb-\(getpid()).tmp"
        // A temporary file left by a crashed writer with the same pid is ours to replace.
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, existed ? old.st_mode & 0o7777 : newFileMode)
        guard fd >= 0 else { throw .create(path: temporary, reason: Self.errorText()) }
        var failure: WriteError?
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count, failure == nil {
            let n = bytes.withUnsafeBytes { buffer in
                Glibc.write(fd, buffer.baseAddress.map { $0 + offset }, buffer.count - offset)
            }
            if n < 0, errno == EINTR { continue }
            if n <= 0 { failure = .write(path: temporary, reason: Self.errorText()) } else { offset += n }
        }
        if failure == nil, existed {
            // open(2)'s mode is masked by the umask; the old file's mode is restored exactly.
            // Owner: only root may give a file away; a non-root writer keeps its own.
            if fchmod(fd, old.st_mode & 0o7777) != 0 { failure = .write(path: temporary, reason: Self.errorText()) }
            if fchown(fd, old.st_uid, old.st_gid) != 0, errno != EPERM {
                failure = .write(path: temporary, reason: Self.errorText())
            }
        }
        if failure == nil, fsync(fd) != 0 { failure = .write(path: temporary, reason: Self.errorText()) }
        close(fd)
        if failure == nil, rename(temporary, target) != 0 { failure = .rename(reason: Self.errorText()) }
        if let failure {
            unlink(temporary)
            throw failure
        }
        let directoryFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryFD >= 0 {
            _ = fsync(directoryFD)
            close(directoryFD)
        }
    }

    /// The file a path names after following symbolic links; a missing file is fine (its
    /// directory must exist).
    static func resolved(_ path: String) throws(WriteError) -> String {
        if let real = realpath(path, nil) {
            defer { free(real) }
            return String(cString: real)
        }
        let directory = Self.directory(of: path)
        guard let real = realpath(directory, nil) else { throw .resolve(reason: "\(directory): \(errorText())") }
        defer { free(real) }
        let base = path.split(separator: "/").last.map(String.init) ?? path
        let root = String(cString: real)
        return (root == "/" ? "" : root) + "/" + base
    }

    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    static func errorText() -> String { String(cString: strerror(errno)) }
}
