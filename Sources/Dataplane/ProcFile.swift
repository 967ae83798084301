#if canImport(Glibc)
import Glibc
#endif

/// Reads a whole /proc file. procfs reports size 0 and a seq_file hands out about a page per
/// read(2); Foundation's `String(contentsOfFile:)` stops after the first chunk (measured here:
/// 4 031 of the 15 507 bytes of an slb namespace's /proc/net/arp with 200 client neighbours), so
/// a real whose ARP line came later looked unresolved and its frames were dropped
/// (`no-neighbour`). Called once a second, off the packet path.
public enum ProcFile {
    static let chunkSize = 16_384

    public static func read(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                return nil
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
