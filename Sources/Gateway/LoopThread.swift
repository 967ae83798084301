#if canImport(Glibc)
import Glibc
#endif

/// Runs a body on a dedicated POSIX thread and waits for it. The gateway's and the client's
/// event loops block in poll(); on the Swift cooperative pool (two threads on this machine)
/// they would starve every other task, so they get a thread of their own.
enum LoopThread {
    private final class Box: @unchecked Sendable {
        // Written before pthread_create, read by the new thread only.
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }

    static func runAndWait(_ body: @escaping () -> Void) {
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, box)
        guard rc == 0 else {
            // No thread: run inline rather than not at all.
            Unmanaged<Box>.fromOpaque(box).takeRetainedValue().body()
            return
        }
        pthread_join(thread, nil)
    }
}

/// SIGTERM/SIGINT request a clean stop (the control socket file is removed on the way out).
enum StopSignal {
    nonisolated(unsafe) static var requested: Int32 = 0

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in StopSignal.requested = 1 }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = handler
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0  // no SA_RESTART: poll() returns EINTR and the loop sees the flag
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        signal(SIGPIPE, SIG_IGN)
        // The stop signals go to the loop thread only, so they interrupt its poll() at once:
        // blocked here (the loop thread inherits the mask) and unblocked there. A parent may
        // also have started us with them blocked (some process launchers do).
        setMask(SIG_BLOCK)
    }

    /// Called on the loop thread.
    static func acceptOnThisThread() { setMask(SIG_UNBLOCK) }

    private static func setMask(_ how: Int32) {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        pthread_sigmask(how, &set, nil)
    }
}
