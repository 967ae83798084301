#if canImport(Glibc)
import Glibc
#endif
import ESP
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

/// What a client tunnel's socket delivered, once the role's framing is undone: an IKE message
/// (UDP 500 as is; UDP 4500 behind the non-ESP marker, RFC 3948 §2.2) with the local port it
/// reached, or an ESP packet (ESP-in-UDP as is; raw ESP without its IPv4 header). Keepalives
/// and malformed datagrams are nil. Shared by the three client runners' receive paths.
enum ClientDatagram {
    case ike([UInt8], localPort: UInt16)
    case esp([UInt8])

    init?(role: ClientSockets.Role, buffer: [UInt8], count: Int) {
        switch role {
        case .ike500:
            self = .ike(Array(buffer[0..<count]), localPort: 500)
        case .ike4500:
            let payload = Array(buffer[0..<count])
            switch classifyNATTDatagram(payload) {
            case .ike(let message): self = .ike(Array(message), localPort: 4500)
            case .esp: self = .esp(payload)
            case .keepalive, .invalid: return nil
            }
        case .esp:
            guard let (_, payload) = ipv4Payload(buffer, count: count) else { return nil }
            self = .esp(Array(payload))
        }
    }
}

/// One poll set over every tunnel's three sockets, and which (tunnel, role) each entry is.
struct ClientPollSet {
    var descriptors: [pollfd] = []
    private(set) var owner: [(tunnel: Int, role: ClientSockets.Role)] = []

    init(_ sockets: [ClientSockets]) {
        for (i, s) in sockets.enumerated() {
            for role in ClientSockets.Role.allCases {
                descriptors.append(pollfd(fd: s.socket(role).fileDescriptor, events: Int16(POLLIN), revents: 0))
                owner.append((i, role))
            }
        }
    }

    /// Waits up to `timeoutMilliseconds`, then calls `body` for each readable socket.
    mutating func wait(timeoutMilliseconds: Int32, _ body: (_ tunnel: Int, _ role: ClientSockets.Role) -> Void) {
        _ = pollReadable(&descriptors, timeoutMilliseconds: timeoutMilliseconds)
        for (p, entry) in descriptors.enumerated() where entry.revents & Int16(POLLIN) != 0 {
            body(owner[p].tunnel, owner[p].role)
        }
    }
}
