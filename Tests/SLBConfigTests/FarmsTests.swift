import SLBConfig
import SLBWire
import Testing

/// Every example farm in Farms/ loads clean: no error and no warning.
@Suite struct FarmsTests {
    @Test(arguments: listDirectory(SourceTree.farms, suffix: ".cfg"))
    func parsesClean(_ name: String) throws {
        let text = try #require(readFile(SourceTree.farms + "/" + name))
        let result = ConfigParser.parse(text, file: name)
        #expect(messages(result).isEmpty)
        #expect(result.configuration != nil)
    }

    /// Lab rule: only RFC 5737 documentation addresses in example farms.
    @Test(arguments: listDirectory(SourceTree.farms, suffix: ".cfg"))
    func usesOnlyDocumentationAddresses(_ name: String) throws {
        let text = try #require(readFile(SourceTree.farms + "/" + name))
        let configuration = try #require(ConfigParser.parse(text, file: name).configuration)
        let documentation = ["192.0.2.0", "198.51.100.0", "203.0.113.0"].compactMap(IPv4Address.init)
            .map { IPv4Network(address: $0, mask: IPv4Mask(prefixLength: 24) ?? .host) }
        var addresses = configuration.farms.flatMap { $0.reals.map(\.address) }
        addresses += configuration.vservers.map(\.address)
        addresses += configuration.vservers.flatMap { $0.clients.map(\.address) }
        addresses += configuration.probes.compactMap(\.address)
        for address in addresses {
            #expect(documentation.contains { $0.contains(address) }, "\(address) in \(name)")
        }
    }

    @Test func defaultFarmIsTheBookFarmWithNATT() throws {
        let text = try #require(readFile(SourceTree.farms + "/vpn-natt.cfg"))
        let configuration = try #require(ConfigParser.parse(text, file: "vpn-natt.cfg").configuration)
        #expect(configuration.probes == [Probe(name: "GW-PING", interval: 1, faildetect: 3)])
        #expect(configuration.farms.first?.reals.map(\.address) == [ip("198.51.100.11"), ip("198.51.100.12")])
        #expect(configuration.vservers.map(\.service) == [.esp, .udp(port: 500), .udp(port: 4500)])
        #expect(Set(configuration.vservers.compactMap(\.sticky)) == [StickySettings(seconds: 6000, group: 1)])
        #expect(configuration.vservers.allSatisfy { $0.address == ip("203.0.113.100") && $0.inService })
    }

    @Test func threeGatewaysWeights() throws {
        let text = try #require(readFile(SourceTree.farms + "/three-gateways.cfg"))
        let farm = try #require(ConfigParser.parse(text, file: "three-gateways.cfg").configuration?.farms.first)
        #expect(farm.reals.map(\.weight) == [3, 1, 2])
        #expect(farm.predictor == .roundRobin)
    }
}
