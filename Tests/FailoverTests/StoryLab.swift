import Foundation
import Gateway
import GatewayShow
import Lab
import SLBCore
import SLBWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The failover story's lab: the project's lab plan (client host, SLB, N gateway namespaces)
/// with `slb gateway` in every gateway namespace, `slb run` in the SLB namespace, and one
/// strongSwan charon per client (its own namespace) holding one IKEv2 or IKEv1 connection
/// (DPD with `dpd_action = restart`, short retransmission timers: spec ike.md §6).
/// Every process is started by this object, recorded by PID and killed by PID in `tearDown`.
final class StoryLab: @unchecked Sendable {
    // @unchecked: one test uses it at a time (the suite is serialized).
    static let vip = "203.0.113.100"
    static let service = "203.0.113.1"
    static let serial = Atomic<Int>(0)

    /// strongSwan timers (strongswan.conf / swanctl.conf below).
    static let dpdDelay = 2.0
    static let retransmitTimeout = 1.0, retransmitBase = 1.4, retransmitTries = 3

    /// IKEv1 (RFC 3706) clients: R-U-THERE after `dpdDelay` of inbound silence; the peer is
    /// dead when nothing came in for `dpdTimeout` (strongSwan's `dpd_timeout`, IKEv1 only).
    static let ikev1DPDTimeout = 6.0

    /// IKEv2 DPD detection time (spec ike.md §6): dpd_delay, then the liveness request and its
    /// retransmissions, each waiting timeout × base^i (i = 0 … tries), before the peer is dead.
    static var dpdDetection: Double {
        dpdDelay + (0...retransmitTries).reduce(0.0) { $0 + retransmitTimeout * pow(retransmitBase, Double($1)) }
    }

    /// IKEv1 DPD detection time (spec ike.md §6.2): dpd_delay + dpd_timeout. strongSwan checks
    /// every dpd_delay and, once it sent R-U-THERE, declares the peer dead dpd_timeout after
    /// the last inbound packet; the sum bounds it.
    static var ikev1DPDDetection: Double { dpdDelay + ikev1DPDTimeout }

    /// The longest detection time of any strongSwan client in the story.
    static var slowestDPDDetection: Double { max(dpdDetection, ikev1DPDDetection) }

    static let slbPath: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent(".build/debug/slb").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()

    /// Why the story cannot run here, or nil.
    static let unavailableReason: String? = {
        guard geteuid() == 0 else { return "failover story tests need root (namespaces, AF_PACKET)" }
        guard run(["ip", "netns", "list"]).status == 0 else { return "failover story tests need iproute2 (ip netns)" }
        guard slbPath != nil else { return "failover story tests need a built .build/debug/slb (swift build)" }
        for path in ["/usr/lib/ipsec/charon", "/usr/sbin/swanctl", "/usr/bin/ping"] where !FileManager.default.isExecutableFile(atPath: path) {
            return "failover story tests need strongSwan (charon, swanctl) and ping: \(path) missing"
        }
        guard FileManager.default.fileExists(atPath: "/dev/net/tun") else { return "kernel-libipsec needs /dev/net/tun" }
        return nil
    }()

    let plan: LabPlan
    let controller: LabController
    let dir: String
    let clients: [String]
    /// Indices of the strongSwan clients that speak IKEv1 (main mode PSK + quick mode); the
    /// others speak IKEv2.
    let ikev1Clients: Set<Int>
    private(set) var gateways: [Int: Process] = [:]
    private(set) var slb: Process?
    private var others: [Process] = []
    private var clientNamespaces: [String] = []

