import Logging
import Runtime
import SLBConfig
import SLBCore
import SLBWire
import Testing

// Lab plan (RFC 5737): VIP 203.0.113.100, gateways 198.51.100.11-13, a backup 198.51.100.21,
// clients 192.0.2.x.
let vip = IPv4Address(203, 0, 113, 100)
func client(_ n: UInt8) -> IPv4Address { IPv4Address(192, 0, 2, n) }
func t(_ seconds: UInt64) -> MonotonicTime { .seconds(seconds) }

let farmText = """
    ip slb probe PING ping
     faildetect 3
    ip slb serverfarm IPSEC
     probe PING
     real 198.51.100.11
      inservice
     real 198.51.100.12
      inservice
     real 198.51.100.13
      inservice
    ip slb serverfarm SPARE
     real 198.51.100.21
      inservice
    ip slb vserver IPSEC-ISAKMP
     virtual 203.0.113.100 udp isakmp
     serverfarm IPSEC backup SPARE
     sticky 3600 group 1
     inservice
    ip slb vserver IPSEC-ESP
     virtual 203.0.113.100 esp
     serverfarm IPSEC backup SPARE
     sticky 3600 group 1
     inservice

    """

func parsed(_ text: String = farmText) throws -> SLBConfiguration {
    let result = ConfigParser.parse(text, file: "farm.cfg")
    return try #require(result.configuration, "\(result.diagnostics)")
}

/// An engine with `clients` clients, each with an ISAKMP and an ESP connection.
func loadedEngine(clients: Int, configuration: SLBConfiguration) -> Engine {
    let engine = Engine(configuration: configuration, hashSeed: 42)
    for n in 0..<clients {
        let c = IPv4Address(0xC000_0200 &+ UInt32(n))
        _ = engine.decide(.udp(c, 500, to: vip, 500), now: t(1))
        _ = engine.decide(.esp(c, to: vip), now: t(1))
    }
    return engine
}

let quietLogger: Logger = {
    var logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    logger.logLevel = .critical
    return logger
}()

/// Runs a control service in memory: submit, step until answered (bounded), return the answer.
final class ServiceHarness {
    let engine: Engine
    let service: ControlService
    /// The files `reload` reads, by path.
    let box: FileBox

    init(engine: Engine, configuration: SLBConfiguration, pageSlots: Int = ControlService.defaultPageSlots) {
        self.engine = engine
        let box = FileBox()
        service = ControlService(server: nil, running: configuration, configFile: "/etc/vpnslb/farm.cfg",
                                 pageSlots: pageSlots, logger: quietLogger,
                                 readFile: { path in
                                     guard let text = box.files[path] else { throw FileMissing(path: path) }
                                     return text
                                 })
        self.box = box
    }

    /// The answer and how many loop iterations it took.
    func ask(_ request: ControlRequest, now: MonotonicTime = t(2)) -> (answer: ControlAnswer?, steps: Int, renumbered: Bool) {
        var answer: ControlAnswer?
        service.submit(request) { answer = $0 }
        var steps = 0
        var renumbered = false
        while answer == nil && steps < 10_000 {
            renumbered = service.step(engine: engine, now: now) || renumbered
            steps += 1
        }
        return (answer, steps, renumbered)
    }
}

final class FileBox: @unchecked Sendable { var files: [String: String] = [:] }
struct FileMissing: Error { let path: String }
