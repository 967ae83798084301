/// Names one lab. Every object a lab creates carries the prefix `vslb-<id>-`, so labs can
/// coexist (a developer's and a test run's) and teardown can find everything by name.
public struct LabID: Hashable, Sendable, CustomStringConvertible, Codable {
    /// Keeps namespace names short enough to read in `ip netns list`.
    public static let maximumLength = 8
    public static let standard = LabID(validated: "lab")

    public let rawValue: String

    /// Lower-case letters and digits only: the id becomes part of file and namespace names.
    public init?(_ text: String) {
        guard (1...LabID.maximumLength).contains(text.utf8.count),
              text.utf8.allSatisfy({ (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0)
                                     || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        rawValue = text
    }

    private init(validated: String) { rawValue = validated }

    public var description: String { rawValue }

    /// The prefix shared by every namespace of this lab.
    public var namespacePrefix: String { "vslb-\(rawValue)-" }
    /// All labs' namespaces start with this.
    public static let commonPrefix = "vslb-"

    /// Recorded as the bare string, re-validated when read back.
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = LabID(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "bad lab id \(text)"))
        }
        self = id
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
