import Logging
@testable import Runtime
import SLBConfig
import SLBCore
import SLBWire
import Testing

@Suite("clear ip slb parser")
struct ClearParserTests {
    @Test("IOS forms and unique prefixes", arguments: [
        ("clear ip slb connections", ClearCommand.connections(.all)),
        ("cl ip sl conn", .connections(.all)),
        ("connections vserver IPSEC-ESP", .connections(.vserver("IPSEC-ESP"))),
        ("clear ip slb connections serverfarm IPSEC", .connections(.serverfarm("IPSEC"))),
        ("clear ip slb conn s IPSEC", .connections(.serverfarm("IPSEC"))),
        ("clear ip slb counters", .counters),
        ("counters", .counters),
        // VPNSLB extension (spec §4): clear ip slb sticky [client IP] [group N].
        ("clear ip slb sticky", .sticky(client: nil, group: nil)),
        ("clear ip slb st client 192.0.2.10", .sticky(client: IPv4Address(192, 0, 2, 10), group: nil)),
        ("sticky group 1", .sticky(client: nil, group: 1)),
        ("clear ip slb sticky client 192.0.2.10 group 4097",
         .sticky(client: IPv4Address(192, 0, 2, 10), group: 4097)),
        ("sticky g 2 c 192.0.2.0", .sticky(client: IPv4Address(192, 0, 2, 0), group: 2)),
    ])
    func accepted(line: String, expected: ClearCommand) throws {
        #expect(try ClearCommand.parse(words: line.split(separator: " ").map(String.init)) == expected)
    }

    @Test("errors name what was expected", arguments: [
        ("clear ip slb", "Incomplete"), ("clear ip slb co", "Ambiguous"), ("clear ip slb stick now", "Invalid input"),
        ("clear ip slb sticky client", "Incomplete"), ("clear ip slb sticky client 192.0.2", "IPv4 address"),
        ("clear ip slb sticky group 0", "group number"), ("clear ip slb sticky group 70000", "group number"),
        ("clear ip slb sticky group x", "group number"), ("clear ip slb sticky group 1 group 2", "Invalid input"),
        ("clear ip slb sticky client 192.0.2.1 group 1 x", "nothing more"),
        ("clear ip slb connections vserver", "Incomplete"), ("clear ip slb counters now", "nothing more"),
        ("clear ip nat connections", "Invalid input"), ("", "Incomplete"),
    ])
    func rejected(line: String, message: String) {
        do {
            _ = try ClearCommand.parse(words: line.split(separator: " ").map(String.init))
            Issue.record("accepted: \(line)")
        } catch {
            #expect(error.description.contains(message), "\(error)")
        }
    }
}

@Suite("slb cli session")
struct CLISessionTests {
    @Test("IOS prompts through the mode stack; end sends the edit as one configure request")
    func prompts() throws {
        var cli = CLISession(running: try parsed())
        #expect(cli.prompt == "slb#")
        _ = cli.input("conf t")
        #expect(cli.prompt == "slb(config)#")
        _ = cli.input("ip slb serverfarm IPSEC")
        #expect(cli.prompt == "slb(config-slb-sfarm)#")
        _ = cli.input("real 198.51.100.12")
        #expect(cli.prompt == "slb(config-slb-real)#")
        #expect(cli.input("no inserv") == [])
        #expect(cli.input("weight 300").first.map { if case .print(let text) = $0 { text.contains("error") } else { false } } == true)
        #expect(cli.input("end") == [.send(.configure(["ip slb serverfarm IPSEC", "real 198.51.100.12", "no inserv"]))])
        #expect(cli.prompt == "slb#")
    }

    @Test("exec commands by unique prefix", arguments: [
        ("sh ip slb conn", CLISession.Action.send(.show(["sh", "ip", "slb", "conn"]))),
        ("show run", .send(.runningConfig(all: false))),
        ("show running-config all", .send(.runningConfig(all: true))),
        ("clear ip slb counters", .send(.clear(["clear", "ip", "slb", "counters"]))),
        ("write memory", .send(.writeMemory(force: false))),
        ("wr mem", .send(.writeMemory(force: false))),
        ("write", .send(.writeMemory(force: false))),
        ("copy running-config startup-config", .send(.writeMemory(force: false))),
        ("copy run start", .send(.writeMemory(force: false))),
        ("copy run flash:", .print("% Invalid input detected at 'flash:': only copy running-config startup-config")),
        ("copy run", .print("% Incomplete or invalid: only copy running-config startup-config")),
        ("write terminal", .print("% Invalid input detected at 'terminal': only write memory")),
        ("exit", .quit),
    ])
    func exec(line: String, action: CLISession.Action) throws {
        var cli = CLISession(running: try parsed())
        #expect(cli.input(line) == [action])
    }

