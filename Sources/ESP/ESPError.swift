/// Why an ESP packet was not produced or not accepted. Inbound errors are drops the caller
/// counts (see `ESPDropCounters`); none of them is answered on the wire (RFC 4303 §3.4).
public enum ESPError: Error, Hashable, Sendable, CaseIterable {
    // Inbound, in the order RFC 4303 §3.4 checks them.
    /// Shorter than header + IV + minimum ciphertext + ICV, or ciphertext not whole blocks.
    case truncated
    /// No SA for the SPI (§3.4.2), or the packet's SPI is not this SA's.
    case badSPI
    /// Sequence number 0 is never sent (§2.2: the first packet carries 1).
    case invalidSequenceNumber
    /// Already received inside the window (§3.4.3).
    case replayed
    /// Left of the window: older than the window can remember (§3.4.3).
    case outsideWindow
    /// HMAC ICV or GCM tag did not verify (§3.4.4); nothing was decrypted or learnt.
    case icvMismatch
    /// Pad Length larger than the plaintext, or padding bytes not 1, 2, 3, … (§2.4).
    case badPadding
    /// The SA passed its hard lifetime (RFC 4301 §4.4.2.1) and must not be used.
    case saExpired

    // Outbound.
    /// The 32-bit sequence number would wrap (§3.3.3): the SA must be rekeyed.
    case sequenceNumberExhausted
    // Setup.
    /// Unsupported algorithm combination, key length or key material length, or a reserved
    /// SPI (0–255, RFC 4303 §2.1).
    case invalidTransform
    /// The crypto backend refused (wrong key length etc.); a configuration bug, not a peer's.
    case cryptoFailure
}
