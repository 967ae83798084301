import Logging
import SLBCore

/// Logs every `EngineEvent` (probe transitions come as `slb.real.down` / `slb.real.up`)
/// through swift-log with dotted metadata keys, and counts them by name for the metrics.
/// Called on the forwarding thread; the counts are read by the metrics renderer there too.
public final class EventLog {
    public let logger: Logger
    public private(set) var counts: [String: UInt64] = [:]

    public init(logger: Logger) { self.logger = logger }

    public func record(_ event: EngineEvent) {
        counts[event.name, default: 0] += 1
        logger.log(level: Self.level(event), "\(event.name)", metadata: Self.metadata(event))
    }

    /// Dotted keys, as DESIGN.md's logging rule asks (`slb.real`, `slb.farm`, ...).
    public static func metadata(_ event: EngineEvent) -> Logger.Metadata {
        switch event {
        case .realDown(let real, let address, let farm, let reason, _):
            ["slb.real": "\(address)", "slb.real_id": "\(real.index)", "slb.farm": "\(farm)", "slb.reason": "\(reason)"]
        case .realUp(let real, let address, let farm, _):
            ["slb.real": "\(address)", "slb.real_id": "\(real.index)", "slb.farm": "\(farm)"]
        case .purge(let real, let address, let farm, let connections, _):
            ["slb.real": "\(address)", "slb.real_id": "\(real.index)", "slb.farm": "\(farm)",
             "slb.connections": "\(connections)"]
        case .farmNoReal(let farm, let vserver, _):
            ["slb.farm": "\(farm)", "slb.vserver": "\(vserver)"]
        }
    }

    static func level(_ event: EngineEvent) -> Logger.Level {
        switch event {
        case .realDown, .farmNoReal: .warning
        case .purge: .notice
        case .realUp: .info
        }
    }
}

/// `--log-format`: IOS-ish text lines (swift-log's stream handler) or JSON lines.
public enum LogFormat: String, Sendable, CaseIterable {
    case text
    case json
}

/// One JSON object per line on standard error: `{"level":..,"label":..,"message":..,"slb.real":..}`.
/// Metadata keys stay dotted and flat, so `jq 'select(.["slb.farm"]=="IPSEC")'` works.
public struct JSONLinesLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let label: String
    let write: @Sendable (String) -> Void

    public init(label: String, write: @escaping @Sendable (String) -> Void) {
        self.label = label
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        write(line(level: event.level, message: event.message, metadata: event.metadata))
    }

    func line(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?) -> String {
        var fields: [(String, String)] = [("level", level.rawValue), ("label", label), ("message", message.description)]
        let merged = self.metadata.merging(explicit ?? [:]) { _, new in new }
        for key in merged.keys.sorted() { fields.append((key, "\(merged[key] ?? "")")) }
        return Self.encode(fields)
    }

    /// A flat JSON object of strings (RFC 8259 §7 escaping), keys in the given order.
    static func encode(_ fields: [(String, String)]) -> String {
        "{" + fields.map { "\"\(escape($0.0))\":\"\(escape($0.1))\"" }.joined(separator: ",") + "}"
    }

    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}

/// Text lines in the style of the rest of `slb run`'s log: the dotted event name, then
/// `key=value` pairs (the `slb.` prefix dropped, the event name already carries it) with the
/// object first: `slb.real.down real=198.51.100.12 farm=VPN3 reason=probe GW-PING`.
public struct TextLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level = .info
    let write: @Sendable (String) -> Void

    /// Keys printed first, in this order; the rest follow sorted.
    static let leadingKeys = ["slb.real", "slb.farm", "slb.vserver", "slb.reason", "slb.connections"]

    public init(write: @escaping @Sendable (String) -> Void) { self.write = write }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        write(Self.line(message: event.message.description,
                        metadata: self.metadata.merging(event.metadata ?? [:]) { _, new in new }))
    }

    static func line(message: String, metadata: Logger.Metadata) -> String {
        let keys = leadingKeys.filter { metadata[$0] != nil }
            + metadata.keys.filter { !leadingKeys.contains($0) }.sorted()
        let pairs = keys.map { key -> String in
            let short = key.hasPrefix("slb.") ? String(key.dropFirst(4)) : key
            return "\(short)=\(metadata[key].map { "\($0)" } ?? "")"
        }
        return ([message] + pairs).joined(separator: " ")
    }
}
