/// The control protocol's framing, shared by server and client: one request and one response
/// per connection, each `length (4 octets, big-endian) | status (1 octet) | body`. Requests
/// carry status 0. Pure functions so the framing is unit-tested without sockets.
public enum ControlFrame {
    /// Requests and snapshots are small; a bigger frame is a broken or hostile peer.
    public static let maximumBodyLength = 16 << 20
    static let headerLength = 5

    public enum Status: UInt8, Sendable {
        case ok = 0
        /// The peer is not root (SO_PEERCRED uid ≠ 0).
        case refused = 1
        /// The handler did not understand the request.
        case badRequest = 2
    }

    public static func encode(_ status: Status, _ body: [UInt8]) -> [UInt8] {
        let length = UInt32(truncatingIfNeeded: body.count + 1)
        var out: [UInt8] = [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF),
                            status.rawValue]
        out.append(contentsOf: body)
        return out
    }

    /// The frame's total length once its 4-octet length prefix has arrived; nil = invalid.
    public static func totalLength(prefix: ArraySlice<UInt8>) -> Int? {
        guard prefix.count >= 4 else { return nil }
        let i = prefix.startIndex
        let length = Int(prefix[i]) << 24 | Int(prefix[i + 1]) << 16 | Int(prefix[i + 2]) << 8 | Int(prefix[i + 3])
        guard length >= 1, length - 1 <= maximumBodyLength else { return nil }
        return 4 + length
    }

    /// Splits a complete frame; nil when it is not one.
    public static func decode(_ frame: [UInt8]) -> (status: Status, body: [UInt8])? {
        guard let total = totalLength(prefix: frame[...]), total == frame.count,
              let status = Status(rawValue: frame[4]) else { return nil }
        return (status, Array(frame[headerLength...]))
    }
}
