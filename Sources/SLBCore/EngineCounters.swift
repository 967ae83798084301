/// The global counters behind `show ip slb stats`. Plain integers bumped on the hot path;
/// `StatsSnapshot` (with its string-keyed drop map) is built only when someone asks.
struct EngineCounters {
    var packetsBalanced: UInt64 = 0
    var packetsPassed: UInt64 = 0
    var connectionsCreated: UInt64 = 0
    var connectionsEstablished: UInt64 = 0
    var connectionsDestroyed: UInt64 = 0
    var connectionsPurged: UInt64 = 0
    var stickyCreated: UInt64 = 0
    var stickyDestroyed: UInt64 = 0
    var noRealAvailable: UInt64 = 0
    var connectionTableFull: UInt64 = 0
    var stickyTableFull: UInt64 = 0
    var clientNotAllowed: UInt64 = 0

    mutating func countDrop(_ reason: DropReason) {
        switch reason {
        case .noRealAvailable: noRealAvailable &+= 1
        case .connectionTableFull: connectionTableFull &+= 1
        case .stickyTableFull: stickyTableFull &+= 1
        case .clientNotAllowed: clientNotAllowed &+= 1
        }
    }

    func drops(_ reason: DropReason) -> UInt64 {
        switch reason {
        case .noRealAvailable: noRealAvailable
        case .connectionTableFull: connectionTableFull
        case .stickyTableFull: stickyTableFull
        case .clientNotAllowed: clientNotAllowed
        }
    }

    var snapshot: StatsSnapshot {
        var stats = StatsSnapshot()
        stats.packetsBalanced = packetsBalanced
        stats.packetsPassed = packetsPassed
        stats.connectionsCreated = connectionsCreated
        stats.connectionsEstablished = connectionsEstablished
        stats.connectionsDestroyed = connectionsDestroyed
        stats.connectionsPurged = connectionsPurged
        // Reassignment is TCP SYN retry logic (spec §2.6); UDP/ESP flows are never reassigned.
        stats.connectionsReassigned = 0
        stats.stickyCreated = stickyCreated
        stats.stickyDestroyed = stickyDestroyed
        for reason in DropReason.allCases { stats.drops[reason.rawValue] = drops(reason) }
        return stats
    }
}
