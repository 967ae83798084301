/// An Ethernet/IPv4 ARP message (RFC 826), for neighbour resolution of the reals and the
/// next hop.
public struct ARPPacket: Hashable, Sendable {
    /// htype(2) ptype(2) hlen(1) plen(1) oper(2) sha(6) spa(4) tha(6) tpa(4).
    public static let length = 28
    /// RFC 826 / IANA ARP parameters: hardware type Ethernet.
    public static let ethernetHardwareType: UInt16 = 1

    public enum Operation: UInt16, Hashable, Sendable {
        case request = 1
        case reply = 2
    }

    public var operation: Operation
    public var senderMAC: MACAddress
    public var senderIP: IPv4Address
    public var targetMAC: MACAddress
    public var targetIP: IPv4Address

    public init(operation: Operation, senderMAC: MACAddress, senderIP: IPv4Address,
                targetMAC: MACAddress, targetIP: IPv4Address) {
        self.operation = operation
        self.senderMAC = senderMAC
        self.senderIP = senderIP
        self.targetMAC = targetMAC
        self.targetIP = targetIP
    }

    @inlinable
    public static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Result<ARPPacket, PacketDropReason> {
        guard offset >= 0, bytes.count - offset >= length else { return .failure(.truncatedARP) }
        guard bytes.wireUInt16(at: offset) == ethernetHardwareType,
              bytes.wireUInt16(at: offset + 2) == EtherType.ipv4.rawValue,
              bytes[offset + 4] == 6, bytes[offset + 5] == 4,
              let operation = Operation(rawValue: bytes.wireUInt16(at: offset + 6)) else {
            return .failure(.unsupportedARP)
        }
        return .success(ARPPacket(operation: operation,
                                  senderMAC: MACAddress.read(bytes, at: offset + 8),
                                  senderIP: IPv4Address(bytes.wireUInt32(at: offset + 14)),
                                  targetMAC: MACAddress.read(bytes, at: offset + 18),
                                  targetIP: IPv4Address(bytes.wireUInt32(at: offset + 24))))
    }

    /// The 28-byte body (without the Ethernet header).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(ARPPacket.length)
        out.appendWire(ARPPacket.ethernetHardwareType)
        out.appendWire(EtherType.ipv4.rawValue)
        out.append(6)
        out.append(4)
        out.appendWire(operation.rawValue)
        senderMAC.append(to: &out)
        out.appendWire(senderIP.value)
        targetMAC.append(to: &out)
        out.appendWire(targetIP.value)
        return out
    }

    /// The answer to this request from the owner of `targetIP` (RFC 826 "Packet Reception").
    public func reply(from mac: MACAddress) -> ARPPacket {
        ARPPacket(operation: .reply, senderMAC: mac, senderIP: targetIP, targetMAC: senderMAC, targetIP: senderIP)
    }
}
