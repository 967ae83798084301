import SLBConfig
import SLBWire
import Testing

/// Example 6-14 of the seed (slb-east), lines 923-1018 copied verbatim: a whole running-config
/// with book annotations (`vlan 10   --- vlan to the inet-gw`) and a blank line after the farm.
@Suite struct SlbEastFixtureTests {
    let result: SLBConfig.ParseResult = {
        let text = readFile(SourceTree.fixtures + "/slb-east-example-6-14.txt") ?? ""
        return ConfigParser.parse(text, file: "slb-east")
    }()

    @Test func loadsWithoutErrorsOrWarnings() {
        #expect(result.errors.isEmpty)
        #expect(messages(result).isEmpty)
        #expect(result.configuration != nil)
    }

    @Test func skippedNonSLBLinesAreNotes() {
        let notes = result.diagnostics.filter { $0.severity == .note }
        #expect(notes.map(\.description) == [
            "slb-east:1:1: note: skipped lines 1-24: not ip slb configuration ('Current configuration : 7178 bytes')",
            "slb-east:61:1: note: skipped lines 61-96: not ip slb configuration ('interface FastEthernet3/1')",
        ])
    }

    @Test func probe() throws {
        let configuration = try #require(result.configuration)
        #expect(configuration.probes == [Probe(name: "SERVER-PROBE", kind: .ping, interval: 30, faildetect: 3)])
        #expect(configuration.entries == TableLimits())
    }

    @Test func farm() throws {
        let configuration = try #require(result.configuration)
        #expect(configuration.farms.count == 1)
        let farm = try #require(configuration.farm(named: "IPSEC"))
        #expect(farm.predictor == .roundRobin)
        #expect(farm.failactionPurge)
        #expect(farm.probes == ["SERVER-PROBE"])
        #expect(farm.nat == .none)
        #expect(farm.reals.map(\.address) == [ip("9.1.1.35"), ip("9.1.1.36")])
        for real in farm.reals {
            #expect(real.port == nil)
            #expect(real.weight == 1)
            #expect(real.maxConns == 5000)
            #expect(real.retry == 60)
            #expect(real.inService)
        }
    }

    @Test(arguments: [("IPSEC-ESP", VirtualService.esp), ("IPSEC-ISAKMP", .udp(port: 500))])
    func vserver(name: String, service: VirtualService) throws {
        let configuration = try #require(result.configuration)
        #expect(configuration.vservers.map(\.name) == ["IPSEC-ESP", "IPSEC-ISAKMP"])
        let vserver = try #require(configuration.vserver(named: name))
        #expect(vserver.address == ip("9.1.0.37"))
        #expect(vserver.mask == .host)
        #expect(vserver.service == service)
        #expect(vserver.farm == "IPSEC")
        #expect(vserver.backupFarm == nil)
        #expect(vserver.sticky == StickySettings(seconds: 6000, group: 1, netmask: .host))
        #expect(vserver.idle == 3650)
        #expect(vserver.clients.isEmpty)
        #expect(vserver.inService)
    }

    @Test func rendersTheBookSection() throws {
        let configuration = try #require(result.configuration)
        #expect(ConfigRenderer.render(configuration) == """
            ip slb probe SERVER-PROBE ping
             interval 30
             faildetect 3
            !
            ip slb serverfarm IPSEC
             failaction purge
             probe SERVER-PROBE
             !
             real 9.1.1.35
              weight 1
              maxconns 5000
              inservice
             !
             real 9.1.1.36
              weight 1
              maxconns 5000
              inservice
             !
            !
            ip slb vserver IPSEC-ESP
             virtual 9.1.0.37 esp
             serverfarm IPSEC
             sticky 6000 group 1
             idle 3650
             inservice
            !
            ip slb vserver IPSEC-ISAKMP
             virtual 9.1.0.37 udp isakmp
             serverfarm IPSEC
             sticky 6000 group 1
             idle 3650
             inservice
            !

            """)
    }
}
