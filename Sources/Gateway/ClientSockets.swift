import SLBWire

/// The three sockets one client tunnel uses from its own source address: UDP 500 (IKE),
/// UDP 4500 (NAT-T, RFC 3948: IKE behind the non-ESP marker, or ESP in UDP) and raw ESP
/// (IP protocol 50). Shared by the IKEv2, held (DPD) and IKEv1 client runners.
struct ClientSockets {
    enum Role: CaseIterable { case ike500, ike4500, esp }

    let ike500: DatagramSocket
    let ike4500: DatagramSocket
    let esp: DatagramSocket

    /// Opens all three or none: a failure closes what was already open.
    init(source: IPv4Address) throws {
        ike500 = try DatagramSocket.udp(source, port: 500)
        do { ike4500 = try DatagramSocket.udp(source, port: 4500) } catch { ike500.close(); throw error }
        do { esp = try DatagramSocket.rawESP(source) } catch { ike500.close(); ike4500.close(); throw error }
    }

    func socket(_ role: Role) -> DatagramSocket {
        switch role {
        case .ike500: ike500
        case .ike4500: ike4500
        case .esp: esp
        }
    }

    func close() {
        ike500.close()
        ike4500.close()
        esp.close()
    }
}
