import ArgumentParser
import ControlSocket
import Dataplane
import Foundation
import Logging
import Runtime
import SLBConfig
import SLBCore

/// `slb run`'s daemon options: the control socket, metrics, the state file and log format.
struct RuntimeOptions: ParsableArguments {
    @OptionGroup var control: ControlOptions

    @Option(help: "Serve Prometheus metrics on this loopback ADDRESS:PORT (e.g. 127.0.0.1:9464).")
    var metrics: String?

    @Option(name: .customLong("state-file"),
            help: "Keep the connection and sticky tables here across restarts (written every 10 s and at SIGTERM).")
    var stateFile: String?

    @Option(name: .customLong("log-format"), help: "Events on standard error as text or JSON lines.")
    var logFormat: LogFormatOption = .text

    enum LogFormatOption: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    /// Bootstraps logging (once per process), binds the control socket and the metrics port.
    func makeServices(configuration: SLBConfiguration, file: String?, text: String? = nil) throws -> SLBRuntime {
        let format = logFormat
        LoggingSystem.bootstrap { label in
            switch format {
            case .text: TextLogHandler { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
            case .json: JSONLinesLogHandler(label: label) { line in FileHandle.standardError.write(Data((line + "\n").utf8)) }
            }
        }
        let logger = Logger(label: "slb")
        // A live socket belongs to another `slb run`: binding over it would take its control
        // channel away silently (ControlServer unlinks what it takes for a stale file).
        if (try? ControlRequest.runningConfig(all: false).send(to: control.path, timeoutMilliseconds: 1000)) != nil {
            throw ValidationError("--control \(control.path): another slb run answers there; give this one its own path")
        }
        let server: ControlServer
        do { server = try ControlServer(path: control.path) } catch {
            throw ValidationError("--control \(control.path): \(error)")
        }
        var exporter: MetricsServer?
        if let metrics {
            do { exporter = try MetricsServer(listen: metrics) } catch { throw ValidationError("\(error)") }
        }
        let absolute = file.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let service = ControlService(server: server, running: configuration, configFile: absolute, startupText: text,
                                     logger: logger)
        let runtime = SLBRuntime(control: service, logger: logger, metrics: exporter, stateFile: stateFile)
        exporter?.start()
        logger.info("slb.control.ready", metadata: ["slb.control": "\(control.path)", "slb.metrics": "\(metrics ?? "-")",
                                                   "slb.state_file": "\(stateFile ?? "-")"])
        return runtime
    }
}
