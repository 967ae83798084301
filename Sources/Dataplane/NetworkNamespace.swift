import CPcap
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Runs code inside a named network namespace (`ip netns add NAME` → /run/netns/NAME).
///
/// setns(2) with CLONE_NEWNET switches only the calling thread, so the body runs on a fresh
/// thread that enters the namespace and ends with it; the caller's threads never move. A
/// socket keeps the namespace it was created in, so a body that opens sockets hands back
/// descriptors that can then be used from any thread (this is how tests and the lab drive
/// several namespaces from one process).
public enum NetworkNamespace {
    public static let directory = "/run/netns"

    public static func run<T: Sendable>(_ name: String, _ body: @escaping @Sendable () throws -> T) throws -> T {
        let fd = open(directory + "/" + name, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open(\(directory)/\(name))") }
        defer { close(fd) }

        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            if vpnslb_setns_net(fd) != 0 {
                box.result = .failure(SystemError("setns(\(name))"))
            } else {
                box.result = Result { try body() }
            }
            done.signal()
        }
        thread.name = "netns " + name
        thread.start()
        done.wait()
        guard let result = box.result else { throw SystemError("setns(\(name))", errno: EINVAL) }
        return try result.get()
    }

    /// True when this process may create and enter network namespaces: root, iproute2 present,
    /// and the kernel lets a throwaway thread unshare its network namespace (no CAP_SYS_ADMIN,
    /// e.g. in an unprivileged container, fails here rather than half-way through a test).
    public static let isAvailable: Bool = {
        guard geteuid() == 0,
              ["/usr/sbin/ip", "/sbin/ip"].contains(where: FileManager.default.isExecutableFile) else { return false }
        let box = ResultBox<Bool>()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.result = .success(vpnslb_unshare_net() == 0)
            done.signal()
        }
        thread.start()
        done.wait()
        return (try? box.result?.get()) ?? false
    }()
}

/// Hands a result from the namespace thread to the waiting caller; the semaphore orders the
/// write before the read.
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
