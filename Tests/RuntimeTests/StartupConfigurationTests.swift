import Foundation
import Logging
import Runtime
import SLBConfig
import SLBCore
import SLBWire
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// IOS running vs startup configuration: `slb configure` changes the running configuration
/// only, `slb write memory` saves it to the file, a reload (or SIGHUP) reads the file and says
/// which unsaved changes it discarded.
@Suite("Running and startup configuration")
struct StartupConfigurationTests {
    static let path = "/etc/vpnslb/farm.cfg"
    static let drain = ["ip slb serverfarm IPSEC", "real 198.51.100.12", "no inservice"]
    static let undrain = ["ip slb serverfarm IPSEC", "real 198.51.100.12", "inservice"]

    /// A service whose file and log lines live in memory.
    final class Harness {
        let engine: Engine
        let service: ControlService
        let files = FileBox()
        let log = LogLines()
        var writes: [(text: String, path: String)] = []
        var failWrite: String?

        init(fileText: String? = farmText, configFile: String? = StartupConfigurationTests.path) throws {
            let configuration = try parsed()
            engine = loadedEngine(clients: 6, configuration: configuration)
            let files = files
            let log = log
            var logger = Logger(label: "test", factory: { _ in TextLogHandler { log.append($0) } })
            logger.logLevel = .info
            if let fileText, let configFile { files.files[configFile] = fileText }
            var writer: ((String, String) throws -> Void)?
            service = ControlService(server: nil, running: configuration, configFile: configFile, startupText: fileText,
                                     logger: logger,
                                     readFile: { path in
                                         guard let text = files.files[path] else { throw FileMissing(path: path) }
                                         return text
                                     },
                                     writeFile: { text, path in try writer?(text, path) })
            writer = { [unowned self] text, path in
                if let failWrite { throw FileMissing(path: failWrite) }
                writes.append((text, path))
                files.files[path] = text
            }
        }

        func ask(_ request: ControlRequest) -> ControlAnswer? {
            var answer: ControlAnswer?
            service.submit(request) { answer = $0 }
            var steps = 0
            while answer == nil && steps < 100 {
                _ = service.step(engine: engine, now: t(2))
                steps += 1
            }
            return answer
        }

        var drained: Bool { engine.configuration.farms[0].reals[1].inService == false }
    }

