/// Splits an IPv4 datagram into fragments for a given MTU (RFC 791 §3.2 "An Example
/// Fragmentation Procedure"). Used to build the large ISAKMP/IKE datagrams (certificates,
/// 3000-byte messages) that reach the SLB fragmented.
public enum IPv4Fragmenter {
    public enum Failure: Error, Hashable, Sendable {
        /// The input is not a valid datagram.
        case malformed(PacketDropReason)
        /// DF is set and the datagram is larger than the MTU (RFC 791: discard, and a router
        /// would answer ICMP "fragmentation needed").
        case dontFragment
        /// The MTU cannot carry the header plus 8 bytes of data (RFC 791 §3.2; every IPv4
        /// link carries at least 68, RFC 791 §3.1).
        case mtuTooSmall
        /// An option's length runs past the header.
        case badOptions
    }

    /// Returns the datagram itself when it fits. Later fragments copy only the options whose
    /// copied flag is set (RFC 791 §3.1 "Options"), padded to a 4-byte boundary. An input
    /// that is itself a fragment is re-fragmented with offsets and MF preserved.
    public static func fragment(_ datagram: [UInt8], mtu: Int) -> Result<[[UInt8]], Failure> {
        let parsed = datagram.withUnsafeBytes { IPv4Header.parse($0, at: 0) }
        let header: IPv4Header
        switch parsed {
        case .success(let value): header = value
        case .failure(let reason): return .failure(.malformed(reason))
        }
        let data = Array(datagram[header.headerLength..<header.totalLength])
        if header.totalLength <= mtu { return .success([Array(datagram[0..<header.totalLength])]) }
        if header.dontFragment { return .failure(.dontFragment) }

        let allOptions = Array(datagram[IPv4Header.minimumLength..<header.headerLength])
        guard let copiedOptions = copiedOptions(allOptions) else { return .failure(.badOptions) }
        var fields = FrameBuilder.IPv4Fields(source: header.source, destination: header.destination,
                                             identification: header.identification, ttl: header.ttl,
                                             typeOfService: header.typeOfService)
        var fragments: [[UInt8]] = []
        var position = 0
        while position < data.count {
            fields.options = position == 0 ? allOptions : copiedOptions
            let headerLength = IPv4Header.minimumLength + (fields.options.count + 3) / 4 * 4
            let room = (mtu - headerLength) / IPv4Header.fragmentUnit * IPv4Header.fragmentUnit
            guard room >= IPv4Header.fragmentUnit else { return .failure(.mtuTooSmall) }
            let end = min(data.count, position + room)
            let last = end == data.count
            fragments.append(FrameBuilder.ipv4(fields, protocol: header.ipProtocol, payload: Array(data[position..<end]),
                                               moreFragments: !last || header.moreFragments,
                                               fragmentOffset: header.fragmentOffset + position))
            position = end
        }
        return .success(fragments)
    }

    /// The options a later fragment repeats: those with the copied flag (0x80) in their type.
    /// EOL ends the list; NOP is one byte; every other option has a length byte ≥ 2.
    static func copiedOptions(_ options: [UInt8]) -> [UInt8]? {
        var copied: [UInt8] = []
        var index = 0
        while index < options.count {
            let type = options[index]
            if type == 0 { break }
            if type == 1 { index += 1; continue }
            guard index + 1 < options.count else { return nil }
            let length = Int(options[index + 1])
            guard length >= 2, index + length <= options.count else { return nil }
            if type & 0x80 != 0 { copied += options[index..<(index + length)] }
            index += length
        }
        return copied
    }
}
