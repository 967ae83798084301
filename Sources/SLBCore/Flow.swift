import SLBWire

/// What the engine needs to know about one client → VIP packet: the header fields, already
/// parsed by the dataplane. ESP has no ports; the dataplane passes 0 for both.
public struct Flow: Hashable, Sendable {
    public var ipProtocol: IPProtocol
    public var client: IPv4Address
    public var clientPort: UInt16
    public var vip: IPv4Address
    public var vipPort: UInt16

    @inlinable public init(ipProtocol: IPProtocol, client: IPv4Address, clientPort: UInt16,
                           vip: IPv4Address, vipPort: UInt16) {
        self.ipProtocol = ipProtocol
        self.client = client
        self.clientPort = clientPort
        self.vip = vip
        self.vipPort = vipPort
    }

    @inlinable public static func udp(_ client: IPv4Address, _ clientPort: UInt16,
                                      to vip: IPv4Address, _ vipPort: UInt16) -> Flow {
        Flow(ipProtocol: .udp, client: client, clientPort: clientPort, vip: vip, vipPort: vipPort)
    }

    @inlinable public static func esp(_ client: IPv4Address, to vip: IPv4Address) -> Flow {
        Flow(ipProtocol: .esp, client: client, clientPort: 0, vip: vip, vipPort: 0)
    }
}
