import SLBCore
import SLBShow
import SLBWire
import Testing

@Suite("JSON documents")
struct JSONTests {
    static let commands = ["conns", "conns client 192.0.2.10", "reals", "reals sfarm GATEWAYS", "vservers",
                           "serverfarms", "sticky", "probe", "stats"]

    @Test("round trip: decoding the JSON gives back the selected rows", arguments: commands)
    func roundTrip(command: String) throws {
        let request = try ShowCommandParser.parse(command + " --json")
        let text = try ShowRenderer.render(request, SampleSnapshots.lab)
        let decoded = try ShowJSON.decode(ShowDocument.self, from: text)
        #expect(decoded == ShowRenderer.select(request, from: SampleSnapshots.lab))
        #expect(decoded.taken == SampleSnapshots.lab.taken)
    }

    @Test("each table carries only its own keys", arguments: [
        ("conns", ["connections", "taken"]),
        ("reals", ["reals", "taken"]),
        ("vservers", ["taken", "vservers"]),
        ("serverfarms", ["farms", "reals", "taken"]),
        ("sticky", ["sticky", "taken"]),
        ("probe", ["probes", "taken"]),
        ("stats", ["stats", "taken"]),
    ])
    func topLevelKeys(command: String, keys: [String]) throws {
        let text = try ShowRenderer.render(try ShowCommandParser.parse(command + " --json"), SampleSnapshots.lab)
        // Top-level keys are the lines indented by exactly two spaces.
        let topLevel = text.split(separator: "\n").compactMap { line -> String? in
            guard line.hasPrefix("  \""), !line.hasPrefix("   ") else { return nil }
            return line.dropFirst(3).split(separator: "\"").first.map(String.init)
        }
        #expect(topLevel == keys)
    }

    @Test("keys are sorted and the bytes are stable")
    func stable() throws {
        let request = try ShowCommandParser.parse("conns --json")
        let first = try ShowRenderer.render(request, SampleSnapshots.lab)
        let second = try ShowRenderer.render(request, SampleSnapshots.lab)
        #expect(first == second)
        let keys = first.split(separator: "\n").filter { $0.hasPrefix("      \"") && !$0.hasPrefix("       ") }
            .compactMap { $0.dropFirst(7).split(separator: "\"").first.map(String.init) }
        var firstRecord: [String] = []
        for key in keys {
            if firstRecord.contains(key) { break }
            firstRecord.append(key)
        }
        #expect(firstRecord == firstRecord.sorted())
        #expect(firstRecord.contains("clientPort"))
    }

    @Test("the whole snapshot round-trips too (the control socket ships it)")
    func snapshotRoundTrip() throws {
        let text = try ShowJSON.encode(SampleSnapshots.lab)
        #expect(try ShowJSON.decode(SLBSnapshot.self, from: text) == SampleSnapshots.lab)
    }
}
