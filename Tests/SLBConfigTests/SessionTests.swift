import SLBConfig
import SLBWire
import Testing

/// The mode stack, driven one line at a time as `slb configure` and an interactive CLI will.
@Suite struct SessionTests {
    /// After each line: the IOS prompt.
    static let prompts: [(line: String, prompt: String)] = [
        ("ip slb serverfarm X", "Router(config-slb-sfarm)#"),
        ("real 198.51.100.11", "Router(config-slb-real)#"),
        ("weight 3", "Router(config-slb-real)#"),
        ("real 198.51.100.12", "Router(config-slb-real)#"),        // `real` ends the previous real
        ("predictor leastconns", "Router(config-slb-sfarm)#"),     // a farm command leaves real mode
        ("real 198.51.100.12", "Router(config-slb-real)#"),
        ("exit", "Router(config-slb-sfarm)#"),
        ("exit", "Router(config)#"),
        ("ip slb vserver V", "Router(config-slb-vserver)#"),
        ("ip slb probe P ping", "Router(config-slb-probe)#"),      // a global command leaves any mode
        ("ip slb serverfarm X", "Router(config-slb-sfarm)#"),
        ("real 198.51.100.11", "Router(config-slb-real)#"),
        ("end", "Router(config)#"),
        ("interface Vlan10", "Router(config)#"),                    // skipped: stays global
    ]

    @Test func promptsFollowTheModeStack() {
        var session = ConfigSession()
        for (line, prompt) in Self.prompts {
            let result = session.apply(line, line: 0)
            #expect(result.diagnostics.isEmpty, "\(line)")
            #expect(session.prompt() == prompt, "after '\(line)'")
        }
        #expect(session.modes == [.global, .foreign])
    }

    /// `slb configure 'ip slb serverfarm X' 'real 1.2.3.4' 'no inservice'` on a running config.
    @Test func configureLinesOnExistingConfiguration() throws {
        var session = ConfigSession(configuration: base)
        for line in ["ip slb serverfarm F", "real 198.51.100.11", "no inservice"] {
            #expect(session.apply(line, line: 0).disposition == .applied)
        }
        let result = session.result()
        let configuration = try #require(result.configuration)
        #expect(configuration.farms[0].reals[0].inService == false)
        #expect(configuration.vservers == base.vservers)
    }

    @Test func mergeReentersExistingObjects() {
        var session = ConfigSession(configuration: base, redefinition: .merge)
        #expect(session.apply("ip slb serverfarm F", line: 1).diagnostics.isEmpty)
        #expect(session.apply("real 198.51.100.11", line: 2).diagnostics.isEmpty)
        #expect(session.draft.configuration == base)
    }

    static let dispositions: [(line: String, disposition: ConfigSession.Disposition)] = [
        ("", .comment), ("   ", .comment), ("! comment", .comment), ("   ! indented comment", .comment),
        ("hostname slb-east", .skipped), ("ip route 0.0.0.0 0.0.0.0 192.0.2.254", .skipped), ("no ip domain-lookup", .skipped),
        ("ip slb serverfarm G", .applied), ("ip slb bogus", .rejected), ("ip slb vserver", .rejected),
    ]

    @Test(arguments: dispositions)
    func disposition(line: String, disposition: ConfigSession.Disposition) {
        var session = ConfigSession()
        #expect(session.apply(line, line: 1).disposition == disposition)
    }

    /// A rejected header swallows its block's sub-commands, so one mistake is one error.
    @Test func rejectedBlockIsReportedOnce() {
        let result = parse("ip slb serverfarm F\n real 198.51.100.300\n  weight 3\n  inservice\n real 198.51.100.11\n  weight 2\n")
        #expect(result.errors.map(\.description) == ["t.cfg:2:7: error: expected a real server address A.B.C.D, found '198.51.100.300'"])
        #expect(result.configuration == nil)
    }

    @Test func commandsAfterABlankLineStayInTheBlock() throws {
        let configuration = try #require(parse("ip slb probe P ping\n\n!\n interval 7\n").configuration)
        #expect(configuration.probes[0].interval == 7)
    }

    @Test func trailingCommentAfterABlank() throws {
        let configuration = try #require(parse("ip slb serverfarm F\n real 198.51.100.11\n  maxconns 4000   ! two per tunnel\n").configuration)
        #expect(configuration.farms[0].reals[0].maxConns == 4000)
    }

    @Test func keywordTablesForHelp() {
        #expect(ConfigMode.real(farm: "F", RealKey(address: ip("198.51.100.11"))).commands.map(\.keyword)
            == ["weight", "maxconns", "retry", "inservice", "reassign", "faildetect", "exit", "end"])
        #expect(ConfigMode.serverFarm("F").commands.map(\.keyword).prefix(5) == ["predictor", "failaction", "probe", "nat", "real"])
        #expect(CommandTable.slbObjects.filter { $0.support == .supported }.map(\.keyword) == ["probe", "serverfarm", "vserver", "entries"])
        #expect(CommandTable.udpPortNames.map(\.port) == [500, 4500])
    }

    @Test func deletingAndRecreatingInAFileIsNotADuplicate() throws {
        let text = "ip slb serverfarm F\n real 198.51.100.11\nno ip slb serverfarm F\nip slb serverfarm F\n real 198.51.100.12\n"
        let result = parse(text)
        #expect(result.errors.isEmpty)
        #expect(result.configuration?.farms.first?.reals.map(\.address) == [ip("198.51.100.12")])
        #expect(messages(parse("no ip slb vserver NOPE\n"), [.error]) == ["t.cfg:1:19: error: expected an existing vserver name, found 'NOPE'"])
    }
}

@Suite struct HelpTests {
    @Test func helpListsCurrentThenEnclosingModes() {
        var session = ConfigSession()
        _ = session.apply("ip slb serverfarm F", line: 1)
        _ = session.apply("real 198.51.100.11", line: 2)
        #expect(session.help("re").map(\.keyword) == ["retry", "reassign", "real"])
        #expect(session.help("p").map(\.keyword) == ["predictor", "probe"])
        #expect(session.help().first?.syntax == "weight <1-255>")
        #expect(ConfigSession().help().map(\.keyword) == ["ip", "exit", "end"])
    }
}
