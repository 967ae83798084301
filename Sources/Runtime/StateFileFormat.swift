import SLBConfig
import SLBCore
import SLBWire

/// The state file: the connection and sticky tables (`EngineState`) in a compact binary form.
///
/// ```
/// header (32 octets, big-endian):
///   magic "VSLBSTAT" (8) | version u16 | flags u16 (0) | written-at u64 (Unix ns, wall clock)
///   payload-length u64 | payload CRC-32 (IEEE 802.3) u32
/// payload:
///   reals       u32 n, n × { farm str | address u32 | has-port u8 | port u16 }
///   vservers    u32 n, n × { name str | address u32 | mask u32 | service u8 (0 udp any, 1 udp port, 2 esp) | port u16 }
///   sticky      u32 n, n × { domain u8 (0 group, 1 vserver) | group u8 / name str | client u32 | mask u32
///                            | real u32 | has-expiry u8 | expires-in u64 ns }
///   connections u32 n, n × { vserver u32 | protocol u8 | client u32 | client-port u16 | vip u32 | vip-port u16
///                            | real u32 | sticky u32 (0xFFFFFFFF none) | flags u8 (1 established, 2 via sticky)
///                            | age u64 ns | idle u64 ns | packets u64 }
///   str = u16 length | UTF-8
/// ```
/// Times are relative to `written-at`, so a restart (even after a reboot, when the monotonic
/// clock restarts) ages every entry by the downtime. Decoding never traps: every read is
/// bounds-checked and every count is checked against the bytes left before allocating.
public enum StateFileFormat {
    public static let magic: [UInt8] = Array("VSLBSTAT".utf8)
    public static let version: UInt16 = 1
    static let headerLength = 32
    /// Smallest encodings, to bound counts by the bytes left (no huge allocation on a lie).
    static let minimumReal = 2 + 4 + 1 + 2
    static let minimumVServer = 2 + 4 + 4 + 1 + 2
    static let minimumSticky = 1 + 1 + 4 + 4 + 4 + 1 + 8
    static let connectionLength = 4 + 1 + 4 + 2 + 4 + 2 + 4 + 4 + 1 + 8 + 8 + 8

    public enum DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
        case notAStateFile
        case unsupportedVersion(UInt16)
        case truncated(at: Int)
        case checksumMismatch
        case invalid(String)

