import ArgumentParser
import ControlSocket
import CryptoOpenSSL
import Foundation
import Gateway
import GatewayShow
import IKE
import IPsecCrypto
import Logging
import SLBWire

/// `slb gateway`: the embedded IKEv2 + IKEv1/ESP gateway (run it on a real, VIP on loopback), and
/// `slb gateway show crypto …` to ask the running one.
struct GatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Run the embedded IKEv2 + IKEv1/ESP gateway, or show its SAs.",
        subcommands: [GatewayRunCommand.self, GatewayShowCommand.self],
        defaultSubcommand: GatewayRunCommand.self)
}

struct GatewayRunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Serve IKEv2 and IKEv1 on UDP 500/4500 and ESP (raw and UDP-encapsulated) on the VIP.")

    @Option(help: "The virtual IP clients dial (bound for 500, 4500 and raw ESP).")
    var vip: String

    @Option(name: .customLong("psk-file"), help: "Pre-shared keys: 'identity secret' lines, '*' = default; root-owned, mode 600.")
    var pskFile: String

    @Option(help: "Address pool (PREFIX) for CP INTERNAL_IP4_ADDRESS requests.")
    var pool: String?

    @Option(help: "Inside/service address answering ping through the tunnel.")
    var inside: String = "203.0.113.1"

    @Flag(name: .customLong("force-natt"), help: "Fake a NAT so peers always use ESP-in-UDP/4500.")
    var forceNATT = false

    @Option(help: "Also serve on this local address (directed-mode farms); repeatable.")
    var listen: [String] = []

    @Option(help: "Control socket path (root only).")
    var control: String = GatewayControl.defaultPath

    @Option(name: .customLong("esp-lifetime"), help: "Hard ESP SA lifetime in seconds.")
    var espLifetime: UInt64 = 3960

    @Option(name: .customLong("ike-lifetime"), help: "IKEv2 SA lifetime in seconds (IOS default 86400; 0 = none): an IKE SA the peer has not rekeyed by then is deleted with an INFORMATIONAL DELETE.")
    var ikeLifetime: UInt64 = 86_400

    @Option(name: .customLong("cookie-secret-file"), help: "Farm-wide IKE COOKIE secret (root-only file, ≥ 16 octets); default: random per process.")
    var cookieSecretFile: String?

    @Option(help: "Dead peer detection: seconds of IKE silence before a liveness check (IKEv2 INFORMATIONAL, IKEv1 R-U-THERE; default off).")
    var dpd: UInt64?

    @Option(name: .customLong("ikev1-policy"), help: "IKEv1 'crypto isakmp policy': 'PRIORITY ENC HASH GROUP [LIFETIME]', e.g. '10 aes256 sha256 14'; repeatable, replaces the defaults.")
    var ikev1Policy: [String] = []

    @Flag(name: .customLong("no-ikev1"), help: "Drop IKEv1 (version 1.0) datagrams instead of answering them.")
    var noIKEv1 = false

    func validate() throws {
        guard IPv4Address(vip) != nil else { throw ValidationError("--vip: not an IPv4 address: \(vip)") }
        guard IPv4Address(inside) != nil else { throw ValidationError("--inside: not an IPv4 address: \(inside)") }
        for l in listen where IPv4Address(l) == nil { throw ValidationError("--listen: not an IPv4 address: \(l)") }
        if let pool, parsePrefix(pool) == nil { throw ValidationError("--pool: expected A.B.C.D/N, got \(pool)") }
        guard espLifetime > 0 else { throw ValidationError("--esp-lifetime must be positive") }
        if let dpd { guard (1...86_400).contains(dpd) else { throw ValidationError("--dpd: 1…86400 seconds") } }
        for p in ikev1Policy where IKEv1GatewayOptions.parsePolicy(p) == nil {
            throw ValidationError("--ikev1-policy: expected 'PRIORITY 3des|aes|aes128|aes192|aes256 md5|sha|sha256|sha384|sha512 2|5|14|19|20|31 [60…86400]', got '\(p)'")
        }
    }

    func run() throws {
        let psks: PSKTable
        let cookieKey: [UInt8]
        do {
            psks = try PSKFile.load(pskFile)
            cookieKey = try cookieSecretFile.map(PSKFile.loadCookieSecret) ?? OpenSSLCryptoProvider().randomBytes(count: 32)
        } catch {
            FileHandle.standardError.write(Data("slb gateway: \(error)\n".utf8))
            throw ExitCode(1)
        }
        guard let vipAddress = IPv4Address(vip), let insideAddress = IPv4Address(inside) else { throw ExitCode(1) }
        let secret = CookieJar.Secret(version: 1, key: cookieKey)
        var config = GatewayConfiguration(virtualIP: vipAddress, preSharedKeys: psks, cookieSecret: secret)
        config.insideAddress = insideAddress
        config.listenAddresses = listen.compactMap { IPv4Address($0) }
        config.addressPool = pool.flatMap(parsePrefix)
        config.forceUDPEncapsulation = forceNATT
        config.espLifetime.hardTime = .seconds(espLifetime)
        config.ikeLifetime = ikeLifetime == 0 ? nil : .seconds(ikeLifetime)
        config.livenessInterval = dpd.map { .seconds($0) }
        let policies = ikev1Policy.compactMap(IKEv1GatewayOptions.parsePolicy)
        config.ikev1 = IKEv1GatewayOptions(policies: policies.isEmpty ? IKEv1GatewayOptions.defaultPolicies : policies,
                                           enabled: !noIKEv1)
        let server: GatewayServer
        do {
            server = try GatewayServer(configuration: config, controlPath: control, logger: Logger(label: "slb.gateway"))
        } catch {
            FileHandle.standardError.write(Data("slb gateway: \(error)\n".utf8))
            throw ExitCode(1)
        }
        server.run()
    }
}

