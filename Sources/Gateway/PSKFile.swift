#if canImport(Glibc)
import Glibc
#endif
import IKE
import SLBWire

/// Pre-shared keys for IKE (RFC 7296 §2.15), read from a file only root may read.
///
/// Format, one key per line; `#` starts a comment; blank lines are ignored:
/// ```
/// # peer identity        secret
/// *                      "lab-psk-0123456789"     default for every other peer
/// 192.0.2.10             other-secret             ID_IPV4_ADDR (strongSwan's default IDi)
/// client1.example        0x6b65792d6279746573      ID_FQDN; 0x… is hex
/// alice@example.com      alice-secret             ID_RFC822_ADDR (contains '@')
/// 198.51.100.0/24        branch-secret            IKEv1: peers whose address is in the prefix
/// ```
/// IKEv1 main mode picks the key by the peer's address (RFC 2409 §5.4): longest prefix over
/// the `A.B.C.D/N` lines, the dotted-quad lines (as /32) and `*` (see `ikev1Keys`).
/// The first field is matched against the IDi the peer sends (the gateway's responder
/// looks keys up by identity, not by source address, because the SLB may translate it).
/// The secret is the rest of the line: double-quoted (quotes removed), `0x` + hex, or bare.
public struct PSKTable: Equatable, Sendable {
    public var byIdentity: [IdentificationPayload: [UInt8]] = [:]
    public var defaultKey: [UInt8]?
    /// `A.B.C.D/N` lines: IKEv1 keys by peer address prefix (IKEv2 matches identities only).
    public var addressPrefixes = PreSharedKeyTable()
    public init() {}

    /// The key for a peer identity, else the default.
    public func key(for identity: IdentificationPayload) -> [UInt8]? { byIdentity[identity] ?? defaultKey }
}

public struct PSKFileError: Error, Equatable, CustomStringConvertible, Sendable {
    public var path: String
    public var line: Int?
    public var message: String
    public var description: String {
        line.map { "\(path):\($0): \(message)" } ?? "\(path): \(message)"
    }
}

public enum PSKFile {
    /// RFC 7296 §2.15 sets no limit; this bounds what a mistaken file can make us hold.
    public static let maximumFileSize = 1 << 20

    /// Reads and parses `path` after checking it is a regular file owned by root with no
    /// group or other permissions (a readable PSK lets anyone impersonate the gateway).
    public static func load(_ path: String) throws(PSKFileError) -> PSKTable {
        try parse(String(decoding: readProtected(path), as: UTF8.self), path: path)
    }

