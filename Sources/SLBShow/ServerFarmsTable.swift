import SLBCore
import SLBWire

/// `show ip slb serverfarms [name NAME] [detail]` (spec §3.4; the seed does not show it).
///
/// Columns follow the spec's layout (server farm 17, predictor 11, nat, reals 7) with two
/// changes: `nat` is 7 wide, not 6, so `server` keeps a blank after it (rule 50, not 49); and
/// IOS's last column `bind id` belongs to DFP, which VPNSLB has not, so it shows `oper`, the
/// reals able to take a new connection now. Names are cut to 16 characters.
public enum ServerFarmsTable {
    static let layout = TableLayout(columns: [
        .init("server farm", 17, .truncate),
        .init("predictor", 11),
        .init("nat", 7),
        .init("reals", 7),
        .init("oper", 0),
    ], ruleLength: 50)

    public static func summary(_ farms: [FarmSnapshot]) -> String {
        layout.render(farms.map { farm in
            [farm.name,
             predictorName(farm.predictor),
             farm.nat.rawValue,
             String(farm.realCount),
             String(farm.operationalReals)]
        })
    }

    /// Failaction, probe list and one line per real of the farm (spec §3.4 "detail adds").
    public static func detail(_ farms: [FarmSnapshot], reals: [RealSnapshot]) -> String {
        var text = ""
        for farm in farms {
            let failaction = farm.failactionPurge ? "purge" : "none"
            let probes = farm.probes.isEmpty ? "none" : farm.probes.joined(separator: ", ")
            text += "\(farm.name), predictor = \(predictorName(farm.predictor)), nat = \(farm.nat.rawValue), failaction = \(failaction)\n"
            text += "  probes = \(probes)\n"
            text += "  reals = \(farm.realCount), operational = \(farm.operationalReals)\n"
            for real in reals where real.farm == farm.name {
                text += "  real = \(realName(real.address, real.port)), weight = \(real.weight), state = \(real.state.rawValue), conns = \(real.connections)\n"
            }
        }
        return text
    }
}