    init(gateways count: Int, clients clientCount: Int, ikev1Clients: Set<Int> = []) throws {
        let serial = StoryLab.serial.add(1, ordering: .relaxed).newValue % 100
        let id = try #require(LabID("f\(getpid() % 10000)x\(serial)"))
        dir = "/tmp/vslb-failover-\(id)"
        try? FileManager.default.removeItem(atPath: dir)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        chmod(dir, 0o700)
        controller = LabController(store: LabStateStore(directory: dir + "/lab"))
        plan = try LabPlan(id: id, gatewayCount: count)
        // The lab plan's spare public addresses (192.0.2.2–.9): not owned by the client host.
        precondition(clientCount <= 8, "at most 8 strongSwan clients (192.0.2.2–.9)")
        clients = (0..<clientCount).map { "192.0.2.\(2 + $0)" }
        self.ikev1Clients = ikev1Clients.filter { $0 < clientCount }
        _ = try controller.up(plan, owner: ProcessIdentity.current, handOver: true)
        let psk = dir + "/psk"
        _ = FileManager.default.createFile(atPath: psk, contents: Data("* \"lab-psk-0123456789\"\n".utf8),
                                           attributes: [.posixPermissions: 0o600])
        chmod(psk, 0o600)
    }

    func tearDown() {
        for p in [slb].compactMap({ $0 }) + Array(gateways.values) + others where p.isRunning {
            kill(p.processIdentifier, SIGTERM)
        }
        for p in [slb].compactMap({ $0 }) + Array(gateways.values) + others {
            let deadline = Date().addingTimeInterval(3)
            while p.isRunning && Date() < deadline { usleep(20_000) }
            if p.isRunning { kill(p.processIdentifier, SIGKILL); p.waitUntilExit() }
        }
        for ns in clientNamespaces { _ = StoryLab.run(["ip", "netns", "del", ns]) }
        do { try controller.down(plan.id) } catch { Issue.record("lab down failed: \(error)") }
        try? FileManager.default.removeItem(atPath: dir)
    }

    // MARK: processes

