import SLBConfig
import SLBWire
import Testing

/// Checks that need the whole file: references, conflicts, sticky groups, IPsec advice.
@Suite struct SemanticTests {
    static let farmHeader = """
        ip slb probe P ping
        ip slb serverfarm F
         failaction purge
         probe P
         real 198.51.100.11
          inservice
        ip slb serverfarm G
         failaction purge
         probe P
         real 198.51.100.12
          inservice

        """   // lines 1-11; vservers start at line 12

    static func vservers(_ text: String) -> String { farmHeader + text }

    static let cases: [DiagnosticCase] = [
        DiagnosticCase(text: "ip slb serverfarm F\n failaction purge\n probe NOPE\n real 198.51.100.11\nip slb vserver V\n virtual 203.0.113.100 esp\n serverfarm F\n", expected: [
            "t.cfg:3:8: error: serverfarm F uses unknown probe NOPE",
        ]),
        DiagnosticCase(text: vservers(" ip slb vserver A\n virtual 203.0.113.100 udp isakmp\n serverfarm X backup Y\n"), expected: [
            "t.cfg:14:13: error: vserver A uses unknown serverfarm X",
            "t.cfg:14:22: error: vserver A uses unknown backup serverfarm Y",
        ]),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp isakmp\n serverfarm F backup F\n"), expected: [
            "t.cfg:14:22: warning: vserver A uses serverfarm F as its own backup",
        ]),
        // `backup ... sticky` without sticky has no effect; a sticky vserver whose backup of
        // two reals is not sticky may part a client's flows; a group must agree on its backup.
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp isakmp\n serverfarm F backup G sticky\n"), expected: [
            "t.cfg:14:22: warning: vserver A has no sticky: 'backup G sticky' has no effect",
        ]),
        DiagnosticCase(text: vservers("ip slb serverfarm H\n failaction purge\n probe P\n real 198.51.100.13\n real 198.51.100.14\nip slb vserver A\n virtual 203.0.113.100 udp isakmp\n serverfarm F backup H\n sticky 60 group 1\n inservice\nip slb vserver B\n virtual 203.0.113.100 esp\n serverfarm F backup H sticky\n sticky 60 group 1\n inservice\n"), expected: [
            "t.cfg:19:22: warning: vserver A is sticky but its backup serverfarm H is not ('backup H sticky'): while the backup serves, a client's flows may land on different reals of H",
            "t.cfg:24:13: warning: sticky group 1: vserver B has 'backup H sticky' but vserver A has 'backup H'; buddied flows may part while the backup serves",
        ]),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp isakmp\n serverfarm F backup G\n sticky 60\n"), expected: []),
        // Same VIP, protocol and port, both in service: a conflict...
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp 500\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 udp isakmp\n serverfarm F\n inservice\n"), expected: [
            "t.cfg:17:10: error: vserver B claims 203.0.113.100 udp 500 like vserver A (line 13): give them disjoint client ranges or take one out of service",
        ]),
        // ... `any` twice, and a VIP network overlaps its hosts ...
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.0 255.255.255.0 udp any\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 udp any\n serverfarm F\n inservice\n"), expected: [
            "t.cfg:17:10: error: vserver B claims 203.0.113.100 udp any like vserver A (line 13): give them disjoint client ranges or take one out of service",
        ]),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.0 255.255.255.0 udp 4500\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 udp 4500\n serverfarm G\n inservice\n"), expected: [
            "t.cfg:17:10: error: vserver B claims 203.0.113.100 udp 4500 like vserver A (line 13): give them disjoint client ranges or take one out of service",
        ]),
        // ... but an exact port beside `any` is fine: exact ports match first (spec §6),
        // whichever comes first in the file and whether the VIPs are equal or nested.
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp any\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 udp 4500\n serverfarm G\n inservice\n"), expected: []),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp isakmp\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 udp any\n serverfarm G\n inservice\n"), expected: []),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.0 255.255.255.0 udp any\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 udp 4500\n serverfarm F\n inservice\n"), expected: []),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp any\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 esp\n serverfarm F\n inservice\n"), expected: [
            // No conflict (another protocol), only the IPsec advice: `any` carries IKE too.
            "t.cfg:16:16: warning: vserver B (esp) is not in a sticky group with A on the same VIP: a client's ESP may reach a different gateway than its IKE",
        ]),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 esp\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 esp\n client 192.0.2.0 255.255.255.0\n serverfarm G\n inservice\n"), expected: [
            "t.cfg:17:10: error: vserver B claims 203.0.113.100 esp like vserver A (line 13): give them disjoint client ranges or take one out of service",
        ]),
        // ... but not with disjoint client ranges, another port, or one out of service.
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 esp\n client 192.0.2.0 255.255.255.128\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 esp\n client 192.0.2.128 255.255.255.128\n serverfarm G\n inservice\n"), expected: []),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp 500\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 udp 4500\n serverfarm F\n inservice\n"), expected: []),
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp 500\n serverfarm F\n inservice\nip slb vserver B\n virtual 203.0.113.100 udp 500\n serverfarm G\n"), expected: []),
        // Sticky groups: one farm, one netmask; different timers are a warning.
        DiagnosticCase(text: vservers("ip slb vserver A\n virtual 203.0.113.100 udp 500\n serverfarm F\n sticky 100 group 1\n inservice\nip slb vserver B\n virtual 203.0.113.100 esp\n serverfarm G\n sticky 300 group 1 netmask 255.255.255.0\n inservice\n"), expected: [
            "t.cfg:19:13: warning: sticky group 1: vserver B uses serverfarm G and vserver A uses F, but real 198.51.100.11 is not in both: a client bound to it is balanced anew by the other vserver",
            "t.cfg:20:9: error: sticky group 1: vserver B has netmask 255.255.255.0 but vserver A has 255.255.255.255; a group keys clients with one netmask",
            "t.cfg:20:9: warning: sticky group 1 has different sticky timers (A 100 s, B 300 s): the binding uses the largest, 300 s",
        ]),
        // Buddied vservers on different farms holding the same gateways: fine (the binding
        // follows the real's address).
        DiagnosticCase(text: "ip slb probe P ping\nip slb serverfarm F\n failaction purge\n probe P\n real 198.51.100.11\n  inservice\n real 198.51.100.12\n  inservice\nip slb serverfarm G\n failaction purge\n probe P\n real 198.51.100.12\n  inservice\n real 198.51.100.11\n  inservice\nip slb vserver A\n virtual 203.0.113.100 udp 500\n serverfarm F\n sticky 100 group 1\n inservice\nip slb vserver B\n virtual 203.0.113.100 esp\n serverfarm G\n sticky 100 group 1\n inservice\n", expected: []),
        // IPsec advice: ESP not bound to its IKE vserver; farms without probe or purge.
        DiagnosticCase(text: "ip slb serverfarm F\n real 198.51.100.11\nip slb vserver I\n virtual 203.0.113.100 udp isakmp\n serverfarm F\n inservice\nip slb vserver E\n virtual 203.0.113.100 esp\n serverfarm F\n sticky 60\n inservice\n", expected: [
            "t.cfg:1:19: warning: serverfarm F has no probe: a failed gateway is never detected for UDP and ESP",
            "t.cfg:1:19: warning: serverfarm F has no 'failaction purge': IKE and ESP flows stay on a failed gateway until idle",
            "t.cfg:10:9: warning: vserver E (esp) is not in a sticky group with I on the same VIP: a client's ESP may reach a different gateway than its IKE",
        ]),
        DiagnosticCase(text: "ip slb probe P ping\n address 198.51.100.50\nip slb serverfarm F\n failaction purge\n probe P\n real 198.51.100.11 500\nip slb vserver V\n virtual 203.0.113.100 udp isakmp\n serverfarm F\n sticky 0 group 3\n", expected: [
            "t.cfg:2:10: warning: probe P address is not used for serverfarm F: each real's own address is probed",
            "t.cfg:6:7: warning: real 198.51.100.11 500 has a port but serverfarm F is in dispatched mode: the port is used only with 'nat server'",
            "t.cfg:10:9: warning: vserver V has sticky 0 (off): its group and netmask have no effect",
        ]),
    ]

    @Test(arguments: cases)
    func semantic(_ testCase: DiagnosticCase) {
        let result = parse(testCase.text)
        #expect(messages(result) == testCase.expected)
    }

    @Test func notesForUnusedObjectsAndRetry() {
        let result = parse("ip slb probe Q ike\nip slb serverfarm H\n real 198.51.100.11\n  retry 30\n")
        #expect(messages(result, [.note]) == [
            "t.cfg:1:14: note: probe Q is not used by any serverfarm",
            "t.cfg:2:19: note: serverfarm H is not used by any vserver",
            "t.cfg:4:9: note: retry has no effect on UDP and ESP virtual servers (IOS retries failed TCP reals only)",
        ])
        #expect(result.configuration != nil)
    }

    /// A model built in code (or decoded from JSON) gets the checks the parser makes impossible.
    @Test func modelBuiltInCode() {
        let real = RealServer(address: IPv4Address(198, 51, 100, 11), weight: 0, maxConns: 0, retry: 0)
        let configuration = SLBConfiguration(
            probes: [Probe(name: "P", interval: 0, faildetect: 0), Probe(name: "P")],
            farms: [ServerFarm(name: "F", failactionPurge: true, probes: ["P"], reals: [real, real]),
                    ServerFarm(name: "F")],
            vservers: [VirtualServer(name: "A NAME TOO LONG!", address: IPv4Address(203, 0, 113, 100), service: .esp,
                                     farm: "F", idle: 5)],
            entries: TableLimits(connections: 0, sticky: TableLimits.maximumEntries + 1))
        let found = ConfigValidator.validate(configuration, file: "model").filter { $0.severity == .error }.map(\.message)
        #expect(found == [
            "duplicate probe name P",
            "duplicate serverfarm name F",
            "expected a vserver name of 1-15 characters without blanks, found 'A NAME TOO LONG!'",
            "expected connection entries 1-16000000, found 0",
            "expected sticky entries 1-16000000, found 16000001",
            "expected probe P interval 1-65535, found 0",
            "expected probe P faildetect 1-255, found 0",
            "expected weight of real 198.51.100.11 1-255, found 0",
            "expected maxconns of real 198.51.100.11 1-4294967295, found 0",
            "expected retry of real 198.51.100.11 1-3600, found 0",
            "expected weight of real 198.51.100.11 1-255, found 0",
            "expected maxconns of real 198.51.100.11 1-4294967295, found 0",
            "expected retry of real 198.51.100.11 1-3600, found 0",
            "expected idle of vserver A NAME TOO LONG! 10-65535, found 5",
            "duplicate real 198.51.100.11 in serverfarm F",
        ])
        #expect(ConfigValidator.validate(configuration, file: "model").allSatisfy { $0.line == 0 })
    }
}
