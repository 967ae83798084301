import ESP
import Testing

struct DemuxCase: Sendable, CustomTestStringConvertible {
    let name: String
    let payload: [UInt8]
    let expected: NATTDatagram
    var testDescription: String { name }
}

let ikeHeader: [UInt8] = Array(1...28)

@Test(arguments: [
    DemuxCase(name: "keepalive", payload: [0xFF], expected: .keepalive),
    DemuxCase(name: "one byte not 0xFF", payload: [0x00], expected: .invalid),
    DemuxCase(name: "empty", payload: [], expected: .invalid),
    DemuxCase(name: "three bytes", payload: [1, 2, 3], expected: .invalid),
    DemuxCase(name: "marker only", payload: [0, 0, 0, 0], expected: .invalid),
    DemuxCase(name: "marker + short IKE", payload: [0, 0, 0, 0] + Array(ikeHeader.prefix(27)), expected: .invalid),
    DemuxCase(name: "marker + IKE header", payload: [0, 0, 0, 0] + ikeHeader, expected: .ike(ArraySlice(ikeHeader))),
    DemuxCase(name: "ESP header", payload: [0, 0, 1, 0, 0, 0, 0, 1], expected: .esp),
    DemuxCase(name: "ESP too short", payload: [0, 0, 1, 0, 0, 0, 0], expected: .invalid),
    DemuxCase(name: "0xFF then more is ESP-shaped", payload: [0xFF, 0, 0, 0, 0, 0, 0, 1], expected: .esp),
])
func udp4500Demux(_ demux: DemuxCase) {
    #expect(classifyNATTDatagram(demux.payload) == demux.expected)
}

@Test func ikeSliceStartsAfterTheMarker() {
    let datagram = markedIKEDatagram(ikeHeader + [0xAA])
    #expect(Array(datagram.prefix(4)) == nonESPMarker)
    guard case .ike(let message) = classifyNATTDatagram(datagram) else {
        Issue.record("not classified as IKE")
        return
    }
    #expect(Array(message) == ikeHeader + [0xAA])
}

@Test(arguments: allTransforms)
func sealedPacketsAreNeverMistakenForIKE(_ transform: ESPTransform) throws {
    // SPIs below 256 are refused at SA setup, so no ESP packet begins with the marker.
    var (outbound, _) = try makePair(transform, spi: 256)
    let packet = try outbound.seal([], now: .zero, crypto: crypto)
    #expect(classifyNATTDatagram(packet) == .esp)
}
