import Foundation
import SLBCore
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// Reads and writes the state file. Writes are atomic: a temporary file in the same
/// directory, fsync, rename(2) over the old one (POSIX rename is atomic within a file
/// system), so a crash mid-write leaves the previous complete file.
public enum StateFile {
    public enum Failure: Error, CustomStringConvertible {
        case read(String, String)
        case write(String, String)
        case format(String, StateFileFormat.DecodeError)

        public var description: String {
            switch self {
            case .read(let path, let why): "\(path): cannot read: \(why)"
            case .write(let path, let why): "\(path): cannot write: \(why)"
            case .format(let path, let error): "\(path): \(error)"
            }
        }
    }

    /// Wall-clock Unix time in nanoseconds (the file's downtime reference).
    public static func wallClock() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(max(0, ts.tv_sec)) &* 1_000_000_000 &+ UInt64(max(0, ts.tv_nsec))
    }

    public static func write(_ state: EngineState, to path: String, writtenAt: UInt64 = wallClock()) throws(Failure) {
        let bytes = StateFileFormat.encode(state, writtenAt: writtenAt)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .write(temporary, String(cString: strerror(errno))) }
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                let why = String(cString: strerror(errno))
                close(fd)
                unlink(temporary)
                throw .write(temporary, why)
            }
            offset += n
        }
        let synced = fsync(fd) == 0
        close(fd)
        guard synced, rename(temporary, path) == 0 else {
            let why = String(cString: strerror(errno))
            unlink(temporary)
            throw .write(path, why)
        }
    }

    /// The state, aged by the time since it was written. A missing file is nil (first start).
    public static func read(_ path: String, now wall: UInt64 = wallClock()) throws(Failure) -> EngineState? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw .read(path, error.localizedDescription)
        }
        do {
            let (state, writtenAt) = try StateFileFormat.decode(Array(data))
            return state.aged(by: TimeSpan(nanoseconds: wall > writtenAt ? wall - writtenAt : 0))
        } catch {
            throw .format(path, error)
        }
    }
}