    /// Reads a secret file after checking it is a regular file owned by root with no group or
    /// other permissions (a readable PSK or cookie secret lets others impersonate or flood).
    public static func readProtected(_ path: String) throws(PSKFileError) -> [UInt8] {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw PSKFileError(path: path, message: "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else { throw PSKFileError(path: path, message: "not a regular file") }
        guard st.st_uid == 0 else { throw PSKFileError(path: path, message: "must be owned by root (owner uid \(st.st_uid))") }
        guard st.st_mode & 0o077 == 0 else {
            throw PSKFileError(path: path, message: "must not be readable or writable by group or others (mode \(String(st.st_mode & 0o777, radix: 8)); chmod 600)")
        }
        guard st.st_size <= maximumFileSize else { throw PSKFileError(path: path, message: "larger than \(maximumFileSize) octets") }
        guard let f = fopen(path, "r") else {
            throw PSKFileError(path: path, message: "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, f) }
            if n == 0 { break }
            bytes += chunk[0..<n]
            guard bytes.count <= maximumFileSize else { throw PSKFileError(path: path, message: "larger than \(maximumFileSize) octets") }
        }
        return bytes
    }

    /// A farm-wide COOKIE secret (RFC 7296 §2.6; spec ike.md §0.5): every gateway of a farm
    /// reads the same file, so a cookie one of them made is accepted by any. The file holds
    /// at least `minimumCookieSecretLength` octets (surrounding whitespace is ignored).
    public static func loadCookieSecret(_ path: String) throws(PSKFileError) -> [UInt8] {
        var bytes = try readProtected(path)[...]
        while let f = bytes.first, f == 0x20 || f == 0x0A || f == 0x0D || f == 0x09 { bytes = bytes.dropFirst() }
        while let l = bytes.last, l == 0x20 || l == 0x0A || l == 0x0D || l == 0x09 { bytes = bytes.dropLast() }
        guard bytes.count >= minimumCookieSecretLength else {
            throw PSKFileError(path: path, message: "cookie secret shorter than \(minimumCookieSecretLength) octets")
        }
        return Array(bytes)
    }

    /// 128 bits: the HMAC-SHA-256 key must not be guessable.
    public static let minimumCookieSecretLength = 16

    public static func parse(_ text: String, path: String = "<psk>") throws(PSKFileError) -> PSKTable {
        var table = PSKTable()
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let lineNumber = index + 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            let trimmed = line.drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let split = trimmed.firstIndex(where: { $0 == " " || $0 == "\t" }) else {
                throw PSKFileError(path: path, line: lineNumber, message: "expected 'identity secret'")
            }
            let selector = String(trimmed[..<split])
            let secretText = trimmed[split...].drop(while: { $0 == " " || $0 == "\t" })
            let secret = try parseSecret(secretText, path: path, line: lineNumber)
            guard !secret.isEmpty else { throw PSKFileError(path: path, line: lineNumber, message: "empty secret") }
            if selector == "*" {
                guard table.defaultKey == nil else { throw PSKFileError(path: path, line: lineNumber, message: "second '*' line") }
                table.defaultKey = secret
                continue
            }
            if selector.contains("/") {
                guard let network = addressPrefix(selector) else {
                    throw PSKFileError(path: path, line: lineNumber, message: "expected A.B.C.D/N, got \(selector)")
                }
                guard !table.addressPrefixes.entries.contains(where: { $0.network == network }) else {
                    throw PSKFileError(path: path, line: lineNumber, message: "duplicate prefix \(selector)")
                }
                table.addressPrefixes.add(secret, for: network)
                continue
            }
            let identity = identity(selector)
            guard table.byIdentity[identity] == nil else {
                throw PSKFileError(path: path, line: lineNumber, message: "duplicate identity \(selector)")
            }
            table.byIdentity[identity] = secret
        }
        return table
    }

    /// The IKE identity a selector names: a dotted quad is ID_IPV4_ADDR, a name with '@' is
    /// ID_RFC822_ADDR, anything else ID_FQDN (RFC 7296 §3.5).
    public static func identity(_ selector: String) -> IdentificationPayload {
        if let a = IPv4Address(selector) { return .ipv4(a.wireBytes) }
        if selector.contains("@") { return IdentificationPayload(type: .rfc822Address, data: Array(selector.utf8)) }
        return .fqdn(selector)
    }

    /// `A.B.C.D/N` with 0 ≤ N ≤ 32; host bits are cleared (IOS does the same with a mask).
    public static func addressPrefix(_ text: String) -> IPv4Network? {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let a = IPv4Address(parts[0]), parts[1].count <= 2, let n = Int(parts[1]),
              let mask = IPv4Mask(prefixLength: n) else { return nil }
        return IPv4Network(address: IPv4Address(a.value & mask.value), mask: mask)
    }

    private static func parseSecret(_ s: Substring, path: String, line: Int) throws(PSKFileError) -> [UInt8] {
        var text = s
        while let last = text.last, last == " " || last == "\t" { text = text.dropLast() }
        if text.hasPrefix("\"") {
            guard text.count >= 2, text.hasSuffix("\"") else {
                throw PSKFileError(path: path, line: line, message: "unterminated quoted secret")
            }
            return Array(text.dropFirst().dropLast().utf8)
        }
        if text.hasPrefix("0x") || text.hasPrefix("0X") {
            let hex = Array(text.dropFirst(2).utf8)
            guard hex.count % 2 == 0 else { throw PSKFileError(path: path, line: line, message: "odd number of hex digits") }
            var out: [UInt8] = []
            var i = 0
            while i < hex.count {
                guard let hi = hexValue(hex[i]), let lo = hexValue(hex[i + 1]) else {
                    throw PSKFileError(path: path, line: line, message: "bad hex digit in secret")
                }
                out.append(hi << 4 | lo)
                i += 2
            }
            return out
        }
        guard !text.contains(where: { $0 == " " || $0 == "\t" }) else {
            throw PSKFileError(path: path, line: line, message: "secret with spaces must be quoted")
        }
        return Array(text.utf8)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
