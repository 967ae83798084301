/// Builds well-formed frames and datagrams with correct checksums: for tests, the prober,
/// the traffic tool and the gateway's replies. Not the hot path: returns `[UInt8]`.
public enum FrameBuilder {
    /// Ethernet II minimum frame without FCS (IEEE 802.3 §3.2.8: 64 bytes with FCS).
    public static let minimumFrameLength = 60

    /// The L2 part of a frame.
    public struct Link: Hashable, Sendable {
        public var destination: MACAddress
        public var source: MACAddress
        public var vlanID: UInt16?

        public init(destination: MACAddress, source: MACAddress, vlanID: UInt16? = nil) {
            self.destination = destination
            self.source = source
            self.vlanID = vlanID
        }
    }

    /// The IPv4 header fields a builder lets the caller choose.
    public struct IPv4Fields: Hashable, Sendable {
        public var source: IPv4Address
        public var destination: IPv4Address
        public var identification: UInt16
        public var ttl: UInt8
        public var typeOfService: UInt8
        public var dontFragment: Bool
        /// Raw option bytes; padded with End-of-Option-List to a multiple of 4 (RFC 791 §3.1).
        public var options: [UInt8]

        public init(source: IPv4Address, destination: IPv4Address, identification: UInt16 = 0, ttl: UInt8 = 64,
                    typeOfService: UInt8 = 0, dontFragment: Bool = false, options: [UInt8] = []) {
            self.source = source
            self.destination = destination
            self.identification = identification
            self.ttl = ttl
            self.typeOfService = typeOfService
            self.dontFragment = dontFragment
            self.options = options
        }
    }

    public static func ethernet(_ link: Link, etherType: EtherType, payload: [UInt8],
                                padToMinimum: Bool = false) -> [UInt8] {
        var frame: [UInt8] = []
        frame.reserveCapacity(EthernetHeader.length + EthernetHeader.vlanTagLength + payload.count)
        link.destination.append(to: &frame)
        link.source.append(to: &frame)
        if let vlanID = link.vlanID {
            frame.appendWire(EtherType.vlan.rawValue)
            frame.appendWire(vlanID & 0x0FFF)
        }
        frame.appendWire(etherType.rawValue)
        frame += payload
        if padToMinimum, frame.count < minimumFrameLength {
            frame += [UInt8](repeating: 0, count: minimumFrameLength - frame.count)
        }
        return frame
    }

    /// An IPv4 datagram with its header checksum. `fragmentOffset` in bytes (multiple of 8).
    public static func ipv4(_ fields: IPv4Fields, protocol ipProtocol: IPProtocol, payload: [UInt8],
                            moreFragments: Bool = false, fragmentOffset: Int = 0) -> [UInt8] {
        var options = fields.options
        while options.count % 4 != 0 { options.append(0) }
        let headerLength = IPv4Header.minimumLength + options.count
        var datagram: [UInt8] = []
        datagram.reserveCapacity(headerLength + payload.count)
        datagram.append(0x40 | UInt8(truncatingIfNeeded: headerLength / 4))
        datagram.append(fields.typeOfService)
        datagram.appendWire(UInt16(truncatingIfNeeded: headerLength + payload.count))
        datagram.appendWire(fields.identification)
        var flags = UInt16(truncatingIfNeeded: fragmentOffset / IPv4Header.fragmentUnit) & 0x1FFF
        if fields.dontFragment { flags |= 0x4000 }
        if moreFragments { flags |= 0x2000 }
        datagram.appendWire(flags)
        datagram.append(fields.ttl)
        datagram.append(ipProtocol.rawValue)
        datagram.appendWire(UInt16(0))
        datagram.appendWire(fields.source.value)
        datagram.appendWire(fields.destination.value)
        datagram += options
        datagram.setWire(datagram.withUnsafeBytes {
            InternetChecksum.checksum(UnsafeRawBufferPointer(rebasing: $0[0..<headerLength]))
        }, at: IPv4Header.checksumOffset)
        datagram += payload
        return datagram
    }

    /// A UDP datagram (header + payload). With `checksum: false` the field is 0 ("none",
    /// RFC 768), which IKE peers accept over IPv4.
    public static func udp(source: IPv4Address, destination: IPv4Address, sourcePort: UInt16,
                           destinationPort: UInt16, payload: [UInt8], checksum: Bool = true) -> [UInt8] {
        let length = UInt16(truncatingIfNeeded: UDPHeader.length + payload.count)
        var segment: [UInt8] = []
        segment.reserveCapacity(Int(length))
        segment.appendWire(sourcePort)
        segment.appendWire(destinationPort)
        segment.appendWire(length)
        segment.appendWire(UInt16(0))
        segment += payload
        if checksum {
            var sum = InternetChecksum()
            sum.addPseudoHeader(source: source, destination: destination, protocol: .udp, length: length)
            sum.add(segment)
            let value = sum.checksum
            segment.setWire(value == 0 ? 0xFFFF : value, at: UDPHeader.checksumOffset)
        }
        return segment
    }

