import Foundation
import Testing

/// `slb run` reads its file through `ConfigurationFile.read(path:)`, as `slb check` does: an
/// unusable file is refused before any socket, interface or nft table is touched.
@Suite("slb run refuses unusable configuration files",
       .enabled(if: SLBBinary.path != nil, "needs a built .build/debug/slb"))
struct RunFileErrorTests {
    enum Kind: String, CaseIterable, Sendable { case missing, directory, binary, tooLarge }

    @Test("a clear error and a non-zero exit", arguments: Kind.allCases)
    func refused(kind: Kind) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-runfile-\(getpid())-\(kind)")
        try? FileManager.default.removeItem(at: directory)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let file = directory.appendingPathComponent("farm.cfg")
        let expected: String
        switch kind {
        case .missing:
            expected = "farm.cfg: cannot open: No such file or directory"
        case .directory:
            try FileManager.default.createDirectory(at: file, withIntermediateDirectories: true)
            expected = "farm.cfg: is a directory, not a configuration file"
        case .binary:
            try Data("ip slb serverfarm VPN\n real 198.51.100.11\n\u{0}".utf8 + [0xFF, 0xFE]).write(to: file)
            expected = "farm.cfg: not UTF-8 text (invalid byte on line 3)"
        case .tooLarge:
            try Data(repeating: 0x20, count: (16 << 20) + 1).write(to: file)
            expected = "farm.cfg: larger than 16777216 octets"
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try #require(SLBBinary.path))
        process.arguments = ["run", file.path, "--public", "vslb-none0", "--inside", "vslb-none1"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(text.contains(expected), "\(text)")
    }
}
