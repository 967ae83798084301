import SLBConfig
import SLBWire
import Testing

@Suite struct RenderTests {
    static let farmFiles = listDirectory(SourceTree.farms, suffix: ".cfg")

    @Test func farmsDirectoryIsFound() {
        #expect(Self.farmFiles.count >= 4)
    }

    /// parse(render(c)) == c, with defaults omitted and with every default written out.
    @Test(arguments: farmFiles, [false, true])
    func roundTripsFarmFile(_ name: String, all: Bool) throws {
        let text = try #require(readFile(SourceTree.farms + "/" + name))
        let configuration = try #require(ConfigParser.parse(text, file: name).configuration)
        let rendered = ConfigRenderer.render(configuration, all: all)
        let reparsed = ConfigParser.parse(rendered, file: "rendered")
        #expect(reparsed.errors.isEmpty, "\(reparsed.errors)")
        #expect(reparsed.configuration == configuration)
        // Canonical: rendering the result again is a fixed point.
        #expect(reparsed.configuration.map { ConfigRenderer.render($0, all: all) } == rendered)
    }

    /// Generated configurations that walk every field through non-default values.
    static let generated: [SLBConfiguration] = (0..<24).map(generate)

    static func generate(_ seed: Int) -> SLBConfiguration {
        var rng = SplitMix(seed: UInt64(seed))
        let probes = (0..<Int(rng.next() % 3)).map { i in
            Probe(name: "PR\(i)", kind: rng.next() % 2 == 0 ? .ping : .ike,
                  interval: UInt32(1 + rng.next() % 65535), faildetect: UInt8(1 + rng.next() % 255),
                  address: rng.next() % 4 == 0 ? IPv4Address(198, 51, 100, UInt8(rng.next() % 256)) : nil)
        }
        let farms = (0..<Int(1 + rng.next() % 3)).map { f in
            let reals = (0..<Int(rng.next() % 4)).map { r in
                RealServer(address: IPv4Address(198, 51, 100, UInt8(11 + r)),
                           port: rng.next() % 3 == 0 ? UInt16(1 + rng.next() % 65535) : nil,
                           weight: UInt8(1 + rng.next() % 255), maxConns: UInt32(truncatingIfNeeded: 1 + rng.next() % UInt64(UInt32.max)),
                           retry: UInt16(1 + rng.next() % 3600), inService: rng.next() % 2 == 0)
            }
            return ServerFarm(name: "FARM\(f)", predictor: rng.next() % 2 == 0 ? .roundRobin : .leastConns,
                              failactionPurge: rng.next() % 2 == 0, probes: probes.map(\.name).filter { _ in rng.next() % 2 == 0 },
                              nat: rng.next() % 2 == 0 ? .none : .server, reals: reals)
        }
        let services: [VirtualService] = [.esp, .udp(port: 500), .udp(port: 4500), .udp(port: nil), .udp(port: 1701)]
        let vservers = (0..<Int(rng.next() % 4)).map { v in
            var vserver = VirtualServer(
                name: "VS\(v)", address: IPv4Address(203, 0, 113, UInt8(rng.next() % 256)),
                mask: rng.next() % 4 == 0 ? IPv4Mask(prefixLength: 24 + Int(rng.next() % 9)) ?? .host : .host,
                service: services[Int(rng.next() % UInt64(services.count))],
                farm: farms[Int(rng.next() % UInt64(farms.count))].name,
                backupFarm: rng.next() % 3 == 0 ? farms[0].name : nil,
                backupSticky: rng.next() % 2 == 0,
                sticky: rng.next() % 2 == 0 ? StickySettings(seconds: UInt16(1 + rng.next() % 65535), group: UInt8(rng.next() % 256),
                                                          netmask: IPv4Mask(prefixLength: Int(rng.next() % 33)) ?? .host) : nil,
                idle: UInt32(10 + rng.next() % 65526),
                clients: (0..<Int(rng.next() % 3)).map { c in
                    IPv4Network(address: IPv4Address(192, 0, 2, UInt8(c * 64)), mask: IPv4Mask(prefixLength: 26) ?? .host)
                },
                inService: rng.next() % 2 == 0)
            // `sticky` is part of `backup NAME sticky`: there is no way to say it without a backup.
            if vserver.backupFarm == nil { vserver.backupSticky = false }
            return vserver
        }
        let entries = TableLimits(connections: Int(1 + rng.next() % UInt64(TableLimits.maximumEntries)),
                                  sticky: rng.next() % 2 == 0 ? TableLimits.defaultSticky : Int(1 + rng.next() % 1000))
        return SLBConfiguration(probes: probes, farms: farms, vservers: vservers, entries: entries)
    }

    @Test(arguments: generated, [false, true])
    func roundTripsGenerated(_ configuration: SLBConfiguration, all: Bool) {
        let rendered = ConfigRenderer.render(configuration, all: all)
        // Generated configurations may break semantic rules (VIP overlaps, sticky groups); the
        // round trip is about the text, so rebuild from the session rather than the validator.
        var session = ConfigSession(file: "rendered", redefinition: .reject)
        var errors: [Diagnostic] = []
        for (n, line) in rendered.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            errors += session.apply(String(line), line: n + 1).diagnostics.filter { $0.severity == .error }
        }
        #expect(errors.isEmpty, "\(errors)\n\(rendered)")
        #expect(session.draft.configuration == configuration, "\(rendered)")
    }

    @Test func allGolden() throws {
        let text = try #require(readFile(SourceTree.farms + "/vpn-natt.cfg"))
        let configuration = try #require(ConfigParser.parse(text, file: "vpn-natt.cfg").configuration)
        let golden = try #require(readFile(SourceTree.fixtures + "/vpn-natt.all.golden"))
        #expect(ConfigRenderer.render(configuration, all: true) == golden)
    }

    @Test func defaultsOmittedGolden() {
        let configuration = SLBConfiguration(
            probes: [Probe(name: "P")],
            farms: [ServerFarm(name: "F", reals: [RealServer(address: IPv4Address(198, 51, 100, 11))])],
            vservers: [VirtualServer(name: "V", address: IPv4Address(203, 0, 113, 100), service: .udp(port: nil), farm: "F")])
        #expect(ConfigRenderer.render(configuration) == """
            ip slb probe P ping
            !
            ip slb serverfarm F
             !
             real 198.51.100.11
             !
            !
            ip slb vserver V
             virtual 203.0.113.100 udp any
             serverfarm F
            !

            """)
        #expect(ConfigRenderer.render(SLBConfiguration()) == "")
    }
}

/// A small deterministic PRNG (SplitMix64) so generated cases are the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
