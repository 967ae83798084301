import SLBWire

// Virtual server mode, `Router(config-slb-vserver)#`.
extension ConfigSession {
    mutating func vserverCommand(_ keyword: String, negated: Bool, _ arguments: Arguments,
                                 vserver name: String) throws(CommandError) {
        var arguments = arguments
        guard let position = index.vserver(name, in: draft) else {
            throw CommandError(column: 1, message: "expected an existing vserver, found vserver \(name) deleted")
        }
        var vserver = draft.vservers[position]
        switch (keyword, negated) {
        case ("virtual", false):
            let column = arguments.column
            do throws(CommandError) {
                vserver.virtual = try virtualAddress(&arguments)
                rejectedVirtuals.remove(name)
                sources[.virtual(name)] = here(column)
            } catch {
                rejectedVirtuals.insert(name)
                throw error
            }
        case ("virtual", true):
            if !arguments.isAtEnd { _ = try virtualAddress(&arguments) }
            vserver.virtual = nil
        case ("serverfarm", false):
            let column = arguments.column
            vserver.farm = try arguments.name("a serverfarm name")
            sources[.farmReference(vserver: name)] = here(column)
            vserver.backupFarm = nil
            vserver.backupSticky = false
            if try arguments.optionalKeyword(["backup"]) != nil {
                let backupColumn = arguments.column
                vserver.backupFarm = try arguments.name("a backup serverfarm name")
                sources[.backupReference(vserver: name)] = here(backupColumn)
                // `serverfarm PRIMARY [backup BACKUP [sticky]]` (spec §1.5).
                vserver.backupSticky = try arguments.optionalKeyword(["sticky"]) != nil
            }
        case ("serverfarm", true):
            if !arguments.isAtEnd {
                _ = try arguments.name("a serverfarm name")
                if try arguments.optionalKeyword(["backup"]) != nil {
                    _ = try arguments.name("a backup serverfarm name")
                    _ = try arguments.optionalKeyword(["sticky"])
                }
            }
            vserver.farm = nil
            vserver.backupFarm = nil
            vserver.backupSticky = false
        case ("sticky", false):
            let column = arguments.column
            vserver.sticky = try stickySettings(&arguments)
            sources[.sticky(name)] = here(column)
        case ("sticky", true):
            if !arguments.isAtEnd { _ = try stickySettings(&arguments) }
            vserver.sticky = nil
        case ("idle", false):
            vserver.idle = try arguments.number(ConfigLimits.idle, "idle seconds")
        case ("idle", true):
            _ = try arguments.optionalNumber(ConfigLimits.idle, "idle seconds")
            vserver.idle = VirtualServer.defaultIdle
        case ("client", false):
            let network = try clientNetwork(&arguments)
            if !vserver.clients.contains(network) { vserver.clients.append(network) }
        case ("client", true):
            if arguments.isAtEnd {
                vserver.clients = []
            } else {
                let column = arguments.column
                let network = try clientNetwork(&arguments)
                guard let position = vserver.clients.firstIndex(of: network) else {
                    throw CommandError(column: column, message: "expected a client range of vserver \(name), found '\(network.address) \(network.mask)'")
                }
                vserver.clients.remove(at: position)
            }
        case ("inservice", false):
            let column = arguments.column
            if (try? arguments.optionalKeyword(["standby"])) != nil {
                throw CommandError(column: column, message: "'inservice standby' (stateful backup) is not supported: expected end of line, found 'standby'")
            }
            vserver.inService = true
        case ("inservice", true):
            vserver.inService = false
        case ("delay", _):
            _ = try arguments.number(ConfigLimits.delay, "delay seconds", optional: negated)
            try ignored(CommandTable.virtualServer.first { $0.keyword == keyword }, arguments.commandColumn, arguments)
        case ("synguard", _):
            // `synguard syn-count [interval]` (spec §1.5); `no synguard` may repeat them.
            let count = try arguments.number(ConfigLimits.synguardCount, "synguard count", optional: negated)
            if count != nil { _ = try arguments.optionalNumber(ConfigLimits.synguardPeriod, "synguard period milliseconds") }
            try ignored(CommandTable.virtualServer.first { $0.keyword == keyword }, arguments.commandColumn, arguments)
        case ("advertise", _):
            _ = try arguments.optionalKeyword(["active"])
            try ignored(CommandTable.virtualServer.first { $0.keyword == keyword }, arguments.commandColumn, arguments)
        default:
            throw CommandError(column: arguments.column, message: "expected a vserver command, found '\(keyword)'")
        }
        try arguments.end()
        draft.vservers[position] = vserver
    }

