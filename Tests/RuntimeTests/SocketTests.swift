import ControlSocket
import Foundation
import Runtime
import SLBCore
import SLBWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The built `slb` (swift build --build-tests builds it).
enum SLBBinary {
    static let path: String? = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let candidate = url.appendingPathComponent(".build/debug/slb").path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }()
}

/// A control service answering on a real Unix socket from a background thread (standing in
/// for the forwarding loop), stopped by `stop()`.
final class SocketServiceRunner: @unchecked Sendable {
    let path: String
    let directory: String
    private let stopped = Atomic<Bool>(false)
    private let done = DispatchSemaphore(value: 0)

    init(engine: Engine, configuration: SLBConfiguration, configFile: String? = nil, startupText: String? = nil) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-ctl-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        path = directory + "/slb.sock"
        let server = try ControlServer(path: path)
        let service = ControlService(server: server, running: configuration, configFile: configFile, startupText: startupText,
                                     pageSlots: 8, logger: quietLogger)
        let box = Handoff(value: (engine, service))
        Thread { [self] in
            let (engine, service) = box.value
            var now = MonotonicTime.seconds(2)
            while !stopped.load(ordering: .acquiring) {
                _ = service.step(engine: engine, now: now)
                now = now + .milliseconds(2)
                if !service.isBusy { usleep(2_000) }
            }
            done.signal()
        }.start()
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        done.wait()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

struct Handoff<T>: @unchecked Sendable { let value: T }

enum StartupFileMode {
    static func of(_ path: String) -> mode_t {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o7777 : 0
    }
}

import SLBConfig
import SLBShow

@Suite("Control socket (root)", .serialized,
       .enabled(if: getuid() == 0, "needs root: the control socket only answers uid 0 peers"))
struct ControlSocketTests {
    @Test("a paged conns listing over the socket equals the in-process rendering")
    func showOverSocket() throws {
        let configuration = try parsed()
        let engine = loadedEngine(clients: 100, configuration: configuration)
        let expected = try ShowRenderer.render(ShowRequest(table: .conns(.all)), engine.snapshot(now: .seconds(2), connections: .all))
        let runner = try SocketServiceRunner(engine: engine, configuration: configuration)
        defer { runner.stop() }
        let answer = try ControlRequest.show(["sh", "ip", "slb", "conn"]).send(to: runner.path, timeoutMilliseconds: 5000)
        #expect(answer.ok)
        #expect(answer.text == expected)
        let bad = try ControlRequest.show(["nonsense"]).send(to: runner.path, timeoutMilliseconds: 5000)
        #expect(!bad.ok)
    }

    @Test("a non-root peer is refused (SO_PEERCRED), even when file modes would let it connect",
          .enabled(if: SLBBinary.path != nil, "needs a built .build/debug/slb"))
    func nonRootRefused() throws {
        let configuration = try parsed()
        let runner = try SocketServiceRunner(engine: loadedEngine(clients: 1, configuration: configuration), configuration: configuration)
        defer { runner.stop() }
        // Open the modes so only the credential check stands in the way.
        chmod(runner.directory, 0o755)
        chmod(runner.path, 0o666)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", try #require(SLBBinary.path),
                             "show", "--control", runner.path, "ip", "slb", "reals"]
        let output = Pipe()
        process.standardError = output
        process.standardOutput = output
        try process.run()
        process.waitUntilExit()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus != 0)
        #expect(text.contains("refused") && text.contains("root only"), "\(text)")
    }

    @Test("slb configure, then slb write memory over the socket: the file holds the change; a hand edit is not overwritten without --force",
          .enabled(if: SLBBinary.path != nil, "needs a built .build/debug/slb"))
    func writeMemoryOverSocket() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-wm-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/farm.cfg"
        try farmText.write(toFile: file, atomically: false, encoding: .utf8)
        chmod(file, 0o640)
        let configuration = try parsed()
        let runner = try SocketServiceRunner(engine: loadedEngine(clients: 2, configuration: configuration),
                                             configuration: configuration, configFile: file, startupText: farmText)
        defer { runner.stop() }
        func slb(_ arguments: [String]) throws -> (status: Int32, text: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try #require(SLBBinary.path))
            process.arguments = [try #require(arguments.first), "--control", runner.path] + arguments.dropFirst()
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
        #expect(try slb(["configure", "ip slb serverfarm IPSEC", "real 198.51.100.12", "no inservice"]).status == 0)
        let written = try slb(["write", "mem"])
        #expect(written.status == 0 && written.text == "Building configuration...\n[OK] \(file)\n", "\(written.text)")
        let saved = try String(contentsOfFile: file, encoding: .utf8)
        let running = try slb(["show", "running-config"])
        #expect(saved + "\n" == running.text || saved == running.text, "\(saved)\n---\n\(running.text)")
        #expect(ConfigParser.parse(saved, file: file).configuration?.farms[0].reals[1].inService == false)
        #expect(StartupFileMode.of(file) == 0o640)

        try (saved + "! edited by hand\n").write(toFile: file, atomically: false, encoding: .utf8)
        let refused = try slb(["write", "memory"])
        #expect(refused.status != 0 && refused.text.contains("changed on disk since it was loaded"), "\(refused.text)")
        #expect(try String(contentsOfFile: file, encoding: .utf8).hasSuffix("! edited by hand\n"))
        #expect(try slb(["write", "--force"]).status == 0)
        #expect(try String(contentsOfFile: file, encoding: .utf8) == saved)
        #expect(try slb(["write", "terminal"]).status != 0)
    }

    @Test("the metrics port answers a scrape on loopback")
    func metricsScrape() throws {
        let server = try MetricsServer(listen: "127.0.0.1:0")
        server.publish("vpnslb_test 1\n")
        server.start()
        defer { server.stop() }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = server.port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(rc == 0)
        let request = Array("GET /metrics HTTP/1.0\r\n\r\n".utf8)
        _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.0 200 OK"))
        #expect(text.hasSuffix("\r\n\r\nvpnslb_test 1\n"))
    }
}
