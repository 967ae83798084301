/// Positions of the draft's probes, farms, vservers and each farm's reals by name, kept by the
/// session as it edits, so a line finds its object in O(1). A farm of n `real` blocks is read
/// in O(n) lines × O(1), where a scan per line made a 20,000-real farm take a minute.
///
/// Every hit is checked against the draft before it is used; a stale entry (which maintenance
/// below should never leave) falls back to a scan rather than editing the wrong object.
struct DraftIndex: Sendable {
    private var probes: [String: Int] = [:]
    private var farms: [String: Int] = [:]
    private var vservers: [String: Int] = [:]
    private var reals: [String: [RealKey: Int]] = [:]

    init(_ draft: ConfigDraft) {
        reindexProbes(draft)
        reindexFarms(draft)
        reindexVservers(draft)
        for farm in draft.farms where reals[farm.name] == nil { reindexReals(of: farm) }
    }

    // MARK: lookups

    func probe(_ name: String, in draft: ConfigDraft) -> Int? {
        guard let i = probes[name] else { return nil }
        if draft.probes.indices.contains(i), draft.probes[i].name == name { return i }
        return draft.probes.firstIndex { $0.name == name }
    }

    func farm(_ name: String, in draft: ConfigDraft) -> Int? {
        guard let i = farms[name] else { return nil }
        if draft.farms.indices.contains(i), draft.farms[i].name == name { return i }
        return draft.farms.firstIndex { $0.name == name }
    }

    func vserver(_ name: String, in draft: ConfigDraft) -> Int? {
        guard let i = vservers[name] else { return nil }
        if draft.vservers.indices.contains(i), draft.vservers[i].name == name { return i }
        return draft.vservers.firstIndex { $0.name == name }
    }

    /// The position of `key` among the reals of the farm at `farmIndex`.
    func real(_ key: RealKey, inFarmAt farmIndex: Int, of draft: ConfigDraft) -> Int? {
        guard draft.farms.indices.contains(farmIndex) else { return nil }
        let farm = draft.farms[farmIndex]
        guard let i = reals[farm.name]?[key] else { return nil }
        if farm.reals.indices.contains(i), RealKey(farm.reals[i]) == key { return i }
        return farm.reals.firstIndex { RealKey($0) == key }
    }

    // MARK: maintenance (called right after the draft changed)

    mutating func appendedProbe(_ draft: ConfigDraft) {
        guard let last = draft.probes.last else { return }
        probes[last.name] = draft.probes.count - 1
    }

    mutating func appendedFarm(_ draft: ConfigDraft) {
        guard let last = draft.farms.last else { return }
        farms[last.name] = draft.farms.count - 1
        reindexReals(of: last)
    }

    mutating func appendedVserver(_ draft: ConfigDraft) {
        guard let last = draft.vservers.last else { return }
        vservers[last.name] = draft.vservers.count - 1
    }

    mutating func appendedReal(toFarmAt farmIndex: Int, of draft: ConfigDraft) {
        guard draft.farms.indices.contains(farmIndex), let last = draft.farms[farmIndex].reals.last else { return }
        reals[draft.farms[farmIndex].name, default: [:]][RealKey(last)] = draft.farms[farmIndex].reals.count - 1
    }

    /// After `remove(at:)`: later positions shifted, so the map is rebuilt (O(objects), as the
    /// removal itself).
    mutating func removedProbe(_ draft: ConfigDraft) { reindexProbes(draft) }

    mutating func removedFarm(named name: String, _ draft: ConfigDraft) {
        reals[name] = nil
        reindexFarms(draft)
    }

    mutating func removedVserver(_ draft: ConfigDraft) { reindexVservers(draft) }

    mutating func removedReal(fromFarmAt farmIndex: Int, of draft: ConfigDraft) {
        guard draft.farms.indices.contains(farmIndex) else { return }
        reindexReals(of: draft.farms[farmIndex])
    }

    // MARK: rebuilding

    private mutating func reindexProbes(_ draft: ConfigDraft) {
        probes = [:]
        for (i, probe) in draft.probes.enumerated() where probes[probe.name] == nil { probes[probe.name] = i }
    }

    private mutating func reindexFarms(_ draft: ConfigDraft) {
        farms = [:]
        for (i, farm) in draft.farms.enumerated() where farms[farm.name] == nil { farms[farm.name] = i }
    }

    private mutating func reindexVservers(_ draft: ConfigDraft) {
        vservers = [:]
        for (i, vserver) in draft.vservers.enumerated() where vservers[vserver.name] == nil { vservers[vserver.name] = i }
    }

    /// First position wins, as `firstIndex` did: a configuration built in code may hold a
    /// duplicate real (the validator reports it).
    private mutating func reindexReals(of farm: ServerFarm) {
        var positions: [RealKey: Int] = [:]
        positions.reserveCapacity(farm.reals.count)
        for (i, real) in farm.reals.enumerated() where positions[RealKey(real)] == nil { positions[RealKey(real)] = i }
        reals[farm.name] = positions
    }
}