struct GatewayShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Ask the running gateway: show crypto ikev2 sa [detail] | show crypto isakmp sa | show crypto ipsec sa.",
        aliases: ["sh", "sho"])

    @Argument(help: "crypto ikev2 sa [detail] | crypto isakmp sa | crypto ipsec sa (unique prefixes accepted)")
    var words: [String]

    @Flag(help: "Print the snapshot as JSON.")
    var json = false

    @Option(help: "Control socket path of the running gateway.")
    var control: String = GatewayControl.defaultPath

    enum Table { case ikev2(detail: Bool), isakmp, ipsec }

    static func parseWords(_ words: [String]) -> Table? {
        func matches(_ word: String, _ keyword: String) -> Bool { !word.isEmpty && keyword.hasPrefix(word.lowercased()) }
        guard words.count >= 3, matches(words[0], "crypto"), matches(words[2], "sa") else { return nil }
        if matches(words[1], "ikev2") {
            if words.count == 3 { return .ikev2(detail: false) }
            if words.count == 4, matches(words[3], "detail") { return .ikev2(detail: true) }
            return nil
        }
        if matches(words[1], "ipsec"), words.count == 3 { return .ipsec }
        if matches(words[1], "isakmp"), words.count == 3 { return .isakmp }
        return nil
    }

    func run() throws {
        guard let table = Self.parseWords(words) else {
            throw ValidationError("expected 'crypto ikev2 sa [detail]', 'crypto isakmp sa' or 'crypto ipsec sa'")
        }
        let snapshot: GatewaySnapshot
        do {
            snapshot = try GatewayControl.fetchSnapshot(path: control)
        } catch {
            FileHandle.standardError.write(Data("slb gateway show: \(error)\n".utf8))
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: try GatewayControl.encode(snapshot), as: UTF8.self))
            return
        }
        switch table {
        case .ikev2(let detail): print(IKEv2SATable.render(snapshot, detail: detail), terminator: "")
        case .isakmp: print(GatewayShowText.isakmpSA(snapshot), terminator: "")
        case .ipsec: print(IPsecSATable.render(snapshot), terminator: "")
        }
    }
}

/// `A.B.C.D/N` → network.
func parsePrefix(_ text: String) -> IPv4Network? {
    let parts = text.split(separator: "/", omittingEmptySubsequences: false)
    guard parts.count == 2, let a = IPv4Address(parts[0]), let n = Int(parts[1]), let mask = IPv4Mask(prefixLength: n) else { return nil }
    return IPv4Network(address: a, mask: mask)
}
