import IKE
import IPsecCrypto
import SLBWire
import Testing

/// Handshake cost on this machine (debug build): printed for the report, asserted only for
/// correctness so the suite never flakes on a busy host.
@Suite("Measurements")
struct MeasurementTests {
    @Test("handshakes per second, one responder, distinct clients", arguments: [AlgorithmSet.all[5], AlgorithmSet.all[0]])
    func handshakes(_ set: AlgorithmSet) {
        let count = 100
        var responder = IKEv2Responder(configuration: responderConfiguration(), crypto: openSSL)
        let clock = ContinuousClock()
        var established = 0
        let elapsed = clock.measure {
            for n in 0..<count {
                var config = initiatorConfiguration(ike: set.ike, group: set.group, esp: set.esp)
                config.local = IKEEndpoint(IPv4Address(198, 51, 100, UInt8(128 + n % 120)), UInt16(1024 + n))
                var initiator = IKEv2Initiator(configuration: config, crypto: openSSL)
                var toResponder = initiator.start(now: .zero).sentWithEndpoints
                while let s = toResponder.first {
                    toResponder.removeFirst()
                    for r in responder.receive(s.bytes, from: s.from, to: s.to, now: .zero).sentWithEndpoints {
                        toResponder += initiator.receive(r.bytes, from: r.from, now: .zero).sentWithEndpoints
                    }
                }
                if initiator.isEstablished { established += 1 }
            }
        }
        #expect(established == count)
        #expect(responder.establishedCount == count)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        print("IKE measurement \(set.name): \(count) handshakes (both ends) in \(seconds) s → \(Double(count) / seconds)/s")
    }
}
