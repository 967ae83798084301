#if canImport(Glibc)
import Glibc
#endif
@testable import Gateway
import IKE
import Testing

@Suite struct PSKFileTests {
    @Test func parsesEveryIdentityKindAndSecretForm() throws {
        let table = try PSKFile.parse("""
            # lab keys
            *                  "lab psk with spaces"
            192.0.2.10         plain-secret
            client1.example    0x6b6579
            alice@example.com  "alice"   \t

            """)
        #expect(table.defaultKey == Array("lab psk with spaces".utf8))
        #expect(table.byIdentity[.ipv4([192, 0, 2, 10])] == Array("plain-secret".utf8))
        #expect(table.byIdentity[.fqdn("client1.example")] == [0x6b, 0x65, 0x79])
        #expect(table.byIdentity[IdentificationPayload(type: .rfc822Address, data: Array("alice@example.com".utf8))] == Array("alice".utf8))
        #expect(table.key(for: .fqdn("unknown.example")) == table.defaultKey)
    }

    @Test(arguments: [
        ("lonely-token", 1, "expected 'identity secret'"),
        ("* a\n* b", 2, "second '*' line"),
        ("x.example a\nx.example b", 2, "duplicate identity x.example"),
        ("* \"open", 1, "unterminated quoted secret"),
        ("* 0xabc", 1, "odd number of hex digits"),
        ("* 0xzz", 1, "bad hex digit in secret"),
        ("* two words", 1, "secret with spaces must be quoted"),
        ("* \"\"", 1, "empty secret"),
    ])
    func rejectsBadLines(text: String, line: Int, message: String) {
        #expect(throws: PSKFileError(path: "<psk>", line: line, message: message)) { try PSKFile.parse(text) }
    }

    @Test func refusesFilesOthersCanRead() throws {
        let path = "/tmp/vpnslb-psk-test-\(getpid())"
        defer { unlink(path) }
        let f = try #require(fopen(path, "w"))
        fputs("* secret\n", f)
        fclose(f)
        chmod(path, 0o644)
        #expect(throws: PSKFileError.self) { try PSKFile.load(path) }
        chmod(path, 0o640)
        #expect(throws: PSKFileError.self) { try PSKFile.load(path) }
        chmod(path, 0o600)
        if getuid() == 0 {
            #expect(try PSKFile.load(path).defaultKey == Array("secret".utf8))
            chown(path, 65534, 65534)
            #expect(throws: PSKFileError.self) { try PSKFile.load(path) }
        } else {
            // Not root: the file is ours, not root's, so it must still be refused.
            #expect(throws: PSKFileError.self) { try PSKFile.load(path) }
        }
    }

    @Test func missingFileIsAnErrorNotACrash() {
        #expect(throws: PSKFileError.self) { try PSKFile.load("/nonexistent/vpnslb/psk") }
    }

    @Test func cookieSecretNeedsSixteenOctetsAndRootOnlyMode() throws {
        guard getuid() == 0 else { return }   // root-owned files can only be made by root
        let path = "/tmp/vpnslb-cookie-test-\(getpid())"
        defer { unlink(path) }
        for (text, ok) in [("0123456789abcdef\n", true), ("  short  \n", false)] {
            let f = try #require(fopen(path, "w"))
            fputs(text, f)
            fclose(f)
            chmod(path, 0o600)
            if ok {
                #expect(try PSKFile.loadCookieSecret(path) == Array("0123456789abcdef".utf8))
            } else {
                #expect(throws: PSKFileError.self) { try PSKFile.loadCookieSecret(path) }
            }
        }
        chmod(path, 0o604)
        #expect(throws: PSKFileError.self) { try PSKFile.loadCookieSecret(path) }
    }
}
