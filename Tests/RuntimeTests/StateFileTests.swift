import Foundation
import Runtime
import SLBConfig
import SLBCore
import SLBWire
import Testing

/// The state file: binary round trip, version and corruption handling, atomic write, and a
/// restart that puts every client back on its gateway.
@Suite("State file")
struct StateFileTests {
    static func state() throws -> EngineState {
        loadedEngine(clients: 40, configuration: try parsed()).exportState(now: t(30))
    }

    @Test("encode → decode gives the same tables and write time")
    func roundTrip() throws {
        let state = try Self.state()
        let bytes = StateFileFormat.encode(state, writtenAt: 1_700_000_000_000_000_000)
        let (decoded, writtenAt) = try StateFileFormat.decode(bytes)
        #expect(decoded == state)
        #expect(writtenAt == 1_700_000_000_000_000_000)
        // Compact: 54 octets per connection record.
        #expect(bytes.count < 32 + state.connections.count * 54 + state.sticky.count * 40 + 1024)
    }

    @Test("a different version is refused by number")
    func version() throws {
        var bytes = StateFileFormat.encode(try Self.state(), writtenAt: 0)
        bytes[9] = 2
        #expect(throws: StateFileFormat.DecodeError.unsupportedVersion(2)) { try StateFileFormat.decode(bytes) }
    }

    @Test("not a state file", arguments: [[], Array("VSLBSTA".utf8), Array("hello world, this is not it".utf8)])
    func badMagic(bytes: [UInt8]) {
        #expect(throws: StateFileFormat.DecodeError.notAStateFile) { try StateFileFormat.decode(bytes) }
    }

    @Test("every truncation is an error, never a trap")
    func truncations() throws {
        let bytes = StateFileFormat.encode(try Self.state(), writtenAt: 0)
        for length in stride(from: 8, to: bytes.count, by: 7) {
            #expect(throws: StateFileFormat.DecodeError.self) { try StateFileFormat.decode(Array(bytes.prefix(length))) }
        }
    }

    @Test("a flipped payload bit fails the checksum", arguments: [32, 100, 500, -1])
    func corrupt(offset: Int) throws {
        var bytes = StateFileFormat.encode(try Self.state(), writtenAt: 0)
        let index = offset < 0 ? bytes.count - 1 : offset
        bytes[index] ^= 0x10
        #expect(throws: StateFileFormat.DecodeError.checksumMismatch) { try StateFileFormat.decode(bytes) }
    }

    @Test("a payload whose counts lie (with a matching checksum) is refused without a huge allocation")
    func lyingCounts() throws {
        var payload: [UInt8] = [0xFF, 0xFF, 0xFF, 0xFF]   // 4 billion reals, no bytes for them
        payload += [0, 0, 0, 0]
        let header = StateFileFormat.encode(EngineState(), writtenAt: 0).prefix(20)
        var bytes = Array(header)
        bytes += [0, 0, 0, 0, 0, 0, 0, UInt8(payload.count)]
        bytes += crc(payload)
        bytes += payload
        #expect(throws: StateFileFormat.DecodeError.truncated(at: 4)) { try StateFileFormat.decode(bytes) }
    }

    /// CRC-32 as zlib computes it, big-endian, for hand-built payloads.
    func crc(_ bytes: [UInt8]) -> [UInt8] {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        return [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
    }

    @Test("downtime ages idle times and runs down sticky timers")
    func aging() {
        let state = EngineState(
            reals: [RealIdentity(farm: "F", address: IPv4Address(198, 51, 100, 11), port: nil)],
            vservers: [VServerIdentity(name: "V", address: vip, mask: .host, service: .esp)],
            sticky: [StickyRecord(domain: .group(1), client: client(1), netmask: .host, real: 0, expiresIn: .seconds(50)),
                     StickyRecord(domain: .group(1), client: client(2), netmask: .host, real: 0, expiresIn: .seconds(5))],
            connections: [ConnectionRecord(vserver: 0, ipProtocol: .esp, client: client(3), clientPort: 0, vip: vip,
                                           vipPort: 0, real: 0, sticky: nil, established: true, viaSticky: false,
                                           age: .seconds(100), idle: .seconds(3), packets: 9)])
        let aged = state.aged(by: .seconds(20))
        #expect(aged.connections[0].idle == .seconds(23))
        #expect(aged.connections[0].age == .seconds(120))
        #expect(aged.sticky.map(\.expiresIn) == [.seconds(30), .zero])
    }

    @Test("write is atomic (temporary file renamed) and read restores; a corrupt file is a clear error")
    func fileIO() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vslb-state-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("slb.state").path
        #expect(try StateFile.read(path) == nil)
        let state = try Self.state()
        try StateFile.write(state, to: path, writtenAt: 1_000_000_000_000)
        #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
        let back = try #require(try StateFile.read(path, now: 1_000_000_000_000))
        #expect(back == state)

        try Data("garbage".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try StateFile.read(path)
            Issue.record("a corrupt file was accepted")
        } catch {
            #expect("\(error)".contains("not a VPNSLB state file"))
        }
    }

    @Test("restart: a new engine restores every client onto its gateway through the file format")
    func restartKeepsClients() throws {
        let configuration = try parsed()
        let engine = loadedEngine(clients: 60, configuration: configuration)
        let before = engine.snapshot(now: t(5), connections: .all).connections
        let bytes = StateFileFormat.encode(engine.exportState(now: t(5)), writtenAt: 0)
        let restarted = Engine(configuration: configuration, hashSeed: 777)
        let report = try restarted.importState(try StateFileFormat.decode(bytes).state, now: t(5))
        #expect(report.connectionsRestored == 120)
        for row in before {
            let flow: Flow = row.ipProtocol == .esp ? .esp(row.client, to: vip) : .udp(row.client, 500, to: vip, 500)
            let verdict = restarted.decide(flow, now: t(6))
            guard case .forward(let real) = verdict else {
                Issue.record("\(row.client) not forwarded")
                continue
            }
            #expect(restarted.probeTargets[Int(real.index)].address == row.real)
        }
        #expect(restarted.snapshot(now: t(6), connections: .none).stats.connectionsCreated == 0)
    }
}