    /// SPI, sequence number, then opaque bytes (ciphertext, padding, ICV: RFC 4303 §2).
    public static func esp(spi: UInt32, sequence: UInt32, payload: [UInt8]) -> [UInt8] {
        var packet: [UInt8] = []
        packet.reserveCapacity(ESPHeader.length + payload.count)
        packet.appendWire(spi)
        packet.appendWire(sequence)
        return packet + payload
    }

    /// ICMP echo request (type 8) or reply (type 0), RFC 792.
    public static func icmpEcho(request: Bool, identifier: UInt16, sequence: UInt16, payload: [UInt8]) -> [UInt8] {
        var message: [UInt8] = [request ? ICMPMessage.echoRequest : ICMPMessage.echoReply, 0, 0, 0]
        message.appendWire(identifier)
        message.appendWire(sequence)
        message += payload
        message.setWire(InternetChecksum.checksum(message), at: ICMPMessage.checksumOffset)
        return message
    }

    /// An ICMP error quoting the IP header and the first `quotedPayload` bytes of
    /// `datagram` (RFC 792: 8; RFC 1812 §4.3.2.3 allows more).
    public static func icmpError(type: UInt8, code: UInt8, quoting datagram: [UInt8],
                                 quotedPayload: Int = ICMPQuote.quotedPayloadLength) -> [UInt8] {
        let headerLength = datagram.isEmpty ? 0 : Int(datagram[0] & 0x0F) * 4
        let quoteLength = min(datagram.count, headerLength + quotedPayload)
        var message: [UInt8] = [type, code, 0, 0, 0, 0, 0, 0]
        message += datagram[0..<quoteLength]
        message.setWire(InternetChecksum.checksum(message), at: ICMPMessage.checksumOffset)
        return message
    }

    /// Payload of a UDP/4500 datagram carrying IKE: non-ESP marker + message (RFC 3948 §2.2).
    public static func natTraversalIKE(_ ikeMessage: [UInt8]) -> [UInt8] {
        [UInt8](repeating: 0, count: NATTPayload.nonESPMarkerLength) + ikeMessage
    }

    /// The one-octet NAT-keepalive (RFC 3948 §2.3).
    public static let natKeepalive: [UInt8] = [NATTPayload.keepaliveOctet]

    // MARK: whole frames

    public static func udpFrame(_ link: Link, _ ip: IPv4Fields, sourcePort: UInt16, destinationPort: UInt16,
                                payload: [UInt8], checksum: Bool = true, padToMinimum: Bool = false) -> [UInt8] {
        let segment = udp(source: ip.source, destination: ip.destination, sourcePort: sourcePort,
                          destinationPort: destinationPort, payload: payload, checksum: checksum)
        return ethernet(link, etherType: .ipv4, payload: ipv4(ip, protocol: .udp, payload: segment),
                        padToMinimum: padToMinimum)
    }

    public static func espFrame(_ link: Link, _ ip: IPv4Fields, spi: UInt32, sequence: UInt32,
                                payload: [UInt8], padToMinimum: Bool = false) -> [UInt8] {
        ethernet(link, etherType: .ipv4,
                 payload: ipv4(ip, protocol: .esp, payload: esp(spi: spi, sequence: sequence, payload: payload)),
                 padToMinimum: padToMinimum)
    }

    public static func icmpEchoFrame(_ link: Link, _ ip: IPv4Fields, request: Bool, identifier: UInt16,
                                     sequence: UInt16, payload: [UInt8], padToMinimum: Bool = false) -> [UInt8] {
        let message = icmpEcho(request: request, identifier: identifier, sequence: sequence, payload: payload)
        return ethernet(link, etherType: .ipv4, payload: ipv4(ip, protocol: .icmp, payload: message),
                        padToMinimum: padToMinimum)
    }

    /// A request goes to the broadcast MAC, a reply to the requester (RFC 826).
    public static func arpFrame(_ arp: ARPPacket, vlanID: UInt16? = nil) -> [UInt8] {
        let destination = arp.operation == .request ? MACAddress.broadcast : arp.targetMAC
        return ethernet(Link(destination: destination, source: arp.senderMAC, vlanID: vlanID),
                        etherType: .arp, payload: arp.bytes, padToMinimum: true)
    }

    /// "Who has `target`? Tell `senderIP`" (RFC 826; target MAC zero as RFC 5227 §2.1.1 says).
    public static func arpRequest(senderMAC: MACAddress, senderIP: IPv4Address, target: IPv4Address) -> [UInt8] {
        arpFrame(ARPPacket(operation: .request, senderMAC: senderMAC, senderIP: senderIP,
                           targetMAC: .zero, targetIP: target))
    }
}
