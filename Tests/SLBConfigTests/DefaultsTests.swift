import SLBConfig
import SLBWire
import Testing

/// IOS defaults (spec §1.6, CISCO-SLB-MIB DEFVALs): what a bare object gets.
@Suite struct DefaultsTests {
    let configuration: SLBConfiguration? = parse("""
        ip slb probe P ping
        ip slb serverfarm F
         failaction purge
         probe P
         real 198.51.100.11
        ip slb vserver V
         virtual 203.0.113.100 esp
         serverfarm F
        """).configuration

    @Test func probeDefaults() throws {
        let probe = try #require(configuration?.probes.first)
        #expect(probe.kind == .ping)
        #expect(probe.interval == 1)
        #expect(probe.faildetect == 10)
        #expect(probe.address == nil)
    }

    @Test func farmDefaults() throws {
        let farm = try #require(parse("ip slb serverfarm F\n").configuration?.farms.first)
        #expect(farm.predictor == .roundRobin)
        #expect(!farm.failactionPurge)
        #expect(farm.probes.isEmpty)
        #expect(farm.nat == .none)
    }

    @Test func realDefaults() throws {
        let real = try #require(configuration?.farms.first?.reals.first)
        #expect(real.port == nil)
        #expect(real.weight == 8)
        #expect(real.maxConns == 4_294_967_295)
        #expect(real.retry == 60)
        #expect(!real.inService, "reals are out of service until 'inservice'")
    }

    @Test func vserverDefaults() throws {
        let vserver = try #require(configuration?.vservers.first)
        #expect(vserver.mask == .host)
        #expect(vserver.backupFarm == nil)
        #expect(vserver.sticky == nil, "sticky 0 = off")
        #expect(vserver.idle == 3600)
        #expect(vserver.clients.isEmpty)
        #expect(!vserver.inService, "vservers are out of service until 'inservice'")
    }

    @Test func stickyOptionDefaults() throws {
        let (session, _) = applying(["ip slb vserver V", "sticky 30"], to: SLBConfiguration())
        let sticky = try #require(session.draft.vservers.first?.sticky)
        #expect(sticky == StickySettings(seconds: 30, group: 0, netmask: .host))
    }

    @Test func tableLimitDefaults() {
        #expect(parse("").configuration?.entries == TableLimits(connections: 2_000_000, sticky: 1_000_000))
        #expect(parse("").configuration == SLBConfiguration())
    }

    /// The accepted ranges, both ends.
    static let boundaries: [(line: String, valid: Bool)] = [
        (" interval 1", true), (" interval 65535", true), (" interval 0", false), (" interval 65536", false),
        (" faildetect 1", true), (" faildetect 255", true), (" faildetect 0", false), (" faildetect 256", false),
        ("  weight 1", true), ("  weight 255", true), ("  weight 0", false), ("  weight 256", false),
        ("  maxconns 1", true), ("  maxconns 4294967295", true), ("  maxconns 0", false), ("  maxconns 4294967296", false),
        ("  retry 1", true), ("  retry 3600", true), ("  retry 0", false), ("  retry 3601", false),
        ("  weight -1", false), ("  weight +3", false), ("  weight 0x10", false), ("  weight 99999999999999999999999", false),
    ]

    @Test(arguments: boundaries)
    func ranges(line: String, valid: Bool) {
        let header = line.hasPrefix("  ") ? "ip slb serverfarm F\n real 198.51.100.11\n" : "ip slb probe P ping\n"
        #expect(parse(header + line + "\n").errors.isEmpty == valid)
    }

    static let vserverBoundaries: [(line: String, valid: Bool)] = [
        (" idle 10", true), (" idle 65535", true), (" idle 9", false), (" idle 65536", false),
        (" sticky 0", true), (" sticky 65535", true), (" sticky 65536", false),
        (" sticky 1 group 0", true), (" sticky 1 group 255", true), (" sticky 1 group 256", false),
        (" sticky 1 netmask 255.255.255.0", true), (" sticky 1 netmask 0.0.0.0", true), (" sticky 1 netmask 255.0.0.255", false),
        (" client 192.0.2.0 255.255.255.0", true), (" client 192.0.2.0 0.0.0.255", false),
    ]

    @Test(arguments: vserverBoundaries)
    func vserverRanges(line: String, valid: Bool) {
        let text = "ip slb serverfarm F\n failaction purge\nip slb vserver V\n virtual 203.0.113.100 esp\n serverfarm F\n" + line + "\n"
        #expect(parse(text).errors.isEmpty == valid)
    }
}

