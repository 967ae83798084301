import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What one lab created, written before the first object exists and kept until the last is
/// gone, so `slb lab down --stale` can clean up after a run that crashed half-way.
public struct LabState: Codable, Hashable, Sendable {
    public var id: LabID
    public var gatewayCount: Int
    /// Every namespace the lab creates (recorded up front: deleting a missing one is a no-op).
    public var namespaces: [String]
    /// The process responsible for the lab while it is building or held by `up --for`; nil
    /// once `slb lab up` has handed a finished lab over to a later `slb lab down`.
    public var owner: ProcessIdentity?
    /// Processes the lab started (they die with the lab).
    public var processes: [ProcessIdentity]
    public var complete: Bool
    public var created: Date

    public init(plan: LabPlan, owner: ProcessIdentity?, created: Date = Date()) {
        id = plan.id
        gatewayCount = plan.gatewayCount
        namespaces = plan.namespaces
        self.owner = owner
        processes = []
        complete = false
        // Whole seconds: the record stores ISO 8601 without fractions.
        self.created = Date(timeIntervalSince1970: created.timeIntervalSince1970.rounded(.down))
    }

    /// A lab whose responsible process died before handing it over: a crashed or killed
    /// `slb lab up`, or an `up --for` that never reached its teardown.
    public var isStale: Bool {
        guard let owner else { return false }
        return !owner.isAlive
    }
}

/// One JSON file per lab in a state directory (default /run/vpnslb/lab: tmpfs, like
/// /run/netns, so a reboot clears both together).
public struct LabStateStore: Sendable {
    public static let defaultDirectory = "/run/vpnslb/lab"

    public let directory: String

    public init(directory: String = LabStateStore.defaultDirectory) {
        self.directory = directory
    }

    public func path(for id: LabID) -> String { directory + "/" + id.rawValue + ".json" }

    public func save(_ state: LabState) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(state)
        // Write-then-rename: a crash mid-write never leaves a truncated record.
        let temporary = path(for: state.id) + ".tmp"
        try data.write(to: URL(fileURLWithPath: temporary))
        guard rename(temporary, path(for: state.id)) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path(for: state.id)])
        }
    }

    public func load(_ id: LabID) throws -> LabState? {
        guard let data = FileManager.default.contents(atPath: path(for: id)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(LabState.self, from: data)
    }

    public func remove(_ id: LabID) {
        try? FileManager.default.removeItem(atPath: path(for: id))
    }

    /// Every recorded lab (unreadable records are reported by id so they can be removed).
    public func all() -> [LabID] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.compactMap { name in
            guard name.hasSuffix(".json") else { return nil }
            return LabID(String(name.dropLast(".json".count)))
        }.sorted { $0.rawValue < $1.rawValue }
    }
}