    @Test("a reload after configure discards the change, and says so in the answer and the log")
    func reloadDiscardsUnsaved() throws {
        let harness = try Harness()
        #expect(harness.ask(.configure(Self.drain))?.ok == true)
        #expect(harness.drained)
        #expect(harness.service.startup.unsaved == Self.drain)
        let answer = try #require(harness.ask(.reload(file: nil)))
        #expect(answer.ok)
        #expect(answer.text.contains("% warning: reload discarded 3 unsaved changes: 'ip slb serverfarm IPSEC', "
                                     + "'real 198.51.100.12', 'no inservice'; save them first with slb write memory"),
                "\(answer.text)")
        #expect(!harness.drained)
        #expect(harness.service.startup.unsaved.isEmpty)
        let warning = try #require(harness.log.lines.first { $0.hasPrefix("slb.reload.unsaved_discarded") })
        #expect(warning.contains("no inservice") && warning.contains(Self.path))
        // Nothing unsaved any more: the next reload is silent.
        let again = try #require(harness.ask(.reload(file: nil)))
        #expect(!again.text.contains("discarded"))
        #expect(harness.log.lines.filter { $0.hasPrefix("slb.reload.unsaved_discarded") }.count == 1)
    }

    @Test("write memory saves the running configuration; a reload then keeps the drained real")
    func writeThenReload() throws {
        let harness = try Harness()
        #expect(harness.ask(.configure(Self.drain))?.ok == true)
        let answer = try #require(harness.ask(.writeMemory(force: false)))
        #expect(answer.ok, "\(answer.text)")
        #expect(answer.text == "Building configuration...\n[OK] \(Self.path)")
        let written = try #require(harness.writes.first)
        #expect(written.path == Self.path)
        #expect(written.text == ConfigRenderer.render(harness.service.running))
        #expect(ConfigParser.parse(written.text, file: "x").configuration == harness.service.running)
        #expect(harness.service.startup.unsaved.isEmpty)
        let reload = try #require(harness.ask(.reload(file: nil)))
        #expect(reload.ok && !reload.text.contains("discarded"))
        #expect(harness.drained)
        #expect(harness.log.lines.contains { $0.hasPrefix("slb.write.memory") })
    }

    @Test("write memory refuses a file edited on disk since it was loaded, unless forced", arguments: [
        (farmText + "! edited by hand\n", false),
        (nil as String?, false),
        (farmText, true),
    ])
    func changedOnDisk(onDisk: String?, accepted: Bool) throws {
        let harness = try Harness()
        harness.files.files[Self.path] = onDisk
        #expect(harness.ask(.configure(Self.drain))?.ok == true)
        let answer = try #require(harness.ask(.writeMemory(force: false)))
        #expect(answer.ok == accepted, "\(answer.text)")
        if !accepted {
            #expect(answer.text.contains("changed on disk since it was loaded"))
            #expect(harness.writes.isEmpty)
            #expect(harness.service.startup.unsaved == Self.drain)
            let forced = try #require(harness.ask(.writeMemory(force: true)))
            #expect(forced.ok)
        }
        #expect(harness.writes.count == 1)
        #expect(harness.service.startup.unsaved.isEmpty)
    }

    @Test("without the loaded text, an unchanged file is recognised by its configuration")
    func unknownText() throws {
        let configuration = try parsed()
        var startup = StartupConfiguration(path: Self.path, saved: configuration, text: nil)
        #expect(startup.isUnchangedOnDisk(current: farmText))
        #expect(startup.isUnchangedOnDisk(current: ConfigRenderer.render(configuration)))
        #expect(!startup.isUnchangedOnDisk(current: farmText.replacingFirst("faildetect 3", with: "faildetect 4")))
        #expect(!startup.isUnchangedOnDisk(current: nil))
        startup.written(configuration, text: "x")
        #expect(!startup.isUnchangedOnDisk(current: farmText))
    }

    @Test("write memory errors: no file to save to, a failing write (nothing marked saved)")
    func writeErrors() throws {
        let none = try Harness(fileText: nil, configFile: nil)
        let answer = try #require(none.ask(.writeMemory(force: true)))
        #expect(!answer.ok && answer.text.contains("no configuration file"))

        let failing = try Harness()
        failing.failWrite = "disk full"
        #expect(failing.ask(.configure(Self.drain))?.ok == true)
        let failed = try #require(failing.ask(.writeMemory(force: false)))
        #expect(!failed.ok)
        #expect(failing.service.startup.unsaved == Self.drain)
        #expect(failing.log.lines.contains { $0.hasPrefix("slb.write.failed") })
    }

    /// Each step: configure lines (or a reload of a file), then what is unsaved.
    enum Step: Sendable, CustomStringConvertible {
        case configure([String])
        case reloadOther(String)
        case reloadStartup

        var description: String {
            switch self {
            case .configure(let lines): "configure \(lines.last ?? "")"
            case .reloadOther(let path): "reload \(path)"
            case .reloadStartup: "reload"
            }
        }
    }

    @Test("what counts as unsaved", arguments: [
        // Drained then put back: the running configuration equals the file again.
        ([Step.configure(drain), .configure(undrain)], [String]()),
        ([.configure(drain)], drain),
        // A rejected configure changes nothing.
        ([.configure(["ip slb vserver IPSEC-ESP", "serverfarm NOSUCH"])], []),
        ([.configure(drain), .reloadStartup], []),
        // Another file is a change of the running configuration, not of the startup one.
        ([.reloadOther("/tmp/other.cfg")], ["reload /tmp/other.cfg"]),
        ([.reloadOther("/tmp/same.cfg")], []),
    ])
    func unsaved(steps: [Step], expected: [String]) throws {
        let harness = try Harness()
        harness.files.files["/tmp/other.cfg"] = farmText.replacingFirst("faildetect 3", with: "faildetect 5")
        harness.files.files["/tmp/same.cfg"] = farmText
        for step in steps {
            switch step {
            case .configure(let lines): _ = harness.ask(.configure(lines))
            case .reloadOther(let path): #expect(harness.ask(.reload(file: path))?.ok == true)
            case .reloadStartup: #expect(harness.ask(.reload(file: nil))?.ok == true)
            }
        }
        #expect(harness.service.startup.unsaved == expected)
        #expect((harness.service.startup.discardedByReload(running: harness.service.running) == nil) == expected.isEmpty)
    }

    @Test("a rejected reload discards nothing and warns about nothing")
    func rejectedReloadKeepsChanges() throws {
        let harness = try Harness()
        #expect(harness.ask(.configure(Self.drain))?.ok == true)
        harness.files.files[Self.path] = "ip slb serverfarm X\n real 1.2.3\n"
        let answer = try #require(harness.ask(.reload(file: nil)))
        #expect(!answer.ok && !answer.text.contains("discarded"))
        #expect(harness.drained)
        #expect(harness.service.startup.unsaved == Self.drain)
    }

    @Test("the warning names at most namedChangesLimit changes and counts the rest")
    func warningBounded() throws {
        var startup = StartupConfiguration(path: Self.path, saved: try parsed(), text: farmText)
        let running = try parsed(farmText.replacingFirst("faildetect 3", with: "faildetect 4"))
        let lines = (1...25).map { "line \($0)" }
        startup.configured(lines, running: running)
        let text = try #require(startup.discardedByReload(running: running))
        #expect(text.hasPrefix("25 unsaved changes: 'line 1', "))
        #expect(text.hasSuffix("'line 20' and 5 more"))
    }
}

