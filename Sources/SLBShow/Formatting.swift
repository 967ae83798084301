import SLBConfig
import SLBCore
import SLBWire

// Value formats shared by the tables, each as IOS prints it.

/// `a.b.c.d:port`, as the `client` column of `show ip slb conns` prints a client.
func endpoint(_ address: IPv4Address, _ port: UInt16) -> String { "\(address):\(port)" }

/// A real as `show ip slb reals` names it: the address, plus `:port` only when the real has one.
func realName(_ address: IPv4Address, _ port: UInt16?) -> String {
    guard let port else { return address.description }
    return endpoint(address, port)
}

/// The seed's `virtual` column: `9.1.0.37/32:500` (VIP, mask length, port; 0 for ESP/any).
func virtualName(_ address: IPv4Address, _ mask: IPv4Mask, _ port: UInt16) -> String {
    "\(address)/\(mask.prefixLength):\(port)"
}

/// IOS predictor keywords as `show ip slb serverfarms` prints them.
func predictorName(_ predictor: Predictor) -> String {
    switch predictor {
    case .roundRobin: "ROUNDROBIN"
    case .leastConns: "LEASTCONNS"
    }
}

/// IOS booleans in detail output are upper case (`sticky = FALSE`).
func iosBool(_ value: Bool) -> String { value ? "TRUE" : "FALSE" }

/// A round-trip time in milliseconds with microsecond resolution (`0.412 ms`).
func milliseconds(_ span: TimeSpan) -> String {
    let micros = span.nanoseconds / 1_000
    let fraction = micros % 1_000
    let padded = fraction < 10 ? "00\(fraction)" : fraction < 100 ? "0\(fraction)" : "\(fraction)"
    return "\(micros / 1_000).\(padded) ms"
}
