import SLBConfig
import SLBCore
import SLBWire
import Testing

/// `virtual VIP udp any` beside an exact port on the same VIP (spec §6: "exact port first,
/// then 'any'"): the configuration is valid and each packet reaches the right vserver,
/// whichever comes first in the file.
@Suite struct AnyPortTests {
    static let text = """
        ip slb probe P ping
        ip slb serverfarm CATCH
         failaction purge
         probe P
         real 198.51.100.11
          inservice
        ip slb serverfarm NATT
         failaction purge
         probe P
         real 198.51.100.12
          inservice
        ip slb vserver ANY
         virtual 203.0.113.100 udp any
         serverfarm CATCH
         inservice
        ip slb vserver EXACT
         virtual 203.0.113.100 udp 4500
         serverfarm NATT
         inservice
        """

    static func engine() throws -> Engine {
        let result = ConfigParser.parse(text, file: "any.cfg")
        #expect(result.diagnostics.errors.isEmpty, "\(result.diagnostics)")
        return makeEngine(try #require(result.configuration))
    }

    @Test("the exact port wins, `any` catches the rest", arguments: [
        (UInt16(4500), "EXACT", 1),
        (500, "ANY", 0),
        (1701, "ANY", 0),
        (4501, "ANY", 0),
    ])
    func match(port: UInt16, vserver: String, real: Int) throws {
        let engine = try Self.engine()
        #expect(engine.decide(.udp(client(10), 4500, to: vip, port), now: t(0)).real == real)
        let rows = engine.snapshot(now: t(0), connections: .all).connections
        #expect(rows.map(\.vserver) == [vserver])
    }

    @Test("with the exact vserver out of service, `any` takes its port too")
    func exactOutOfService() throws {
        let engine = try Self.engine()
        var configuration = engine.configuration
        configuration.vservers[1].inService = false
        _ = engine.reconfigure(to: configuration, now: t(0))
        #expect(engine.decide(.udp(client(10), 4500, to: vip, 4500), now: t(1)).real == 0)
    }
}
