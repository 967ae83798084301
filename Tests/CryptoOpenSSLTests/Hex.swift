// Hex helpers for known-answer vectors written as they appear in the RFCs.

/// Decodes hex, ignoring spaces and newlines; traps on a malformed literal (test data only).
func hex(_ text: String) -> [UInt8] {
    let digits = text.unicodeScalars.filter { !$0.properties.isWhitespace }.map(Character.init)
    precondition(digits.count % 2 == 0, "odd-length hex literal")
    return stride(from: 0, to: digits.count, by: 2).map { index in
        guard let byte = UInt8(String(digits[index...index + 1]), radix: 16) else { preconditionFailure("bad hex literal") }
        return byte
    }
}

func hexString(_ bytes: some Sequence<UInt8>) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }
