import SLBConfig

/// Everything outside the engine that a configuration decides: the public side's capture
/// filter (`VIPFilter`), the inside side's directed-mode reply filter (`ReplyFilter`) and the
/// nftables drop table (`VIPDropTable`). Built at start and again after every reload, on the
/// forwarding thread; only the parts whose text changed are re-applied, so a reload that only
/// reweights reals costs two string comparisons.
public struct CaptureSet: Equatable, Sendable {
    /// nil: no vserver, the public socket admits nothing.
    public var vipFilter: String?
    /// nil: no directed-mode real, the inside socket admits nothing.
    public var replyFilter: String?
    /// The `nft -f` script (a `table; delete table; table {…}` transaction).
    public var dropTable: String
    /// The capture interfaces whose ingress hook also drops (`VIPDropTable`); kept so a reload
    /// derives the same kind of script.
    public var ingress: VIPDropTable.IngressDevices?

    public init(configuration: SLBConfiguration, ingress: VIPDropTable.IngressDevices? = nil) {
        let replies = DirectedReplyMap(configuration: configuration)
        vipFilter = VIPFilter.expression(for: configuration.vservers)
        replyFilter = ReplyFilter.expression(for: replies)
        dropTable = VIPDropTable.script(for: configuration.vservers, replies: replies, ingress: ingress)
        self.ingress = ingress
    }

    public static func program(_ expression: String?) throws -> BPFProgram {
        try expression.map(BPFProgram.init(compiling:)) ?? .rejectAll
    }

    /// Re-applies what differs from `applied` to the live sockets and the kernel, updating
    /// `applied` part by part, so after a failure it still says what is in force. Filters are
    /// compiled before anything is touched, so a compile error changes nothing. New traffic is
    /// captured before the kernel is told to drop it, and a removed vserver's traffic is no
    /// longer captured once the swapped table lets the kernel have it again.
    /// `installTable` false: the caller does not own an nft table (tests with fake I/O).
    public func apply<RX: PacketIO, TX: PacketIO>(over applied: inout CaptureSet, receive: RX, transmit: TX,
                                                 installTable: Bool) throws -> [String] {
        var changed: [String] = []
        let vip = vipFilter != applied.vipFilter ? try CaptureSet.program(vipFilter) : nil
        let reply = replyFilter != applied.replyFilter ? try CaptureSet.program(replyFilter) : nil
        if let vip {
            try receive.replaceFilter(vip)
            applied.vipFilter = vipFilter
            changed.append("filter")
        }
        if let reply {
            try transmit.replaceFilter(reply)
            applied.replyFilter = replyFilter
            changed.append("reply-filter")
        }
        if installTable, dropTable != applied.dropTable {
            try VIPDropTable.load(script: dropTable)
            changed.append("nft")
        }
        // Without a table to install, the script is not in force anywhere: record it as
        // applied so an unchanged reload compares equal.
        applied.dropTable = dropTable
        return changed
    }
}
