import Foundation
import SLBConfig
import SLBWire

/// Reads a farm file (IOS `ip slb` text) through SLBConfig, as `slb run` would.
public enum FarmLoader {
    public static let defaultFarm = "Farms/three-gateways.cfg"

    public static func load(_ path: String) throws -> SLBConfiguration {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw BenchError("\(path): cannot read (\(error.localizedDescription))")
        }
        let result = ConfigParser.parse(text, file: path)
        guard let configuration = result.configuration else {
            throw BenchError("\(path): " + result.diagnostics.map(\.description).joined(separator: "; "))
        }
        return configuration
    }
}

public struct BenchError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Synthetic client addresses for in-process scenarios. They are only table keys (nothing is
/// sent), but still come from ranges reserved for exactly this: 198.18.0.0/15 (RFC 2544
/// benchmarking, 131,072 addresses), then 100.64.0.0/10 (RFC 6598 shared address space, where
/// carrier-grade NAT puts VPN clients in real deployments).
public enum SyntheticClients {
    public static let benchmarking = 131_072
    public static let capacity = benchmarking + 4_194_304

    public static func address(_ index: Int) -> IPv4Address {
        if index < benchmarking { return IPv4Address(IPv4Address(198, 18, 0, 0).value + UInt32(index)) }
        return IPv4Address(IPv4Address(100, 64, 0, 0).value + UInt32(truncatingIfNeeded: index - benchmarking))
    }
}
