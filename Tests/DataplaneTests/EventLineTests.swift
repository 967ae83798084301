import Foundation
import SLBCore
import SLBWire
import Testing
@testable import Dataplane

@Suite("EventLine: one structured line per engine event")
struct EventLineTests {
    static let at = MonotonicTime(nanoseconds: 1234_000_000_042)
    static let gw = IPv4Address(198, 51, 100, 12)
    static let wall = Date(timeIntervalSince1970: 1_795_000_000.25)

    @Test("name first, fields, then mono= and time=", arguments: [
        (EngineEvent.realDown(real: RealID(1), address: gw, farm: "VPN3", reason: "probe GW-PING", at: at),
         "slb.real.down real=198.51.100.12 farm=VPN3 reason=\"probe GW-PING\" mono=1234.000000042"),
        (EngineEvent.realUp(real: RealID(1), address: gw, farm: "VPN3", at: at), "slb.real.up real=198.51.100.12 farm=VPN3 mono=1234.000000042"),
        (EngineEvent.purge(real: RealID(1), address: gw, farm: "VPN3", connections: 7, at: at),
         "slb.purge real=198.51.100.12 farm=VPN3 connections=7 mono=1234.000000042"),
        (EngineEvent.farmNoReal(farm: "VPN3", vserver: "VPN3-ESP", at: at), "slb.farm.no_real farm=VPN3 vserver=VPN3-ESP mono=1234.000000042"),
    ])
    func line(event: EngineEvent, prefix: String) throws {
        let line = EventLine.line(for: event, wallClock: EventLineTests.wall)
        #expect(line.hasPrefix(prefix + " time=2026-"), "\(line)")
        #expect(line.hasSuffix("Z"))
        #expect(EventLine.monotonicTime(in: Substring(line)) == EventLineTests.at)
    }

    @Test("mono= parses back; a line without it gives nil", arguments: [
        ("slb.real.up real=1.2.3.4 mono=5.000000001 time=x", MonotonicTime(nanoseconds: 5_000_000_001)),
        ("slb.real.up real=1.2.3.4", nil),
        ("slb.real.up mono=5.x", nil),
    ] as [(String, MonotonicTime?)])
    func parse(line: String, expected: MonotonicTime?) {
        #expect(EventLine.monotonicTime(in: Substring(line)) == expected)
    }
}