        public var description: String {
            switch self {
            case .notAStateFile: "not a VPNSLB state file (bad magic)"
            case .unsupportedVersion(let v): "unsupported state file version \(v) (this build reads \(StateFileFormat.version))"
            case .truncated(let offset): "truncated at offset \(offset)"
            case .checksumMismatch: "payload checksum mismatch (corrupt file)"
            case .invalid(let what): "invalid \(what)"
            }
        }
    }

    public static func encode(_ state: EngineState, writtenAt: UInt64) -> [UInt8] {
        var payload = ByteWriter()
        payload.bytes.reserveCapacity(64 + state.connections.count * connectionLength + state.sticky.count * 32
                                      + (state.reals.count + state.vservers.count) * 48)
        payload.u32(UInt32(state.reals.count))
        for real in state.reals {
            payload.string(real.farm)
            payload.u32(real.address.value)
            payload.u8(real.port == nil ? 0 : 1)
            payload.u16(real.port ?? 0)
        }
        payload.u32(UInt32(state.vservers.count))
        for vserver in state.vservers {
            payload.string(vserver.name)
            payload.u32(vserver.address.value)
            payload.u32(vserver.mask.value)
            switch vserver.service {
            case .udp(nil): payload.u8(0); payload.u16(0)
            case .udp(.some(let port)): payload.u8(1); payload.u16(port)
            case .esp: payload.u8(2); payload.u16(0)
            }
        }
        payload.u32(UInt32(state.sticky.count))
        for record in state.sticky {
            switch record.domain {
            case .group(let group): payload.u8(0); payload.u8(group)
            case .vserver(let name): payload.u8(1); payload.string(name)
            }
            payload.u32(record.client.value)
            payload.u32(record.netmask.value)
            payload.u32(UInt32(truncatingIfNeeded: record.real))
            payload.u8(record.expiresIn == nil ? 0 : 1)
            payload.u64(record.expiresIn?.nanoseconds ?? 0)
        }
        payload.u32(UInt32(state.connections.count))
        for record in state.connections {
            payload.u32(UInt32(truncatingIfNeeded: record.vserver))
            payload.u8(record.ipProtocol.rawValue)
            payload.u32(record.client.value)
            payload.u16(record.clientPort)
            payload.u32(record.vip.value)
            payload.u16(record.vipPort)
            payload.u32(UInt32(truncatingIfNeeded: record.real))
            payload.u32(record.sticky.map { UInt32(truncatingIfNeeded: $0) } ?? UInt32.max)
            payload.u8((record.established ? 1 : 0) | (record.viaSticky ? 2 : 0))
            payload.u64(record.age.nanoseconds)
            payload.u64(record.idle.nanoseconds)
            payload.u64(record.packets)
        }
        var out = ByteWriter()
        out.bytes += magic
        out.u16(version)
        out.u16(0)
        out.u64(writtenAt)
        out.u64(UInt64(payload.bytes.count))
        out.u32(CRC32.checksum(payload.bytes))
        out.bytes += payload.bytes
        return out.bytes
    }

    public static func decode(_ bytes: [UInt8]) throws(DecodeError) -> (state: EngineState, writtenAt: UInt64) {
        guard bytes.count >= magic.count, bytes.prefix(magic.count).elementsEqual(magic) else { throw .notAStateFile }
        var header = ByteReader(bytes)
        header.offset = magic.count
        let fileVersion = try header.u16()
        guard fileVersion == version else { throw .unsupportedVersion(fileVersion) }
        _ = try header.u16()
        let writtenAt = try header.u64()
        let length = try header.u64()
        let crc = try header.u32()
        guard UInt64(bytes.count - headerLength) == length else { throw .truncated(at: bytes.count) }
        let payload = Array(bytes[headerLength...])
        guard CRC32.checksum(payload) == crc else { throw .checksumMismatch }

        var reader = ByteReader(payload)
        var state = EngineState()
        for _ in 0..<(try reader.count(minimumEach: minimumReal)) {
            let farm = try reader.string()
            let address = IPv4Address(try reader.u32())
            let hasPort = try reader.u8()
            let port = try reader.u16()
            state.reals.append(RealIdentity(farm: farm, address: address, port: hasPort == 0 ? nil : port))
        }
        for _ in 0..<(try reader.count(minimumEach: minimumVServer)) {
            let name = try reader.string()
            let address = IPv4Address(try reader.u32())
            guard let mask = IPv4Mask(try reader.u32()) else { throw .invalid("vserver mask") }
            let kind = try reader.u8()
            let port = try reader.u16()
            let service: VirtualService
            switch kind {
            case 0: service = .udp(port: nil)
            case 1: service = .udp(port: port)
            case 2: service = .esp
            default: throw .invalid("vserver service \(kind)")
            }
            state.vservers.append(VServerIdentity(name: name, address: address, mask: mask, service: service))
        }
        for _ in 0..<(try reader.count(minimumEach: minimumSticky)) {
            let domain: StickyDomainIdentity
            switch try reader.u8() {
            case 0: domain = .group(try reader.u8())
            case 1: domain = .vserver(try reader.string())
            default: throw .invalid("sticky domain")
            }
            let client = IPv4Address(try reader.u32())
            guard let mask = IPv4Mask(try reader.u32()) else { throw .invalid("sticky netmask") }
            let real = Int(try reader.u32())
            let hasExpiry = try reader.u8()
            let expiresIn = try reader.u64()
            state.sticky.append(StickyRecord(domain: domain, client: client, netmask: mask, real: real,
                                             expiresIn: hasExpiry == 0 ? nil : TimeSpan(nanoseconds: expiresIn)))
        }
        for _ in 0..<(try reader.count(minimumEach: connectionLength)) {
            let vserver = Int(try reader.u32())
            let ipProtocol = IPProtocol(rawValue: try reader.u8())
            let client = IPv4Address(try reader.u32())
            let clientPort = try reader.u16()
            let vip = IPv4Address(try reader.u32())
            let vipPort = try reader.u16()
            let real = Int(try reader.u32())
            let sticky = try reader.u32()
            let flags = try reader.u8()
            let age = TimeSpan(nanoseconds: try reader.u64())
            let idle = TimeSpan(nanoseconds: try reader.u64())
            let packets = try reader.u64()
            state.connections.append(ConnectionRecord(
                vserver: vserver, ipProtocol: ipProtocol, client: client, clientPort: clientPort, vip: vip,
                vipPort: vipPort, real: real, sticky: sticky == UInt32.max ? nil : Int(sticky),
                established: flags & 1 != 0, viaSticky: flags & 2 != 0, age: age, idle: idle, packets: packets))
        }
        guard reader.offset == payload.count else { throw .invalid("trailing bytes after the connection table") }
        return (state, writtenAt)
    }
}

