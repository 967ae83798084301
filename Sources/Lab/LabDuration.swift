/// `--for 90`, `--for 30s`, `--for 5m`, `--for 1h`: how long `slb lab up --for` holds a lab.
public enum LabDuration {
    /// A day: a lab is a test fixture, not a service.
    public static let maximumSeconds = 86_400

    public static func seconds(_ text: String) -> Int? {
        guard let last = text.last else { return nil }
        let multiplier: Int
        var digits = Substring(text)
        switch last {
        case "s": multiplier = 1; digits = digits.dropLast()
        case "m": multiplier = 60; digits = digits.dropLast()
        case "h": multiplier = 3600; digits = digits.dropLast()
        default: multiplier = 1
        }
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              digits.count <= 6, let value = Int(digits) else { return nil }
        let seconds = value * multiplier
        guard (1...maximumSeconds).contains(seconds) else { return nil }
        return seconds
    }
}
