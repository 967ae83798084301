@testable import Dataplane
import IKE
import SLBConfig
import SLBCore
import SLBWire
import Testing

/// The edge prober's pure parts: where a probe goes, and the in-place checksum update.
@Suite("IKE prober")
struct IKEProberTests {
    static let vip = IPv4Address(203, 0, 113, 100)
    static let real = IPv4Address(198, 51, 100, 11)

    static func configuration(nat: NATMode, service: VirtualService) -> SLBConfiguration {
        var configuration = SLBConfiguration()
        configuration.probes = [Probe(name: "GW-IKE", kind: .ike, interval: 1, faildetect: 2)]
        var farm = ServerFarm(name: "VPN", probes: ["GW-IKE"], nat: nat)
        farm.reals = [RealServer(address: real)]
        configuration.farms = [farm]
        configuration.vservers = [VirtualServer(name: "V", address: vip, service: service, farm: "VPN")]
        return configuration
    }

    @Test("the probe goes where the clients' IKE goes: the VIP (dispatched), the real (nat server)", arguments: [
        (NATMode.none, VirtualService.udp(port: 500), vip),
        (.none, .udp(port: nil), vip),
        (.server, .udp(port: 500), real),
    ])
    func destination(nat: NATMode, service: VirtualService, expected: IPv4Address) {
        let target = ProbeTarget(real: RealID(0), address: IKEProberTests.real, farm: "VPN",
                                 probes: [Probe(name: "GW-IKE", kind: .ike)])
        #expect(IKEProber.destination(of: target, in: IKEProberTests.configuration(nat: nat, service: service)) == expected)
    }

    @Test("the incremental UDP checksum equals a full recomputation for any SPIi", arguments: [
        UInt64(1), 0xFFFF_FFFF_FFFF_FFFF, 0x9E37_79B9_7F4A_7C15, 0x0000_0001_0000_0000, 0x8000_0000_0000_0001, 0x1234_5678_9ABC_DEF0,
    ])
    func checksum(spi: UInt64) {
        let link = FrameBuilder.Link(destination: MACAddress(2, 0, 0, 0, 0, 1), source: MACAddress(2, 0, 0, 0, 0, 2))
        let ip = FrameBuilder.IPv4Fields(source: IPv4Address(198, 51, 100, 1), destination: IKEProberTests.vip, dontFragment: true)
        let base = FrameBuilder.udpFrame(link, ip, sourcePort: IKEProber.defaultPort, destinationPort: 500,
                                         payload: IKEProbeMessage.request(spiI: 0))
        let full = FrameBuilder.udpFrame(link, ip, sourcePort: IKEProber.defaultPort, destinationPort: 500,
                                         payload: IKEProbeMessage.request(spiI: spi))
        func udpChecksum(_ frame: [UInt8]) -> UInt16 { UInt16(frame[IKEProber.udpOffset + 6]) << 8 | UInt16(frame[IKEProber.udpOffset + 7]) }
        #expect(IKEProber.udpChecksum(base: udpChecksum(base), spi: spi) == udpChecksum(full))
    }
}
