import SLBConfig
import SLBWire
import Testing

/// Golden messages: a file and the exact `file:line:col: severity: message` lines it must give
/// (errors and warnings; notes are checked where they are the point).
struct DiagnosticCase: Sendable, CustomTestStringConvertible {
    let text: String
    let expected: [String]
    var testDescription: String { text.split(separator: "\n").first.map(String.init) ?? "" }
}

@Suite struct DiagnosticTests {
    static let syntaxCases: [DiagnosticCase] = [
        // Values out of range, each reported at the offending word.
        DiagnosticCase(text: "ip slb probe P ping\n interval 0\n faildetect 256\n", expected: [
            "t.cfg:2:11: error: expected interval seconds 1-65535, found '0'",
            "t.cfg:3:13: error: expected faildetect count 1-255, found '256'",
        ]),
        DiagnosticCase(text: "ip slb serverfarm F\n real 198.51.100.11\n  weight 0\n  maxconns 4294967296\n  retry 3601\n", expected: [
            "t.cfg:3:10: error: expected weight 1-255, found '0'",
            "t.cfg:4:12: error: expected maxconns 1-4294967295, found '4294967296'",
            "t.cfg:5:9: error: expected retry seconds 1-3600, found '3601'",
        ]),
        DiagnosticCase(text: "ip slb vserver V\n virtual 203.0.113.100 udp 65536\n idle 9\n sticky 65536\n sticky 1 group 256\n", expected: [
            "t.cfg:1:16: error: vserver V has no serverfarm: expected 'serverfarm NAME'",
            "t.cfg:2:28: error: expected a UDP port 0-65535, found '65536'",
            "t.cfg:3:7: error: expected idle seconds 10-65535, found '9'",
            "t.cfg:4:9: error: expected sticky seconds 0-65535, found '65536'",
            "t.cfg:5:17: error: expected sticky group 0-255, found '256'",
        ]),
        DiagnosticCase(text: "ip slb entries conn 0\nip slb entries sticky 16000001\nip slb entries conn 1 conn 2\nip slb entries\n", expected: [
            "t.cfg:1:21: error: expected connection entries 1-16000000, found '0'",
            "t.cfg:2:23: error: expected sticky entries 1-16000000, found '16000001'",
            "t.cfg:3:23: error: expected sticky, found 'conn'",
            "t.cfg:4:15: error: expected conn or sticky, found end of line",
        ]),
        // Missing and extra words.
        DiagnosticCase(text: "ip slb probe P\nip slb probe Q http\nip slb serverfarm\nip slb serverfarm F extra\n", expected: [
            "t.cfg:1:15: error: expected probe type ping or ike, found end of line",
            "t.cfg:2:16: error: 'http' probes are not supported: expected ping or ike",
            "t.cfg:3:18: error: expected a serverfarm name, found end of line",
            "t.cfg:4:21: error: expected end of line, found 'extra'",
        ]),
        DiagnosticCase(text: "ip slb serverfarm THIS-NAME-IS-TOO-LONG\nip slb bogus\nip slb\n", expected: [
            "t.cfg:1:19: error: expected a serverfarm name of at most 15 characters, found 'THIS-NAME-IS-TOO-LONG' (21)",
            "t.cfg:2:8: error: expected probe, serverfarm, vserver or entries after 'ip slb', found 'bogus'",
            "t.cfg:3:7: error: expected probe, serverfarm, vserver or entries after 'ip slb', found end of line",
        ]),
        // Addresses and masks.
        DiagnosticCase(text: "ip slb serverfarm F\n real 198.51.100.256\n real 198.51.100.11 0\nip slb vserver V\n virtual 203.0.113.100 255.0.255.0 esp\n client 192.0.2.0\n", expected: [
            "t.cfg:1:19: warning: serverfarm F has no real servers",
            "t.cfg:2:7: error: expected a real server address A.B.C.D, found '198.51.100.256'",
            "t.cfg:3:21: error: expected a port 1-65535, found '0'",
            "t.cfg:4:16: error: vserver V has no serverfarm: expected 'serverfarm NAME'",
            "t.cfg:5:24: error: expected a virtual address mask with contiguous ones, found '255.0.255.0'",
            "t.cfg:6:18: error: expected a client mask, found end of line",
        ]),
        // Unsupported protocols and options: a diagnostic each, never a crash.
        DiagnosticCase(text: "ip slb vserver T\n virtual 203.0.113.100 tcp www\n serverfarm F\nip slb vserver G\n virtual 203.0.113.100 gre\n virtual 203.0.113.100 47\n", expected: [
            "t.cfg:2:24: error: tcp virtual servers are not supported: expected protocol udp or esp, found 'tcp' (VPNSLB balances IKE, NAT-T and ESP)",
            "t.cfg:3:13: error: vserver T uses unknown serverfarm F",
            "t.cfg:4:16: error: vserver G has no serverfarm: expected 'serverfarm NAME'",
            "t.cfg:5:24: error: gre virtual servers are not supported: expected protocol udp or esp, found 'gre' (VPNSLB balances IKE, NAT-T and ESP)",
            "t.cfg:6:24: error: expected protocol udp or esp (protocol 50), found '47': only UDP and ESP virtual servers are supported",
        ]),
        DiagnosticCase(text: "ip slb natpool P 192.0.2.1 192.0.2.9 netmask 255.255.255.0\n foo\nip slb serverfarm F\n nat client P\n", expected: [
            "t.cfg:1:8: error: 'ip slb natpool' is not supported: client NAT is not supported",
            "t.cfg:3:19: warning: serverfarm F has no real servers",
            "t.cfg:4:6: error: 'nat client' is not supported: expected nat server, found 'client'",
        ]),
        // Unknown sub-commands: indented → error; a near miss at column 1 → error with a hint.
        DiagnosticCase(text: "ip slb serverfarm F\n real 198.51.100.11\n  wieght 3\n  speed 100\nwieght 4\n", expected: [
            "t.cfg:3:3: error: expected a real server command (weight, maxconns, retry or inservice), found 'wieght'; did you mean 'weight'?",
            "t.cfg:4:3: error: expected a real server command (weight, maxconns, retry or inservice), found 'speed'",
            "t.cfg:5:1: error: expected a real server command (weight, maxconns, retry or inservice), found 'wieght'; did you mean 'weight'?",
        ]),
        DiagnosticCase(text: "ip slb vserver V\n no\n no bogus 3\n", expected: [
            "t.cfg:1:16: error: vserver V has no virtual address: expected 'virtual A.B.C.D {udp PORT|esp}'",
            "t.cfg:1:16: error: vserver V has no serverfarm: expected 'serverfarm NAME'",
            "t.cfg:2:4: error: expected a command after 'no', found end of line",
            "t.cfg:3:2: error: expected a vserver command (virtual, serverfarm, sticky, idle, client or inservice), found 'no'",
        ]),
        // Redefinitions in a file.
        DiagnosticCase(text: "ip slb probe P ping\nip slb probe P ike\nip slb probe P ping\nip slb serverfarm F\n real 198.51.100.11\n real 198.51.100.11\nip slb serverfarm F\n", expected: [
            "t.cfg:2:16: error: expected probe type ping for existing probe P, found 'ike'",
            "t.cfg:3:14: error: duplicate probe P: already defined at line 1",
            "t.cfg:6:7: error: duplicate real 198.51.100.11 in serverfarm F: already defined at line 5",
            "t.cfg:7:19: error: duplicate serverfarm F: already defined at line 4",
        ]),
        // Ignored IOS commands (TCP only, DFP) are warnings.
        DiagnosticCase(text: "ip slb serverfarm F\n bindid 3\n real 198.51.100.11\n  reassign 2\n  faildetect numconns 4 numclients 2\n  no faildetect inband\nip slb vserver V\n delay 5\n synguard 100\n advertise active\n", expected: [
            "t.cfg:2:2: warning: 'bindid' is accepted and ignored: bindid is used by DFP only",
            "t.cfg:4:3: warning: 'reassign' is accepted and ignored: reassign applies to TCP only",
            "t.cfg:5:3: warning: 'faildetect' is accepted and ignored: in-band failure detection counts TCP connection attempts only",
            "t.cfg:6:6: warning: 'faildetect' is accepted and ignored: in-band failure detection counts TCP connection attempts only",
            "t.cfg:7:16: error: vserver V has no virtual address: expected 'virtual A.B.C.D {udp PORT|esp}'",
            "t.cfg:7:16: error: vserver V has no serverfarm: expected 'serverfarm NAME'",
            "t.cfg:8:2: warning: 'delay' is accepted and ignored: delay applies to TCP only",
            "t.cfg:9:2: warning: 'synguard' is accepted and ignored: synguard applies to TCP only",
            "t.cfg:10:2: warning: 'advertise' is accepted and ignored: VPNSLB does not install routes for VIPs",
        ]),
        // Accepted-and-ignored commands keep their IOS grammar and ranges (spec §1.4
        // `faildetect numconns 1-255 [numclients 1-8]`, §1.5 `synguard count [period]`,
        // `advertise [active]`): a bad word is an error at that word, not a warning.
        DiagnosticCase(text: "ip slb serverfarm F\n bindid 65534\n real 198.51.100.11\n  faildetect numconns 0\n  faildetect numconns 4 numclients 9\n  faildetect bogus\n  faildetect numconns 4 extra\n  reassign 2 3\nip slb vserver V\n synguard\n synguard 100 10\n synguard 100 200 x\n advertise passive\n delay 0\n", expected: [
            "t.cfg:2:9: error: expected bind id 0-65533, found '65534'",
            "t.cfg:4:23: error: expected numconns 1-255, found '0'",
            "t.cfg:5:36: error: expected numclients 1-8, found '9'",
            "t.cfg:6:14: error: expected numconns or inband, found 'bogus'",
            "t.cfg:7:25: error: expected end of line, found 'extra'",
            "t.cfg:8:14: error: expected end of line, found '3'",
            "t.cfg:9:16: error: vserver V has no virtual address: expected 'virtual A.B.C.D {udp PORT|esp}'",
            "t.cfg:9:16: error: vserver V has no serverfarm: expected 'serverfarm NAME'",
            "t.cfg:10:10: error: expected synguard count 0-1073741823, found end of line",
            "t.cfg:11:15: error: expected synguard period milliseconds 50-5000, found '10'",
            "t.cfg:12:19: error: expected end of line, found 'x'",
            "t.cfg:13:12: error: expected end of line, found 'passive'",
            "t.cfg:14:8: error: expected delay seconds 1-600, found '0'",
        ]),
        // ... and their `no` forms may repeat valid arguments.
        DiagnosticCase(text: "ip slb probe P ping\nip slb serverfarm F\n failaction purge\n probe P\n no bindid 7\n real 198.51.100.11\n  faildetect inband\n  no faildetect numconns 4 numclients 2\n  no reassign\nip slb vserver V\n virtual 203.0.113.100 esp\n serverfarm F\n no synguard\n synguard 0 5000\n no advertise active\n no delay 5\n", expected: [
            "t.cfg:5:5: warning: 'bindid' is accepted and ignored: bindid is used by DFP only",
            "t.cfg:7:3: warning: 'faildetect' is accepted and ignored: in-band failure detection counts TCP connection attempts only",
            "t.cfg:8:6: warning: 'faildetect' is accepted and ignored: in-band failure detection counts TCP connection attempts only",
            "t.cfg:9:6: warning: 'reassign' is accepted and ignored: reassign applies to TCP only",
            "t.cfg:13:5: warning: 'synguard' is accepted and ignored: synguard applies to TCP only",
            "t.cfg:14:2: warning: 'synguard' is accepted and ignored: synguard applies to TCP only",
            "t.cfg:15:5: warning: 'advertise' is accepted and ignored: VPNSLB does not install routes for VIPs",
            "t.cfg:16:5: warning: 'delay' is accepted and ignored: delay applies to TCP only",
        ]),
        // `no` forms reset to the default; a word after them must still be a valid argument
        // (IOS takes `no weight 10`, not `no weight foo`), and `no inservice` takes none.
        DiagnosticCase(text: "ip slb probe P ping\n no interval x\n no address 1.2.3\nip slb serverfarm F\n no predictor random\n real 198.51.100.11\n  no weight foo\n  no inservice xyz\n  no weight 10\n  no faildetect inband now\nip slb vserver V\n no idle 99999\n no inservice xyz\n no sticky 60 group 300\n no idle 60\n no serverfarm F backup G sticky x\n no virtual 203.0.113.100 tcp\n", expected: [
            "t.cfg:2:14: error: expected interval seconds 1-65535, found 'x'",
            "t.cfg:3:13: error: expected a probe address A.B.C.D, found '1.2.3'",
            "t.cfg:5:15: error: expected predictor roundrobin or leastconns, found 'random'",
            "t.cfg:7:13: error: expected weight 1-255, found 'foo'",
            "t.cfg:8:16: error: expected end of line, found 'xyz'",
            "t.cfg:10:24: error: expected end of line, found 'now'",
            "t.cfg:11:16: error: vserver V has no virtual address: expected 'virtual A.B.C.D {udp PORT|esp}'",
            "t.cfg:11:16: error: vserver V has no serverfarm: expected 'serverfarm NAME'",
            "t.cfg:12:10: error: expected idle seconds 10-65535, found '99999'",
            "t.cfg:13:15: error: expected end of line, found 'xyz'",
            "t.cfg:14:21: error: expected sticky group 0-255, found '300'",
            "t.cfg:16:34: error: expected end of line, found 'x'",
            "t.cfg:17:27: error: tcp virtual servers are not supported: expected protocol udp or esp, found 'tcp' (VPNSLB balances IKE, NAT-T and ESP)",
        ]),
        // `no` forms naming something that is not there.
        DiagnosticCase(text: "ip slb probe P ping\nip slb serverfarm F\n failaction purge\n probe P\n no probe Q\n no real 198.51.100.99\n real 198.51.100.11\nip slb vserver V\n virtual 203.0.113.100 esp\n serverfarm F\n no client 192.0.2.0 255.255.255.0\nno ip slb probe Q\n", expected: [
            "t.cfg:5:11: error: expected a probe attached to serverfarm F, found 'Q'",
            "t.cfg:6:10: error: expected a real of serverfarm F, found '198.51.100.99'",
            "t.cfg:11:12: error: expected a client range of vserver V, found '192.0.2.0 255.255.255.0'",
            "t.cfg:12:17: error: expected an existing probe name, found 'Q'",
        ]),
        // Options of IOS commands that VPNSLB does not implement.
        DiagnosticCase(text: "ip slb probe P ping\n address 198.51.100.1 routed\nip slb vserver V\n virtual 203.0.113.100 udp 500 service per-packet\n serverfarm F backup G sticky now\n inservice standby HSRP1\n exit 2\n exit\n", expected: [
            "t.cfg:2:23: error: 'address ... routed' is not supported: expected end of line, found 'routed'",
            "t.cfg:3:16: error: vserver V has no serverfarm: expected 'serverfarm NAME'",
            "t.cfg:4:32: error: 'service' is not supported: expected end of line, found 'service'",
            "t.cfg:5:31: error: expected end of line, found 'now'",
            "t.cfg:6:12: error: 'inservice standby' (stateful backup) is not supported: expected end of line, found 'standby'",
            "t.cfg:7:7: error: expected end of line, found '2'",
        ]),
    ]

    @Test(arguments: syntaxCases)
    func syntax(_ testCase: DiagnosticCase) {
        let result = parse(testCase.text)
        #expect(messages(result) == testCase.expected)
        #expect(result.configuration == nil || !testCase.expected.contains { $0.contains(": error: ") })
    }
}

