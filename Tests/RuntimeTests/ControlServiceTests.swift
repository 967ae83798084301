import Foundation
import Runtime
import SLBConfig
import SLBCore
import SLBShow
import SLBWire
import Testing

/// Control request routing on the engine's thread: what `slb show|clear|configure|reload`
/// get back, and that large listings are assembled a page per loop iteration.
@Suite("Control service")
struct ControlServiceTests {
    @Test("show answers are exactly the in-process renderer's text", arguments: [
        "show ip slb reals", "sh ip slb realserver", "show ip slb vservers detail", "show ip slb serverfarms",
        "show ip slb stats", "show ip slb probe", "sh ip sl conn", "show ip slb conns vserver IPSEC-ESP detail",
        "show ip slb sticky", "show ip slb reals --json", "conns client 192.0.2.3", "show ip slb reals vserver IPSEC-ESP",
    ])
    func showMatchesRenderer(command: String) throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 20, configuration: configuration), configuration: configuration)
        let words = command.split(separator: " ").map(String.init)
        let answer = try #require(harness.ask(.show(words)).answer)
        #expect(answer.ok)
        let request = try ShowCommandParser.parse(words: words)
        let expected = try ShowRenderer.render(request, harness.engine.snapshot(now: t(2), connections: request.connectionFilter))
        #expect(answer.text == expected)
    }

    @Test("a large conns listing takes one page per iteration and equals the one-shot rendering")
    func pagedConns() throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 500, configuration: configuration),
                                     configuration: configuration, pageSlots: 64)
        let (answer, steps, _) = harness.ask(.show(["conns"]))
        let slots = harness.engine.tableSlots.connections
        #expect(steps == (slots + 63) / 64)
        let expected = try ShowRenderer.render(ShowRequest(table: .conns(.all)),
                                               harness.engine.snapshot(now: t(2), connections: .all))
        #expect(answer?.text == expected)
        #expect(answer?.text.split(separator: "\n").count == 1000 + 2)
    }

    @Test("requests queued behind a paged listing are answered after it, in order")
    func ordering() throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 200, configuration: configuration),
                                     configuration: configuration, pageSlots: 16)
        var order: [String] = []
        harness.service.submit(.show(["sticky"])) { _ in order.append("sticky") }
        harness.service.submit(.show(["stats"])) { _ in order.append("stats") }
        var steps = 0
        while harness.service.isBusy && steps < 1000 {
            _ = harness.service.step(engine: harness.engine, now: t(2))
            steps += 1
        }
        #expect(order == ["sticky", "stats"])
        #expect(steps > 1)
    }

    @Test("bad show words are an error answer, not a crash", arguments: [["show", "ip", "slb"], ["bogus"], ["conns", "vserver"],
                                                                         ["s"]])
    func badShow(words: [String]) throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 1, configuration: configuration), configuration: configuration)
        let answer = try #require(harness.ask(.show(words)).answer)
        #expect(!answer.ok)
        #expect(!answer.text.isEmpty)
    }

    @Test("an unknown name is the renderer's % not found line, as a failed answer", arguments: [
        (["show", "ip", "slb", "vservers", "name", "NOSUCH"], "% vserver \"NOSUCH\" not found"),
        (["reals", "sfarm", "NOSUCH"], "% serverfarm \"NOSUCH\" not found"),
        (["conns", "vserver", "NOSUCH", "detail"], "% vserver \"NOSUCH\" not found"),
    ])
    func unknownName(words: [String], text: String) throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 3, configuration: configuration), configuration: configuration)
        let answer = try #require(harness.ask(.show(words)).answer)
        #expect(!answer.ok)
        #expect(answer.text == text)
    }

    @Test("backup farms show in show ip slb vservers detail")
    func backupFarmShown() throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 1, configuration: configuration), configuration: configuration)
        let answer = try #require(harness.ask(.show(["vservers", "detail"])).answer)
        #expect(answer.text.contains("server farm = IPSEC, backup = SPARE"))
    }

    @Test("clear ip slb connections [vserver|serverfarm] and counters", arguments: [
        (["clear", "ip", "slb", "connections"], 0, true, "% cleared 20 connections"),
        (["clear", "ip", "slb", "conn", "vserver", "IPSEC-ESP"], 10, true, "% cleared 10 connections"),
        (["connections", "serverfarm", "SPARE"], 20, true, "% cleared 0 connections"),
        (["cl", "ip", "slb", "counters"], 20, true, ""),
        // Unknown names are errors, not a silent success that cleared nothing.
        (["connections", "vserver", "IPSEC-ES"], 20, false, "% vserver IPSEC-ES not found"),
        (["connections", "serverfarm", "NOPE"], 20, false, "% serverfarm NOPE not found"),
    ])
    func clear(words: [String], remaining: Int, ok: Bool, text: String) throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 10, configuration: configuration), configuration: configuration)
        let answer = try #require(harness.ask(.clear(words)).answer)
        #expect(answer.ok == ok, "\(answer.text)")
        #expect(answer.text == text)
        #expect(harness.engine.tableFootprint.connections == remaining)
        if words.last == "counters" {
            #expect(harness.engine.snapshot(now: t(2), connections: .none).stats.connectionsCreated == 0)
        }
    }

    @Test("clear ip slb sticky: idle objects go, objects in use stay and are reported", arguments: [
        (["clear", "ip", "slb", "sticky"], true, "% cleared 0 sticky objects; 10 in use by connections kept"),
        (["clear", "ip", "slb", "sticky", "client", "192.0.2.99"], true, "% cleared 0 sticky objects"),
        (["clear", "ip", "slb", "sticky", "group", "77"], false, "% sticky group 77 not found"),
    ])
    func clearSticky(words: [String], ok: Bool, text: String) throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 10, configuration: configuration), configuration: configuration)
        let before = harness.engine.tableFootprint
        let answer = try #require(harness.ask(.clear(words)).answer)
        #expect(answer.ok == ok)
        #expect(answer.text.hasPrefix(text), "\(answer.text)")
        #expect(harness.engine.tableFootprint == before)
    }

    @Test("clear ip slb connections, then sticky, empties both tables")
    func clearConnectionsThenSticky() throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 10, configuration: configuration), configuration: configuration)
        _ = try #require(harness.ask(.clear(["connections"])).answer)
        let answer = try #require(harness.ask(.clear(["sticky"])).answer)
        #expect(answer.ok)
        #expect(answer.text == "% cleared 10 sticky objects")
        #expect(harness.engine.tableFootprint.sticky == 0)
    }

    @Test("configure: `no inservice` on a real drains it and shows in the running configuration")
    func configureNoInservice() throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 6, configuration: configuration), configuration: configuration)
        let before = harness.engine.snapshot(now: t(2), connections: .none).reals[1].connections
        let answer = try #require(harness.ask(.configure(["ip slb serverfarm IPSEC", "real 198.51.100.12", "no inservice"])).answer)
        #expect(answer.ok, "\(answer.text)")
        let real = harness.engine.snapshot(now: t(2), connections: .none).reals[1]
        #expect(real.state == .outOfService)
        #expect(real.connections == before)
        let running = try #require(harness.ask(.runningConfig(all: false)).answer)
        #expect(running.text.contains(" real 198.51.100.12\n  no inservice") || !running.text.contains(" real 198.51.100.12\n  inservice"))
        #expect(harness.service.running.farms[0].reals[1].inService == false)
    }

    @Test("configure: an invalid change is rejected with diagnostics; nothing changes")
    func configureRejected() throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 6, configuration: configuration), configuration: configuration)
        let answer = try #require(harness.ask(.configure(["ip slb vserver IPSEC-ESP", "serverfarm NOSUCH"])).answer)
        #expect(!answer.ok)
        #expect(answer.text.contains("error"))
        #expect(answer.text.contains("running configuration is unchanged"))
        #expect(harness.service.running == configuration)
        #expect(harness.engine.configuration == configuration)
        #expect(harness.engine.tableFootprint.connections == 12)
    }

    @Test("reload: a good file is applied (connections kept), a bad one rejected (old one stays)")
    func reload() throws {
        let configuration = try parsed()
        let harness = ServiceHarness(engine: loadedEngine(clients: 6, configuration: configuration), configuration: configuration)
        harness.box.files["/etc/vpnslb/farm.cfg"] = farmText.replacingFirst(" real 198.51.100.13\n  inservice\n",
                                                                             with: " real 198.51.100.13\n  weight 2\n  inservice\n")
        let good = try #require(harness.ask(.reload(file: nil)).answer)
        #expect(good.ok, "\(good.text)")
        #expect(good.text.contains("connections-kept=12"))
        #expect(harness.engine.configuration.farms[0].reals[2].weight == 2)

        harness.box.files["/tmp/bad.cfg"] = "ip slb serverfarm X\n real 1.2.3\n"
        let bad = try #require(harness.ask(.reload(file: "/tmp/bad.cfg")).answer)
        #expect(!bad.ok)
        #expect(bad.text.contains("/tmp/bad.cfg:2"))
        #expect(harness.engine.configuration.farms[0].reals[2].weight == 2)
        #expect(harness.engine.tableFootprint.connections == 12)

        let missing = try #require(harness.ask(.reload(file: "/nonexistent.cfg")).answer)
        #expect(!missing.ok)
    }

    @Test("request bodies round-trip through JSON; garbage decodes to nil")
    func requestCoding() {
        let requests: [ControlRequest] = [.show(["conns", "--json"]), .clear(["counters"]), .configure(["ip slb vserver A"]),
                                          .runningConfig(all: true), .reload(file: nil), .reload(file: "/x"), .saveState,
                                          .writeMemory(force: true), .writeMemory(force: false)]
        for request in requests { #expect(ControlRequest.decode(request.encoded()) == request) }
        #expect(ControlRequest.decode(Array("{\"nope\":1}".utf8)) == nil)
        #expect(ControlRequest.decode([0xff, 0x00]) == nil)
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = range(of: target) else { return self }
        var copy = self
        copy.replaceSubrange(range, with: replacement)
        return copy
    }
}
