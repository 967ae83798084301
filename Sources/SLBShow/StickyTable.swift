import SLBCore
import SLBWire

/// `show ip slb sticky [client IP] [detail]` (spec §3.5; the seed does not show it).
///
/// Columns follow the spec: client 25, netmask 17, group 9, real 17, conns, 75-dash rule.
/// Every value is an address or a number that fits its column.
public enum StickyTable {
    static let layout = TableLayout(columns: [
        .init("client", 25),
        .init("netmask", 17),
        .init("group", 9),
        .init("real", 17),
        .init("conns", 0),
    ], ruleLength: 75)

    public static func summary(_ objects: [StickySnapshot]) -> String {
        layout.render(objects.map { object in
            [object.client.description,
             object.netmask.description,
             String(object.group),
             object.real.description,
             String(object.connections)]
        })
    }

    /// Adds the farm and the time left (spec §3.5 "detail adds the remaining sticky time");
    /// `expires = active` while connections still hold the object (its timer has not started).
    public static func detail(_ objects: [StickySnapshot]) -> String {
        var text = ""
        for object in objects {
            let expires = object.expiresIn.map { "in \($0)" } ?? "active"
            text += "\(object.client), netmask = \(object.netmask), group = \(object.group)\n"
            text += "  real = \(object.real), farm = \(object.farm), conns = \(object.connections), expires = \(expires)\n"
        }
        return text
    }
}