    @discardableResult
    func start(in namespace: String, _ arguments: [String], log name: String) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", namespace] + arguments
        let path = dir + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        return p
    }

    func log(_ name: String) -> String { (try? String(contentsOfFile: dir + "/" + name, encoding: .utf8)) ?? "" }

    func controlPath(_ n: Int) -> String { dir + "/gw\(n).sock" }

    /// `slb gateway` in gateway n's namespace; waits for "gateway up".
    func startGateway(_ n: Int) throws {
        try? FileManager.default.removeItem(atPath: controlPath(n))
        let name = "gw\(n)-\(Int(Date().timeIntervalSince1970 * 1000) % 1_000_000).log"
        let p = try start(in: plan.gatewayNamespace(n), [try #require(StoryLab.slbPath), "gateway", "--vip", StoryLab.vip,
                                                         "--psk-file", dir + "/psk", "--control", controlPath(n)], log: name)
        gateways[n] = p
        let up = waitUntil(seconds: 10) { FileManager.default.fileExists(atPath: self.controlPath(n)) && self.log(name).contains("gateway up") }
        try #require(up, "gateway \(n) did not come up: \(log(name))")
    }

    /// SIGKILL gateway n's `slb gateway` (by PID): its host still answers ping.
    func killGateway(_ n: Int) {
        guard let p = gateways[n] else { return }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
    }

    func startSLB(config: String) throws {
        try config.write(toFile: dir + "/farm.cfg", atomically: true, encoding: .utf8)
        slb = try start(in: plan.slbNamespace, [try #require(StoryLab.slbPath), "run", dir + "/farm.cfg",
                                                "--report-json", dir + "/snapshot.json", "--for", "300"], log: "slb.log")
        try #require(waitUntil(seconds: 30) { self.slbLog.contains("slb.run.ready") }, "slb run did not start: \(slbLog)")
    }

    var slbLog: String { log("slb.log") }

    /// SIGUSR1 → the engine snapshot `--report-json` writes.
    func snapshot() throws -> SLBSnapshot {
        let path = dir + "/snapshot.json"
        try? FileManager.default.removeItem(atPath: path)
        kill(try #require(slb).processIdentifier, SIGUSR1)
        try #require(waitUntil(seconds: 5) { FileManager.default.fileExists(atPath: path) }, "no snapshot written")
        usleep(50_000)
        return try JSONDecoder().decode(SLBSnapshot.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// The peers of the IKE SAs gateway n holds, one entry per SA: IKEv2 SAs and IKEv1 ISAKMP
    /// SAs (`slb gateway show crypto ikev2 sa --json` carries both); nil when it does not
    /// answer (dead process or gone namespace).
    func ikeSAs(_ n: Int) -> [String]? {
        guard let slbPath = StoryLab.slbPath else { return nil }
        let r = StoryLab.run(["ip", "netns", "exec", plan.gatewayNamespace(n), slbPath, "gateway", "show", "crypto", "ikev2", "sa",
                              "--json", "--control", controlPath(n)], timeout: 5)
        guard r.status == 0, let snapshot = try? JSONDecoder().decode(GatewaySnapshot.self, from: Data(r.stdout.utf8)) else { return nil }
        return snapshot.ikeSAs.map(\.remoteAddress) + snapshot.isakmpSAs.map(\.destination)
    }

    /// Which gateways hold an IKE SA (v2 or ISAKMP) of each client (client address → one
    /// gateway number per SA).
    func placement(_ live: [Int]) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for n in live {
            for peer in ikeSAs(n) ?? [] { out[peer, default: []].append(n) }
        }
        return out
    }

    // MARK: the project's own clients (`slb client --hold`, DPD + re-initiation)

    private var ownClients: Process?
    /// Their sources: the lab client host's addresses from 192.0.2.10 on.
    private(set) var ownSources: [String] = []

    func startOwnClients(_ count: Int) throws {
        ownSources = (0..<count).map { "192.0.2.\(10 + $0)" }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        p.arguments = ["netns", "exec", plan.clientNamespace, try #require(StoryLab.slbPath), "client", "--gateway", StoryLab.vip,
                       "--source", ownSources[0], "--count", "\(count)", "--psk-file", dir + "/psk", "--hold", "600",
                       "--dpd", "\(Int(StoryLab.dpdDelay))", "--ping-interval", "500", "--concurrency", "8", "--json"]
        _ = FileManager.default.createFile(atPath: dir + "/own.json", contents: nil)
        _ = FileManager.default.createFile(atPath: dir + "/own.log", contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/own.json"))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/own.log"))
        try p.run()
        ownClients = p
        others.append(p)
    }

    struct OwnReport: Decodable {
        var dpdDetectionSeconds: Double
        var results: [DPDClientResult]
    }

    /// SIGTERM (the client reports and exits), then its JSON report.
    func stopOwnClients() throws -> OwnReport {
        let p = try #require(ownClients)
        kill(p.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(10)
        while p.isRunning && Date() < deadline { usleep(20_000) }
        try #require(!p.isRunning, "slb client did not stop on SIGTERM")
        let data = try Data(contentsOf: URL(fileURLWithPath: dir + "/own.json"))
        return try JSONDecoder().decode(OwnReport.self, from: data)
    }

    // MARK: strongSwan clients

    /// Client I's own namespace (one charon and one kernel-libipsec TUN each: kernel-libipsec
    /// installs a route per remote TS, so two tunnels to one service address cannot share a
    /// namespace).
    func clientNamespace(_ i: Int) -> String { plan.id.namespacePrefix + "k\(i)" }
    func clientDir(_ i: Int) -> String { dir + "/ss\(i)" }

    /// swanctl for client I; it takes the command first, then its options.
    func swanctl(_ i: Int, _ command: String, _ options: [String]) -> [String] {
        ["env", "STRONGSWAN_CONF=\(clientDir(i))/strongswan.conf", "swanctl", command, "--uri", "unix://\(clientDir(i))/charon.vici"] + options
    }

    /// Client I's namespace, on the SLB's public bridge with a spare public address
    /// (192.0.2.2–.9: the lab plan keeps them free), default via the SLB.
    func addClientNamespace(_ i: Int) throws {
        let ns = clientNamespace(i)
        let outer = "f\(getpid() % 100_000)c\(i)a", inner = "f\(getpid() % 100_000)c\(i)b"
        let steps: [[String]] = [
            ["ip", "netns", "add", ns],
            ["ip", "link", "add", outer, "type", "veth", "peer", "name", inner],
            ["ip", "link", "set", outer, "netns", plan.slbNamespace],
            ["ip", "link", "set", inner, "netns", ns],
            ["ip", "-n", plan.slbNamespace, "link", "set", outer, "master", LabPlan.clientBridge],
            ["ip", "-n", plan.slbNamespace, "link", "set", outer, "up"],
            ["ip", "-n", ns, "link", "set", "lo", "up"],
            ["ip", "-n", ns, "link", "set", inner, "name", "eth0"],
            ["ip", "-n", ns, "addr", "add", clients[i] + "/24", "dev", "eth0"],
            ["ip", "-n", ns, "link", "set", "eth0", "up"],
            ["ip", "-n", ns, "route", "add", "default", "via", LabAddressPlan.slbPublic.description],
        ]
        clientNamespaces.append(ns)
        for step in steps {
            let r = StoryLab.run(step)
            try #require(r.status == 0, "\(step.joined(separator: " ")): \(r.stderr)")
        }
    }

    /// The IKE version client I speaks.
    func isIKEv1(_ i: Int) -> Bool { ikev1Clients.contains(i) }
    /// Client I's DPD detection time (its swanctl.conf's timers).
    func dpdDetection(_ i: Int) -> Double { isIKEv1(i) ? StoryLab.ikev1DPDDetection : StoryLab.dpdDetection }

    /// Client I: its namespace and charon with one connection `c`, child `t`.
    func startClient(_ i: Int) throws {
        try addClientNamespace(i)
        let ss = clientDir(i)
        try FileManager.default.createDirectory(atPath: ss + "/run", withIntermediateDirectories: true)
        try """
            charon {
              load = random nonce openssl pem pkcs1 x509 pubkey kdf curve25519 aes des md5 sha1 sha2 hmac gcm kernel-libipsec kernel-netlink socket-default vici updown
              retransmit_timeout = \(StoryLab.retransmitTimeout)
              retransmit_base = \(StoryLab.retransmitBase)
              retransmit_tries = \(StoryLab.retransmitTries)
              plugins {
                vici {
                  socket = unix://\(ss)/charon.vici
                }
                kernel-libipsec {
                  allow_peer_ts = no
                }
              }
            }

            """.write(toFile: ss + "/strongswan.conf", atomically: true, encoding: .utf8)
        try ((isIKEv1(i) ? ikev1Connection(i) : ikev2Connection(i)) + StoryLab.secrets)
            .write(toFile: ss + "/swanctl.conf", atomically: true, encoding: .utf8)
        others.append(try start(in: clientNamespace(i), ["env", "STRONGSWAN_CONF=\(ss)/strongswan.conf", "unshare", "-m", "sh", "-c",
                                                          "mount --bind \(ss)/run /run && exec /usr/lib/ipsec/charon"], log: "charon\(i).log"))
        try #require(waitUntil(seconds: 10) { FileManager.default.fileExists(atPath: ss + "/charon.vici") },
                     "charon \(i) did not open its vici socket: \(log("charon\(i).log"))")
        let load = inClient(i, swanctl(i, "--load-all", ["--noprompt", "--file", ss + "/swanctl.conf"]))
        try #require(load.status == 0, "\(load.stdout) \(load.stderr)")
    }

    /// Client I's IKEv2 connection (spec ike.md §6.2): PSK, DPD liveness after `dpdDelay`,
    /// `dpd_action = restart`.
    private func ikev2Connection(_ i: Int) -> String {
        """
        connections {
          c {
            version = 2
            remote_addrs = \(StoryLab.vip)
            proposals = aes128-sha256-x25519, aes256gcm16-prfsha256-modp2048
            mobike = no
            dpd_delay = \(Int(StoryLab.dpdDelay))s
            local {
              auth = psk
              id = client\(i).example
            }
            remote {
              auth = psk
              id = \(StoryLab.vip)
            }
            children {
              t {
                remote_ts = \(StoryLab.service)/32
                esp_proposals = aes128-sha256, aes128gcm16
                dpd_action = restart
              }
            }
          }
        }

        """
    }

    /// Client I's IKEv1 connection (spec ike.md §6.2): main mode PSK (identities are the
    /// addresses, as main mode PSK lookup wants), explicit proposal combinations (strongSwan
    /// encodes one algorithm of each type per IKEv1 proposal), RFC 3706 DPD with
    /// `dpd_timeout`, and `dpd_action = restart`.
    private func ikev1Connection(_ i: Int) -> String {
        """
        connections {
          c {
            version = 1
            aggressive = no
            local_addrs = \(clients[i])
            remote_addrs = \(StoryLab.vip)
            proposals = aes128-sha1-modp2048, 3des-sha1-modp1024
            dpd_delay = \(Int(StoryLab.dpdDelay))s
            dpd_timeout = \(Int(StoryLab.ikev1DPDTimeout))s
            local {
              auth = psk
              id = \(clients[i])
            }
            remote {
              auth = psk
              id = \(StoryLab.vip)
            }
            children {
              t {
                remote_ts = \(StoryLab.service)/32
                esp_proposals = aes128-sha1, 3des-md5
                dpd_action = restart
              }
            }
          }
        }

        """
    }

    /// The lab PSK for every peer (the gateways' `--psk-file` holds the same).
    static let secrets = """
        secrets {
          ike-any {
            secret = "lab-psk-0123456789"
          }
        }

        """

    func initiate(_ i: Int) -> Bool {
        inClient(i, swanctl(i, "--initiate", ["--child", "t", "--timeout", "15"]), timeout: 20).status == 0
    }

    /// One echo through client I's tunnel (1 s timeout).
    func ping(_ i: Int) -> Bool {
        inClient(i, ["ping", "-n", "-q", "-c", "1", "-W", "1", StoryLab.service], timeout: 5).status == 0
    }

    func inClient(_ i: Int, _ arguments: [String], timeout: TimeInterval = 30) -> (status: Int32, stdout: String, stderr: String) {
        StoryLab.run(["ip", "netns", "exec", clientNamespace(i)] + arguments, timeout: timeout)
    }

    /// `slb ARGS` run to completion in the lab's client host namespace.
    func inClient(slbPath: Bool, _ arguments: [String], timeout: TimeInterval = 30) -> (status: Int32, stdout: String, stderr: String) {
        StoryLab.run(["ip", "netns", "exec", plan.clientNamespace, StoryLab.slbPath ?? "slb"] + arguments, timeout: timeout)
    }

    /// Background pingers, one per client (`ping -D -i 0.2`), for the outage measurement.
    func startPingers() throws -> [Int] {
        var started: [Int] = []
        for i in clients.indices {
            others.append(try start(in: clientNamespace(i), ["ping", "-n", "-D", "-i", "0.2", "-W", "1", StoryLab.service],
                                    log: "ping\(i).log"))
            started.append(i)
        }
        return started
    }

    func stopPingers() {
        for p in others where p.isRunning && (p.arguments?.contains("ping") ?? false) {
            kill(p.processIdentifier, SIGINT)
            p.waitUntilExit()
        }
    }

    /// The epoch times of answered echoes in client I's pinger log.
    func answeredPings(_ i: Int) -> [Double] {
        log("ping\(i).log").split(separator: "\n").compactMap { line in
            guard line.hasPrefix("["), line.contains("bytes from"), let close = line.firstIndex(of: "]") else { return nil }
            return Double(line[line.index(after: line.startIndex)..<close])
        }
    }

    // MARK: helpers

    static func run(_ arguments: [String], timeout: TimeInterval = 30) -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = arguments
        let out = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("vslb-fo-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let err = URL(fileURLWithPath: out.path + ".err")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
        guard let o = try? FileHandle(forWritingTo: out), let e = try? FileHandle(forWritingTo: err) else { return (-1, "", "") }
        p.standardOutput = o
        p.standardError = e
        do { try p.run() } catch { return (-1, "", "\(error)") }
        let deadline = Date().addingTimeInterval(timeout)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "", (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

/// Polls `body` every 50 ms until it is true or `seconds` pass.
@discardableResult
func waitUntil(seconds: Double, _ body: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if body() { return true }
        usleep(50_000)
    }
    return body()
}