    @Test("? lists the current mode's keywords with help, from ConfigSession's tables")
    func help() throws {
        var cli = CLISession(running: try parsed())
        guard case .print(let exec) = cli.input("?").first else { Issue.record("no help"); return }
        #expect(exec.contains("show") && exec.contains("configure"))
        _ = cli.input("configure terminal")
        _ = cli.input("ip slb serverfarm IPSEC")
        guard case .print(let farm) = cli.input("?").first else { Issue.record("no help"); return }
        for keyword in ["predictor", "real", "failaction", "end"] { #expect(farm.contains(keyword), "\(farm)") }
        guard case .print(let prefixed) = cli.input("pre?").first else { Issue.record("no help"); return }
        #expect(prefixed.contains("predictor") && !prefixed.contains("real"))
    }

    @Test("an ambiguous or unknown exec word is an IOS error")
    func errors() throws {
        var cli = CLISession(running: try parsed())
        #expect(cli.input("e") == [.print("% Ambiguous command: \"e\"")])
        #expect(cli.input("ping 1.2.3.4") == [.print("% Invalid input detected at 'ping'")])
    }
}

@Suite("Structured event logs")
struct EventLogTests {
    static let down = EngineEvent.realDown(real: RealID(1), address: IPv4Address(198, 51, 100, 12), farm: "IPSEC",
                                           reason: "probe PING", at: .zero)

    @Test("events carry dotted keys and are counted by name")
    func metadataAndCounts() {
        let log = EventLog(logger: quietLogger)
        log.record(Self.down)
        log.record(Self.down)
        log.record(.purge(real: RealID(1), address: IPv4Address(198, 51, 100, 12), farm: "IPSEC", connections: 7, at: .zero))
        #expect(log.counts == ["slb.real.down": 2, "slb.purge": 1])
        let metadata = EventLog.metadata(Self.down)
        #expect(metadata["slb.real"] == "198.51.100.12" && metadata["slb.farm"] == "IPSEC" && metadata["slb.reason"] == "probe PING")
        #expect(EventLog.metadata(.purge(real: RealID(1), address: IPv4Address(198, 51, 100, 12), farm: "F",
                                         connections: 7, at: .zero))["slb.connections"] == "7")
    }

    @Test("JSON lines: flat object, dotted keys, escaping")
    func json() {
        let handler = JSONLinesLogHandler(label: "slb") { _ in }
        let line = handler.line(level: .warning, message: "slb.real.down",
                                metadata: ["slb.real": "198.51.100.12", "slb.reason": "say \"hi\"\n"])
        #expect(line == #"{"level":"warning","label":"slb","message":"slb.real.down","slb.real":"198.51.100.12","slb.reason":"say \"hi\"\n"}"#)
    }

    @Test("text lines: the event, then the object first")
    func text() {
        let line = TextLogHandler.line(message: "slb.real.down", metadata: EventLog.metadata(Self.down))
        #expect(line == "slb.real.down real=198.51.100.12 farm=IPSEC reason=probe PING mono=0.000000000 real_id=1")
    }
}

@Suite("Metrics HTTP answer")
struct MetricsHTTPTests {
    @Test("GET /metrics gets the text; other paths 404; other methods 405", arguments: [
        ("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.0 200 OK"),
        ("GET / HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK"),
        ("GET /metrics?x=1 HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK"),
        ("GET /other HTTP/1.0\r\n\r\n", "HTTP/1.0 404 Not Found"),
        ("POST /metrics HTTP/1.0\r\n\r\n", "HTTP/1.0 405 Method Not Allowed"),
        ("", "HTTP/1.0 405 Method Not Allowed"),
    ])
    func answers(request: String, status: String) {
        let response = String(decoding: MetricsServer.response(for: Array(request.utf8), metrics: "m 1\n"), as: UTF8.self)
        #expect(response.hasPrefix(status + "\r\n"))
        #expect(response.hasSuffix("m 1\n") == status.contains("200"))
    }

    @Test("--metrics accepts loopback only", arguments: [("127.0.0.1:9464", true), ("127.1.2.3:1", true),
                                                         ("0.0.0.0:9464", false), ("192.0.2.1:9464", false),
                                                         ("127.0.0.1", false), ("localhost:9464", false),
                                                         ("127.0.0.1:99999", false)])
    func endpoint(text: String, accepted: Bool) {
        #expect(((try? MetricsServer.endpoint(text)) != nil) == accepted)
    }
}