    /// `virtual A.B.C.D [MASK] {udp PORT | esp | tcp ... | gre | NUMBER}`.
    private func virtualAddress(_ arguments: inout Arguments) throws(CommandError) -> VirtualAddress {
        let address = try arguments.address("a virtual address A.B.C.D")
        var mask = IPv4Mask.host
        if let next = arguments.peek, IPv4Address(next.text) != nil {
            mask = try arguments.mask("a virtual address mask")
        }
        let protocolColumn = arguments.column
        let expected = "protocol udp or esp"
        if let token = arguments.peek, let number = Arguments.decimal(token.text, as: UInt8.self) {
            // IOS accepts an IP protocol number for port-less protocols (RFC 790 numbering).
            _ = try arguments.next(expected: expected)
            guard number == IPProtocol.esp.rawValue else {
                throw CommandError(column: protocolColumn,
                                   message: "expected \(expected) (protocol 50), found '\(token.text)': only UDP and ESP virtual servers are supported")
            }
            return VirtualAddress(address: address, mask: mask, service: .esp)
        }
        let word = try arguments.keyword(["udp", "esp", "tcp", "gre"], expected: expected)
        switch word {
        case "esp":
            return VirtualAddress(address: address, mask: mask, service: .esp)
        case "udp":
            let port = try udpPort(&arguments)
            let serviceColumn = arguments.column
            if (try? arguments.optionalKeyword(["service"])) != nil {
                throw CommandError(column: serviceColumn, message: "'service' is not supported: expected end of line, found 'service'")
            }
            return VirtualAddress(address: address, mask: mask, service: .udp(port: port))
        default:
            throw CommandError(column: protocolColumn,
                               message: "\(word) virtual servers are not supported: expected \(expected), found '\(word)' (VPNSLB balances IKE, NAT-T and ESP)")
        }
    }

    /// A UDP port number, a well-known name or `any`; port 0 is `any` (MIB slbVirtualPort 0).
    private func udpPort(_ arguments: inout Arguments) throws(CommandError) -> UInt16? {
        let expected = "a UDP port 0-65535, \(CommandTable.udpPortNames.map(\.name).joined(separator: ", ")) or any"
        guard let token = arguments.peek else { throw arguments.failure(expected: expected) }
        if token.text.first?.isNumber == true {
            let port = try arguments.number(ConfigLimits.virtualPort, "a UDP port")
            return port == 0 ? nil : port
        }
        let name = try arguments.keyword(CommandTable.udpPortNames.map(\.name) + ["any"], expected: expected)
        return CommandTable.udpPortNames.first { $0.name == name }?.port
    }

    /// `sticky SECONDS [group N] [netmask MASK]`; `sticky 0` with default options is "off" and
    /// stored as nil so it renders as nothing, like IOS.
    private func stickySettings(_ arguments: inout Arguments) throws(CommandError) -> StickySettings? {
        var settings = StickySettings(seconds: try arguments.number(ConfigLimits.sticky, "sticky seconds"))
        var seen: Set<String> = []
        while !arguments.isAtEnd {
            let option = try arguments.keyword(["group", "netmask"].filter { !seen.contains($0) })
            seen.insert(option)
            if option == "group" {
                settings.group = try arguments.number(ConfigLimits.stickyGroup, "sticky group")
            } else {
                settings.netmask = try arguments.mask("a sticky netmask")
            }
        }
        return settings == StickySettings(seconds: 0) ? nil : settings
    }

    private func clientNetwork(_ arguments: inout Arguments) throws(CommandError) -> IPv4Network {
        let address = try arguments.address("a client address A.B.C.D")
        let mask = try arguments.mask("a client mask")
        return IPv4Network(address: address, mask: mask)
    }
}
