import SLBWire

// Server farm mode `Router(config-slb-sfarm)#` and real server mode `Router(config-slb-real)#`.
extension ConfigSession {
    mutating func farmCommand(_ keyword: String, negated: Bool, _ arguments: Arguments,
                              farm name: String) throws(CommandError) {
        var arguments = arguments
        guard let position = index.farm(name, in: draft) else {
            throw CommandError(column: 1, message: "expected an existing serverfarm, found serverfarm \(name) deleted")
        }
        // `real` and `no real` edit the reals in place: changing a copy of the farm would copy
        // its whole real list on every `real` line (quadratic in a large farm).
        switch (keyword, negated) {
        case ("real", false):
            try openReal(&arguments, farmAt: position)
            return
        case ("real", true):
            try removeReal(&arguments, farmAt: position)
            return
        default:
            break
        }
        var farm = draft.farms[position]
        switch (keyword, negated) {
        case ("predictor", false):
            let word = try arguments.keyword(CommandTable.predictors, expected: "predictor roundrobin or leastconns")
            farm.predictor = word == "leastconns" ? .leastConns : .roundRobin
        case ("predictor", true):
            if !arguments.isAtEnd {
                _ = try arguments.keyword(CommandTable.predictors, expected: "predictor roundrobin or leastconns")
            }
            farm.predictor = .roundRobin
        case ("failaction", false):
            _ = try arguments.keyword(["purge"], expected: "failaction purge")
            farm.failactionPurge = true
        case ("failaction", true):
            _ = try arguments.optionalKeyword(["purge"])
            farm.failactionPurge = false
        case ("probe", false):
            let column = arguments.column
            let probe = try arguments.name("a probe name")
            if !farm.probes.contains(probe) { farm.probes.append(probe) }
            let key = SourceMap.Key.farmProbe(farm: name, probe: probe)
            sources[key] = sources[key] ?? here(column)
        case ("probe", true):
            let column = arguments.column
            let probe = try arguments.name("a probe name")
            guard let position = farm.probes.firstIndex(of: probe) else {
                throw CommandError(column: column, message: "expected a probe attached to serverfarm \(name), found '\(probe)'")
            }
            farm.probes.remove(at: position)
        case ("nat", false):
            let column = arguments.column
            let mode = try arguments.keyword(["server", "client"], expected: "nat server")
            guard mode == "server" else {
                throw CommandError(column: column, message: "'nat client' is not supported: expected nat server, found 'client'")
            }
            farm.nat = .server
        case ("nat", true):
            _ = try arguments.optionalKeyword(["server"])
            farm.nat = .none
        case ("bindid", _):
            _ = try arguments.number(ConfigLimits.bindID, "bind id", optional: negated)
            try ignored(CommandTable.serverFarm.first { $0.keyword == "bindid" }, arguments.commandColumn, arguments)
        default:
            throw CommandError(column: arguments.column, message: "expected a serverfarm command, found '\(keyword)'")
        }
        try arguments.end()
        draft.farms[position] = farm
    }

    private func realKey(_ arguments: inout Arguments) throws(CommandError) -> RealKey {
        let address = try arguments.address("a real server address A.B.C.D")
        let port: UInt16? = arguments.isAtEnd ? nil : try arguments.number(ConfigLimits.realPort, "a port")
        return RealKey(address: address, port: port)
    }

    /// `real IP [PORT]` enters the real's mode; a rejected header discards its sub-commands.
    private mutating func openReal(_ arguments: inout Arguments, farmAt position: Int) throws(CommandError) {
        let name = draft.farms[position].name
        do throws(CommandError) {
            let column = arguments.column
            let key = try realKey(&arguments)
            try arguments.end()
            open(.real(farm: name, key), what: "real \(key) in serverfarm \(name)", column: column)
            if index.real(key, inFarmAt: position, of: draft) == nil {
                draft.farms[position].reals.append(RealServer(address: key.address, port: key.port))
                index.appendedReal(toFarmAt: position, of: draft)
            }
            push(.real(farm: name, key))
        } catch {
            push(.discarding(.real))
            throw error
        }
    }

    /// `no real IP [PORT]`.
    private mutating func removeReal(_ arguments: inout Arguments, farmAt position: Int) throws(CommandError) {
        let name = draft.farms[position].name
        let column = arguments.column
        let key = try realKey(&arguments)
        guard let realPosition = index.real(key, inFarmAt: position, of: draft) else {
            throw CommandError(column: column, message: "expected a real of serverfarm \(name), found '\(key)'")
        }
        opened[.real(farm: name, key)] = nil
        try arguments.end()
        draft.farms[position].reals.remove(at: realPosition)
        index.removedReal(fromFarmAt: position, of: draft)
    }

    mutating func realCommand(_ keyword: String, negated: Bool, _ arguments: Arguments, farm name: String,
                              real key: RealKey) throws(CommandError) {
        var arguments = arguments
        guard let farmIndex = index.farm(name, in: draft),
              let realIndex = index.real(key, inFarmAt: farmIndex, of: draft) else {
            throw CommandError(column: 1, message: "expected an existing real, found real \(key) deleted")
        }
        var real = draft.farms[farmIndex].reals[realIndex]
        switch (keyword, negated) {
        case ("weight", false):
            real.weight = try arguments.number(ConfigLimits.weight, "weight")
        case ("weight", true):
            _ = try arguments.optionalNumber(ConfigLimits.weight, "weight")
            real.weight = RealServer.defaultWeight
        case ("maxconns", false):
            real.maxConns = try arguments.number(ConfigLimits.maxConns, "maxconns")
        case ("maxconns", true):
            _ = try arguments.optionalNumber(ConfigLimits.maxConns, "maxconns")
            real.maxConns = RealServer.defaultMaxConns
        case ("retry", false):
            let column = arguments.column
            real.retry = try arguments.number(ConfigLimits.retry, "retry seconds")
            emit(.note, column, "retry has no effect on UDP and ESP virtual servers (IOS retries failed TCP reals only)")
        case ("retry", true):
            _ = try arguments.optionalNumber(ConfigLimits.retry, "retry seconds")
            real.retry = RealServer.defaultRetry
        case ("inservice", let no):
            real.inService = !no
        case ("reassign", _):
            _ = try arguments.number(ConfigLimits.reassign, "reassign threshold", optional: negated)
            try ignored(CommandTable.real.first { $0.keyword == keyword }, arguments.commandColumn, arguments)
        case ("faildetect", _):
            try inbandFaildetect(&arguments, negated: negated)
            try ignored(CommandTable.real.first { $0.keyword == keyword }, arguments.commandColumn, arguments)
        default:
            throw CommandError(column: arguments.column, message: "expected a real server command, found '\(keyword)'")
        }
        try arguments.end()
        draft.farms[farmIndex].reals[realIndex] = real
    }

    /// Real-mode in-band failure detection (spec §1.4): `faildetect numconns <1-255>
    /// [numclients <1-8>]`, `[no] faildetect inband`; `no faildetect numconns` may repeat the
    /// values. TCP only, so it is read for its grammar and then ignored.
    private func inbandFaildetect(_ arguments: inout Arguments, negated: Bool) throws(CommandError) {
        let form = try arguments.keyword(["numconns", "inband"], expected: "numconns or inband")
        guard form == "numconns" else { return }
        guard let _ = try arguments.number(ConfigLimits.faildetectNumconns, "numconns", optional: negated) else { return }
        if try arguments.optionalKeyword(["numclients"]) != nil {
            _ = try arguments.number(ConfigLimits.faildetectNumclients, "numclients")
        }
    }
}
