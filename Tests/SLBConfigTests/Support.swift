import Foundation
import SLBConfig
import SLBWire

/// Paths in the source tree, found from this file so tests run from any directory.
enum SourceTree {
    static let testsDirectory: String = {
        let path = #filePath
        return String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)])
    }()
    static let packageRoot: String = {
        var path = testsDirectory
        for _ in 0..<2 { path = String(path[..<(path.lastIndex(of: "/") ?? path.endIndex)]) }
        return path
    }()
    static let farms = packageRoot + "/Farms"
    static let fixtures = testsDirectory + "/Fixtures"
}

func readFile(_ path: String) -> String? { try? String(contentsOfFile: path, encoding: .utf8) }

func listDirectory(_ path: String, suffix: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(suffix) }.sorted()
}

func ip(_ text: String) -> IPv4Address {
    guard let address = IPv4Address(text) else { fatalError("bad test address \(text)") }
    return address
}

func mask(_ text: String) -> IPv4Mask {
    guard let mask = IPv4Mask(text) else { fatalError("bad test mask \(text)") }
    return mask
}

/// Parses `text` and returns the model, or nil; diagnostics are rendered for messages.
func parse(_ text: String) -> SLBConfig.ParseResult { ConfigParser.parse(text, file: "t.cfg") }

func messages(_ result: SLBConfig.ParseResult, _ severities: Set<Diagnostic.Severity> = [.error, .warning]) -> [String] {
    result.diagnostics.filter { severities.contains($0.severity) }.map(\.description)
}

/// A minimal valid IPsec configuration to which a test appends or prepends lines.
let minimalFarm = """
    ip slb probe P ping
    ip slb serverfarm F
     failaction purge
     probe P
     real 198.51.100.11
      inservice
    ip slb vserver V
     virtual 203.0.113.100 udp isakmp
     serverfarm F
     inservice
    """
