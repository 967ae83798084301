import SLBConfig

/// IOS's two configurations for `slb run FILE`: the **running** one (what the engine uses,
/// changed by `slb configure` and `slb cli`) and the **startup** one (the file). As in IOS, a
/// `configure` change lives in the running configuration only until `write memory` (IOS
/// `write memory` / `copy running-config startup-config`) renders it into the file; a reload
/// (`slb reload`, SIGHUP) reads the file again, which discards unsaved changes, so the reload
/// names what it discarded.
///
/// Pure bookkeeping: the service performs the file I/O and hands the texts in.
public struct StartupConfiguration: Sendable {
    /// The file `slb run` started with; nil without one (then there is nothing to save to).
    public let path: String?
    /// The configuration the file held when last read or written.
    public private(set) var saved: SLBConfiguration
    /// The file's text when last read or written. `write memory` refuses to overwrite a file
    /// whose text differs (edited by hand since), unless forced. Nil when it is not known
    /// (then the file's parsed configuration is compared with `saved` instead).
    public private(set) var savedText: String?
    /// What changed the running configuration since the file was last read or written, in
    /// order: each `configure` line, `reload OTHER-FILE`.
    public private(set) var unsaved: [String] = []

    /// How many unsaved changes a reload's warning names; the rest are counted.
    public static let namedChangesLimit = 20

    public init(path: String?, saved: SLBConfiguration, text: String?) {
        self.path = path
        self.saved = saved
        self.savedText = text
    }

    /// `configure` lines applied: `running` is the configuration they produced. Lines that
    /// bring it back to the file's configuration leave nothing unsaved.
    public mutating func configured(_ lines: [String], running: SLBConfiguration) {
        guard running != saved else {
            unsaved = []
            return
        }
        unsaved += lines
    }

    /// A reload applied `configuration`, read from `file` whose text was `text`. Reading the
    /// startup file makes it the running configuration again; another file is a change of the
    /// running configuration only (the startup file stays what it was).
    public mutating func reloaded(file: String, text: String, configuration: SLBConfiguration) {
        if file == path {
            saved = configuration
            savedText = text
            unsaved = []
        } else if configuration == saved {
            unsaved = []
        } else {
            unsaved.append("reload \(file)")
        }
    }

    /// `write memory` wrote `text` (the rendering of `running`) to the file.
    public mutating func written(_ running: SLBConfiguration, text: String) {
        saved = running
        savedText = text
        unsaved = []
    }

    /// What a reload would discard from `running`: nil when the running configuration equals
    /// the file's (nothing is lost), else the unsaved changes in words for the log and the
    /// operator (at most `namedChangesLimit` named).
    public func discardedByReload(running: SLBConfiguration) -> String? {
        guard running != saved else { return nil }
        guard !unsaved.isEmpty else { return "the running configuration differs from the file" }
        let named = unsaved.prefix(Self.namedChangesLimit).map { "'\($0)'" }.joined(separator: ", ")
        let more = unsaved.count > Self.namedChangesLimit ? " and \(unsaved.count - Self.namedChangesLimit) more" : ""
        return "\(unsaved.count) unsaved change\(unsaved.count == 1 ? "" : "s"): \(named)\(more)"
    }

    /// Whether the file's current text still is what was last read or written. `current` is
    /// nil when the file cannot be read (deleted, replaced by a directory): that is a change.
    public func isUnchangedOnDisk(current: String?) -> Bool {
        guard let current else { return false }
        if let savedText { return current == savedText }
        return ConfigParser.parse(current, file: path ?? "<startup>").configuration == saved
    }
}