/// The atomic writer on a real file system (a temporary directory; no root needed).
@Suite("Configuration file writer")
struct ConfigurationFileWriterTests {
    static func scratch() throws -> String {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("vslb-wr-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    static func mode(_ path: String) -> mode_t {
        var status = stat()
        return stat(path, &status) == 0 ? status.st_mode & 0o7777 : 0
    }

    @Test("replaces the file, keeps its mode, leaves no temporary file", arguments: [0o600, 0o640, 0o644] as [mode_t])
    func replaceKeepsMode(mode: mode_t) throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/farm.cfg"
        try farmText.write(toFile: path, atomically: false, encoding: .utf8)
        #expect(chmod(path, mode) == 0)
        try ConfigurationFileWriter.write("ip slb probe P ping\n", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "ip slb probe P ping\n")
        #expect(Self.mode(path) == mode)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["farm.cfg"])
    }

    @Test("a symbolic link is followed: the target is replaced, the link stays")
    func symbolicLink() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/real", withIntermediateDirectories: true)
        try farmText.write(toFile: directory + "/real/farm.cfg", atomically: false, encoding: .utf8)
        #expect(symlink("real/farm.cfg", directory + "/farm.cfg") == 0)
        try ConfigurationFileWriter.write("new\n", to: directory + "/farm.cfg")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: directory + "/farm.cfg") == "real/farm.cfg")
        #expect(try String(contentsOfFile: directory + "/real/farm.cfg", encoding: .utf8) == "new\n")
    }

    @Test("a missing file is created (mode 0644); a missing directory is an error")
    func missing() throws {
        let directory = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let previous = umask(0o022)
        defer { umask(previous) }
        try ConfigurationFileWriter.write("x\n", to: directory + "/new.cfg")
        #expect(Self.mode(directory + "/new.cfg") == ConfigurationFileWriter.newFileMode)
        #expect(throws: ConfigurationFileWriter.WriteError.self) {
            try ConfigurationFileWriter.write("x\n", to: directory + "/nope/new.cfg")
        }
    }
}

/// Log lines captured by a `TextLogHandler`.
final class LogLines: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}