extension EngineState {
    /// The same tables `downtime` later: idle times and ages grow, sticky timers run down
    /// (an object whose timer ran out is dropped).
    public func aged(by downtime: TimeSpan) -> EngineState {
        var state = self
        for i in state.connections.indices {
            state.connections[i].age = state.connections[i].age + downtime
            state.connections[i].idle = state.connections[i].idle + downtime
        }
        for i in state.sticky.indices {
            if let left = state.sticky[i].expiresIn {
                state.sticky[i].expiresIn = TimeSpan(nanoseconds: left.nanoseconds > downtime.nanoseconds
                                                        ? left.nanoseconds - downtime.nanoseconds : 0)
            }
        }
        return state
    }
}

struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { integer(UInt64(v), 2) }
    mutating func u32(_ v: UInt32) { integer(UInt64(v), 4) }
    mutating func u64(_ v: UInt64) { integer(v, 8) }
    private mutating func integer(_ v: UInt64, _ width: Int) {
        var shift = (width - 1) * 8
        while shift >= 0 {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(shift)))
            shift -= 8
        }
    }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8.prefix(Int(UInt16.max)))
        u16(UInt16(utf8.count))
        bytes += utf8
    }
}

struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }

    private mutating func take(_ n: Int) throws(StateFileFormat.DecodeError) -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - offset >= n else { throw .truncated(at: offset) }
        defer { offset += n }
        return bytes[offset..<(offset + n)]
    }
    /// Big-endian, `width` octets; index arithmetic rather than slices keeps debug builds fast.
    private mutating func integer(_ width: Int) throws(StateFileFormat.DecodeError) -> UInt64 {
        guard bytes.count - offset >= width else { throw .truncated(at: offset) }
        var value: UInt64 = 0
        var i = offset
        while i < offset + width {
            value = value << 8 | UInt64(bytes[i])
            i += 1
        }
        offset += width
        return value
    }
    mutating func u8() throws(StateFileFormat.DecodeError) -> UInt8 { UInt8(try integer(1)) }
    mutating func u16() throws(StateFileFormat.DecodeError) -> UInt16 { UInt16(try integer(2)) }
    mutating func u32() throws(StateFileFormat.DecodeError) -> UInt32 { UInt32(try integer(4)) }
    mutating func u64() throws(StateFileFormat.DecodeError) -> UInt64 { try integer(8) }
    mutating func string() throws(StateFileFormat.DecodeError) -> String {
        let length = Int(try u16())
        guard let text = String(validating: try take(length), as: UTF8.self) else { throw .invalid("UTF-8 string") }
        return text
    }
    /// A record count, refused when the bytes left cannot hold that many records.
    mutating func count(minimumEach: Int) throws(StateFileFormat.DecodeError) -> Int {
        let n = Int(try u32())
        guard n <= (bytes.count - offset) / max(1, minimumEach) else { throw .truncated(at: offset) }
        return n
    }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zlib computes it.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
