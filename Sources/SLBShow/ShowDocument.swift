#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
import SLBCore
import SLBWire

/// The JSON answer to a `show ... --json`: the part of `SLBSnapshot` that the table shows,
/// under the same keys (`taken` always; then `connections`, `reals`, `farms`, `vservers`,
/// `sticky`, `probes` or `stats`). Keys absent from a document are omitted, not null. The
/// schema is documented in README.md.
public struct ShowDocument: Hashable, Sendable, Codable {
    public var taken: MonotonicTime
    public var connections: [ConnectionSnapshot]?
    public var reals: [RealSnapshot]?
    public var farms: [FarmSnapshot]?
    public var vservers: [VServerSnapshot]?
    public var sticky: [StickySnapshot]?
    public var probes: [ProbeSnapshot]?
    public var stats: StatsSnapshot?

    public init(taken: MonotonicTime, connections: [ConnectionSnapshot]? = nil, reals: [RealSnapshot]? = nil,
                farms: [FarmSnapshot]? = nil, vservers: [VServerSnapshot]? = nil, sticky: [StickySnapshot]? = nil,
                probes: [ProbeSnapshot]? = nil, stats: StatsSnapshot? = nil) {
        self.taken = taken
        self.connections = connections
        self.reals = reals
        self.farms = farms
        self.vservers = vservers
        self.sticky = sticky
        self.probes = probes
        self.stats = stats
    }
}

/// JSON with sorted keys and two-space indentation, so equal snapshots give equal bytes.
public enum ShowJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let data = try encoder.encode(value)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}
