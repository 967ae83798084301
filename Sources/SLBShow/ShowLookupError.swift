import SLBCore

/// A `show` whose name filter names no object of the running configuration:
/// `show ip slb vservers name NOSUCH` answers `% vserver "NOSUCH" not found` rather than an
/// empty table. The spec and the seed show no IOS text for this case; the `% ...` line is in
/// the style of IOS's other errors (and of `ShowCommandError`).
public enum ShowLookupError: Error, Hashable, Sendable, CustomStringConvertible {
    case vserver(String)
    case serverfarm(String)
    /// Probe rows exist per (probe, real): a probe attached to no farm has none to show.
    case probe(String)

    public var description: String {
        switch self {
        case .vserver(let name): "% vserver \"\(name)\" not found"
        case .serverfarm(let name): "% serverfarm \"\(name)\" not found"
        case .probe(let name): "% probe \"\(name)\" not found (or attached to no serverfarm)"
        }
    }

    /// Throws when the request's name filter matches nothing in `snapshot`.
    public static func check(_ request: ShowRequest, _ snapshot: SLBSnapshot) throws(ShowLookupError) {
        switch request.table {
        case .conns(.vserver(let name)), .vservers(name: let name?), .realsOfVserver(let name):
            guard snapshot.vservers.contains(where: { $0.name == name }) else { throw .vserver(name) }
        case .reals(farm: let name?), .serverfarms(name: let name?):
            guard snapshot.farms.contains(where: { $0.name == name }) else { throw .serverfarm(name) }
        case .probe(name: let name?):
            guard snapshot.probes.contains(where: { $0.probe == name }) else { throw .probe(name) }
        case .conns(.all), .conns(.client), .reals(farm: nil), .vservers(name: nil), .serverfarms(name: nil),
             .sticky, .probe(name: nil), .stats:
            return
        }
    }
}
