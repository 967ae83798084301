/// Bounds-checked big-endian reader over a byte slice. Every read throws `.truncated`
/// instead of trapping, so parsers built on it never crash on short input.
struct WireReader {
    private(set) var rest: ArraySlice<UInt8>

    init(_ bytes: ArraySlice<UInt8>) { rest = bytes }
    init(_ bytes: [UInt8]) { rest = bytes[...] }

    var isEmpty: Bool { rest.isEmpty }
    var count: Int { rest.count }

    mutating func u8(_ what: @autoclosure () -> String = "") throws -> UInt8 {
        guard let b = rest.first else { throw IKEError(.truncated, what()) }
        rest = rest.dropFirst()
        return b
    }

    mutating func u16(_ what: @autoclosure () -> String = "") throws -> UInt16 {
        let b = try bytes(2, what())
        return UInt16(b[b.startIndex]) << 8 | UInt16(b[b.startIndex + 1])
    }

    mutating func u32(_ what: @autoclosure () -> String = "") throws -> UInt32 {
        let b = try bytes(4, what())
        return b.reduce(0) { $0 << 8 | UInt32($1) }
    }

    mutating func u64(_ what: @autoclosure () -> String = "") throws -> UInt64 {
        let b = try bytes(8, what())
        return b.reduce(0) { $0 << 8 | UInt64($1) }
    }

    mutating func bytes(_ n: Int, _ what: @autoclosure () -> String = "") throws -> ArraySlice<UInt8> {
        guard n >= 0, n <= rest.count else {
            throw IKEError(.truncated, "\(what()) needs \(n) octets, \(rest.count) left")
        }
        let out = rest.prefix(n)
        rest = rest.dropFirst(n)
        return out
    }

    mutating func array(_ n: Int, _ what: @autoclosure () -> String = "") throws -> [UInt8] {
        Array(try bytes(n, what()))
    }

    mutating func remainder() -> [UInt8] {
        defer { rest = rest.suffix(0) }
        return Array(rest)
    }
}

extension Array where Element == UInt8 {
    mutating func appendU16(_ v: UInt16) { append(UInt8(v >> 8)); append(UInt8(truncatingIfNeeded: v)) }
    mutating func appendU32(_ v: UInt32) { for s in stride(from: 24, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: v >> UInt32(s))) } }
    mutating func appendU64(_ v: UInt64) { for s in stride(from: 56, through: 0, by: -8) { append(UInt8(truncatingIfNeeded: v >> UInt64(s))) } }

    /// Overwrites a big-endian 16-bit field in place (length fields filled in after the body).
    mutating func setU16(_ v: UInt16, at i: Int) { self[i] = UInt8(v >> 8); self[i + 1] = UInt8(truncatingIfNeeded: v) }
    mutating func setU32(_ v: UInt32, at i: Int) {
        for k in 0..<4 { self[i + k] = UInt8(truncatingIfNeeded: v >> UInt32(24 - 8 * k)) }
    }
}

extension UInt64 {
    var bigEndianBytes: [UInt8] { var a: [UInt8] = []; a.appendU64(self); return a }
}
extension UInt32 {
    var bigEndianBytes: [UInt8] { var a: [UInt8] = []; a.appendU32(self); return a }
    init?(bigEndianBytes b: [UInt8]) {
        guard b.count == 4 else { return nil }
        self = b.reduce(0) { $0 << 8 | UInt32($1) }
    }
}
