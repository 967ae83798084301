import SLBWire

// Probe mode, `Router(config-slb-probe)#`.
extension ConfigSession {
    mutating func probeCommand(_ keyword: String, negated: Bool, _ arguments: Arguments,
                               probe name: String) throws(CommandError) {
        var arguments = arguments
        guard let position = index.probe(name, in: draft) else {
            throw CommandError(column: 1, message: "expected an existing probe, found probe \(name) deleted")
        }
        var probe = draft.probes[position]
        switch (keyword, negated) {
        case ("interval", false):
            probe.interval = try arguments.number(ConfigLimits.probeInterval, "interval seconds")
        case ("interval", true):
            _ = try arguments.optionalNumber(ConfigLimits.probeInterval, "interval seconds")
            probe.interval = Probe.defaultInterval
        case ("faildetect", false):
            probe.faildetect = try arguments.number(ConfigLimits.faildetect, "faildetect count")
        case ("faildetect", true):
            _ = try arguments.optionalNumber(ConfigLimits.faildetect, "faildetect count")
            probe.faildetect = Probe.defaultFaildetect
        case ("address", false):
            let column = arguments.column
            probe.address = try arguments.address("a probe address A.B.C.D")
            let routedColumn = arguments.column
            if (try? arguments.optionalKeyword(["routed"])) != nil {
                throw CommandError(column: routedColumn, message: "'address ... routed' is not supported: expected end of line, found 'routed'")
            }
            sources[.probeAddress(name)] = here(column)
        case ("address", true):
            if !arguments.isAtEnd { _ = try arguments.address("a probe address A.B.C.D") }
            probe.address = nil
        default:
            throw CommandError(column: arguments.column, message: "expected a probe command, found '\(keyword)'")
        }
        try arguments.end()
        draft.probes[position] = probe
    }
}
