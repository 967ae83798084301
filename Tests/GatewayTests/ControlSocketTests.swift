#if canImport(Glibc)
import Glibc
#endif
import ControlSocket
import Testing

@Suite struct ControlSocketTests {
    @Test func frameRoundTrip() throws {
        let frame = ControlFrame.encode(.ok, Array("snapshot".utf8))
        #expect(frame.prefix(5) == [0, 0, 0, 9, 0])
        let decoded = try #require(ControlFrame.decode(frame))
        #expect(decoded.status == .ok)
        #expect(decoded.body == Array("snapshot".utf8))
    }

    @Test(arguments: [
        [UInt8](),                       // nothing
        [0, 0, 0],                       // short prefix
        [0, 0, 0, 0],                    // zero length: no status octet
        [0, 0, 0, 2, 0],                 // says 2, has 1
        [0, 0, 0, 1, 9],                 // unknown status
        [0xFF, 0xFF, 0xFF, 0xFF, 0],     // over the maximum
    ])
    func malformedFramesAreRejected(frame: [UInt8]) {
        #expect(ControlFrame.decode(frame) == nil)
    }

    @Test func serverAnswersRootClient() throws {
        guard getuid() == 0 else { return }   // the server only answers root; nothing to test otherwise
        let dir = "/tmp/vpnslb-ctl-test-\(getpid())"
        let path = dir + "/c.sock"
        defer { unlink(path); rmdir(dir) }
        let server = try ControlServer(path: path)
        defer { withExtendedLifetime(server) {} }
        var st = stat()
        #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600)
        // One thread: connect first (the backlog holds it), then let the server answer, then read.
        let client = try ClientThread(path: path, request: Array("hello".utf8))
        var served = false
        for _ in 0..<200 where !served {
            server.servePending { body in
                served = true
                return (.ok, body.reversed())
            }
            if !served { usleep(5000) }
        }
        let answer = try client.finish()
        #expect(answer == Array("olleh".utf8))
    }
}

/// Runs `ControlClient.request` on a POSIX thread so the test thread can serve it.
final class ClientThread: @unchecked Sendable {
    private var result: Result<[UInt8], ControlSocketError>?
    private var thread = pthread_t()
    private let path: String
    private let request: [UInt8]

    init(path: String, request: [UInt8]) throws {
        self.path = path
        self.request = request
        let me = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            let me = Unmanaged<ClientThread>.fromOpaque(raw!).takeRetainedValue()
            do throws(ControlSocketError) {
                me.result = .success(try ControlClient.request(path: me.path, me.request))
            } catch {
                me.result = .failure(error)
            }
            return nil
        }, me)
    }

    func finish() throws -> [UInt8] {
        pthread_join(thread, nil)
        return try result!.get()
    }
}
