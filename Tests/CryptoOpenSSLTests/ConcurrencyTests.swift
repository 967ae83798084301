import CryptoOpenSSL
import IPsecCrypto
import Testing

// The provider and key-exchange objects are Sendable; these tests use them from many tasks
// at once and check every result, so a shared OpenSSL context would show up as a wrong
// answer or a crash.

@Test func providerIsUsableFromManyTasksAtOnce() async throws {
    let key = [UInt8](repeating: 0x42, count: 16)
    let nonce = [UInt8](repeating: 0x24, count: 12)
    let plaintext = Array(0..<255) as [UInt8]
    let expectedSealed = try provider.gcmSeal(key: key, nonce: nonce, aad: [1], plaintext: plaintext)
    let expectedMAC = provider.hmac(.sha256, key: key, data: plaintext)
    try await withThrowingTaskGroup(of: Bool.self) { group in
        for _ in 0..<16 {
            group.addTask {
                for _ in 0..<200 {
                    let sealed = try provider.gcmSeal(key: key, nonce: nonce, aad: [1], plaintext: plaintext)
                    let opened = try provider.gcmOpen(key: key, nonce: nonce, aad: [1], ciphertextAndTag: sealed)
                    guard sealed == expectedSealed, opened == plaintext,
                          provider.hmac(.sha256, key: key, data: plaintext) == expectedMAC else { return false }
                }
                return true
            }
        }
        for try await ok in group { #expect(ok) }
    }
}

@Test func oneKeyExchangeDerivesConcurrently() async throws {
    let responder = try OpenSSLKeyExchange(group: .curve25519)
    let peers = try (0..<8).map { _ in try OpenSSLKeyExchange(group: .curve25519) }
    try await withThrowingTaskGroup(of: Bool.self) { group in
        for peer in peers {
            group.addTask {
                let expected = try peer.sharedSecret(peerPublicValue: responder.publicValue)
                for _ in 0..<100 where try responder.sharedSecret(peerPublicValue: peer.publicValue) != expected {
                    return false
                }
                return true
            }
        }
        for try await ok in group { #expect(ok) }
    }
}
