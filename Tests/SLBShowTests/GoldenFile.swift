import Foundation
import Testing

/// Golden files live in Fixtures/ (a resource of this test target). Run the tests with
/// `SLB_UPDATE_GOLDENS=1` to rewrite the non-seed goldens from the current output, then read
/// the diff before committing: a golden is a reviewed expectation, not a recording.
enum GoldenFile {
    static func text(_ name: String) throws -> String {
        let url = try #require(Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Fixtures"),
                               "missing fixture \(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }

    static var updating: Bool { ProcessInfo.processInfo.environment["SLB_UPDATE_GOLDENS"] == "1" }

    /// Compares `actual` with the fixture, or rewrites the fixture in the source tree when updating.
    static func expect(_ actual: String, matches name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        if updating, !name.hasPrefix("seed") {
            let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
            try actual.write(to: directory.appendingPathComponent(name), atomically: true, encoding: .utf8)
            return
        }
        let expected = try text(name)
        #expect(actual == expected, "\(name) differs:\n--- expected\n\(expected)--- actual\n\(actual)",
                sourceLocation: sourceLocation)
    }
}
