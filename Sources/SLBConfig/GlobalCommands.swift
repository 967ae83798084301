import SLBWire

// `ip slb probe|serverfarm|vserver|entries ...` and their `no` forms.
extension ConfigSession {
    mutating func globalCommand(negated: Bool, _ arguments: Arguments) throws(CommandError) {
        var arguments = arguments
        let keywords = CommandTable.slbObjects.map(\.keyword)
        let objectColumn = arguments.column
        let object = try arguments.keyword(keywords, expected: "probe, serverfarm, vserver or entries after 'ip slb'")
        if let spec = CommandTable.slbObjects.first(where: { $0.keyword == object }),
           case .unsupported(let reason) = spec.support {
            if !negated { push(.unsupported) }
            throw CommandError(column: objectColumn, message: "'ip slb \(object)' is not supported: \(reason)")
        }
        switch (object, negated) {
        case ("entries", false): try entries(&arguments)
        case ("entries", true): try noEntries(&arguments)
        case (_, true): try deleteObject(object, &arguments)
        case ("probe", false): try openProbe(&arguments)
        case ("serverfarm", false): try openFarm(&arguments)
        default: try openVserver(&arguments)
        }
    }

    /// `ip slb probe NAME {ping|ike}`. Changing the type of an existing probe is refused, as IOS
    /// does ("probe already exists with a different type").
    private mutating func openProbe(_ arguments: inout Arguments) throws(CommandError) {
        do throws(CommandError) {
            let nameColumn = arguments.column
            let name = try arguments.name("a probe name")
            let kindColumn = arguments.column
            if let unsupported = try? arguments.optionalKeyword(CommandTable.unsupportedProbeTypes) {
                throw CommandError(column: kindColumn,
                                   message: "'\(unsupported)' probes are not supported: expected ping or ike")
            }
            let kindWord = try arguments.keyword(CommandTable.probeTypes, expected: "probe type ping or ike")
            try arguments.end()
            let kind: Probe.Kind = kindWord == "ike" ? .ike : .ping
            if let position = index.probe(name, in: draft), draft.probes[position].kind != kind {
                throw CommandError(column: kindColumn,
                                   message: "expected probe type \(draft.probes[position].kind.rawValue) for existing probe \(name), found '\(kindWord)'")
            }
            open(.probe(name), what: "probe \(name)", column: nameColumn)
            if index.probe(name, in: draft) == nil {
                draft.probes.append(Probe(name: name, kind: kind))
                index.appendedProbe(draft)
            }
            push(.probe(name))
        } catch {
            push(.discarding(.probe))
            throw error
        }
    }

    private mutating func openFarm(_ arguments: inout Arguments) throws(CommandError) {
        do throws(CommandError) {
            let nameColumn = arguments.column
            let name = try arguments.name("a serverfarm name")
            try arguments.end()
            open(.farm(name), what: "serverfarm \(name)", column: nameColumn)
            if index.farm(name, in: draft) == nil {
                draft.farms.append(ServerFarm(name: name))
                index.appendedFarm(draft)
            }
            push(.serverFarm(name))
        } catch {
            push(.discarding(.serverFarm))
            throw error
        }
    }

    private mutating func openVserver(_ arguments: inout Arguments) throws(CommandError) {
        do throws(CommandError) {
            let nameColumn = arguments.column
            let name = try arguments.name("a vserver name")
            try arguments.end()
            open(.vserver(name), what: "vserver \(name)", column: nameColumn)
            if index.vserver(name, in: draft) == nil {
                draft.vservers.append(VirtualServerDraft(name: name))
                index.appendedVserver(draft)
            }
            push(.virtualServer(name))
        } catch {
            push(.discarding(.virtualServer))
            throw error
        }
    }

    /// `ip slb entries [conn N] [sticky M]`, either part, either order, each at most once.
    private mutating func entries(_ arguments: inout Arguments) throws(CommandError) {
        var limits = draft.entries
        var seen: Set<String> = []
        repeat {
            let remaining = ["conn", "sticky"].filter { !seen.contains($0) }
            let which = try arguments.keyword(remaining)
            seen.insert(which)
            let value = try arguments.number(ConfigLimits.entries, which == "conn" ? "connection entries" : "sticky entries")
            if which == "conn" { limits.connections = value } else { limits.sticky = value }
        } while !arguments.isAtEnd && seen.count < 2
        try arguments.end()
        draft.entries = limits
        sources[.entries] = sources[.entries] ?? here(1)
    }

    private mutating func noEntries(_ arguments: inout Arguments) throws(CommandError) {
        if arguments.isAtEnd {
            draft.entries = TableLimits()
            return
        }
        let which = try arguments.keyword(["conn", "sticky"])
        if !arguments.isAtEnd { _ = try arguments.number(ConfigLimits.entries, which == "conn" ? "connection entries" : "sticky entries") }
        try arguments.end()
        if which == "conn" { draft.entries.connections = TableLimits.defaultConnections }
        else { draft.entries.sticky = TableLimits.defaultSticky }
    }

    /// `no ip slb probe|serverfarm|vserver NAME`: removes the object. References to it are left
    /// for the validator to report, as IOS keeps the dangling name in the running-config.
    private mutating func deleteObject(_ object: String, _ arguments: inout Arguments) throws(CommandError) {
        let column = arguments.column
        let name = try arguments.name("a \(object) name")
        if object == "probe" { _ = try arguments.optionalKeyword(CommandTable.probeTypes) }
        try arguments.end()
        var removed = false
        switch object {
        case "probe":
            if let position = index.probe(name, in: draft) {
                draft.probes.remove(at: position)
                index.removedProbe(draft)
                removed = true
            }
        case "serverfarm":
            if let position = index.farm(name, in: draft) {
                draft.farms.remove(at: position)
                index.removedFarm(named: name, draft)
                removed = true
            }
        default:
            if let position = index.vserver(name, in: draft) {
                draft.vservers.remove(at: position)
                index.removedVserver(draft)
                removed = true
            }
        }
        guard removed else {
            throw CommandError(column: column, message: "expected an existing \(object) name, found '\(name)'")
        }
        // A later block of the same name is a new object, not a redefinition.
        opened = opened.filter { key, _ in
            switch (object, key) {
            case ("probe", .probe(let n)), ("serverfarm", .farm(let n)), ("vserver", .vserver(let n)): n != name
            case ("serverfarm", .real(let farm, _)): farm != name
            default: true
            }
        }
    }
}
