/// What is known about a received frame's layer-4 checksum.
public enum ChecksumState: Hashable, Sendable {
    /// The checksum field holds the final value (or the sender sent none).
    case complete
    /// The sender's stack left it to offload (CHECKSUM_PARTIAL, `TP_STATUS_CSUMNOTREADY`): the
    /// field holds only the pseudo-header sum. A forwarder must complete it, or the gateway
    /// counts `Udp InCsumErrors` (veth TX offload does this on every locally sent datagram).
    case partial
    /// The backend cannot tell (libpcap hides the ring status): recompute from scratch.
    case unknown
}

/// One Ethernet frame in a batch, in the backend's memory: the forwarding loop rewrites it in
/// place and hands it to `send` before the batch's memory goes back to the backend.
public struct Frame {
    public var bytes: UnsafeMutableRawBufferPointer
    public var checksum: ChecksumState

    @inlinable public init(bytes: UnsafeMutableRawBufferPointer, checksum: ChecksumState) {
        self.bytes = bytes
        self.checksum = checksum
    }
}

/// Counters a backend keeps about itself (the engine keeps the load-balancing counters).
public struct PacketIOStatistics: Hashable, Sendable {
    public var received: UInt64 = 0
    public var sent: UInt64 = 0
    /// Frames `send` could not hand to the kernel (queue full): dropped, not retried.
    public var sendDropped: UInt64 = 0
    /// Frames the kernel dropped before we read them (ring full), where the backend can tell.
    public var kernelDropped: UInt64 = 0
    /// Frames skipped because they were truncated or our own outgoing frames.
    public var skipped: UInt64 = 0

    public init() {}
}

/// Batched packet I/O on one interface. The forwarding loop is generic over it, so AF_PACKET,
/// libpcap and the in-memory fake share one loop and the hot path has no existential.
///
/// Every backend receives only frames that arrived on the wire (never the ones it or anyone on
/// this host sent, `PACKET_OUTGOING`), and only those its filter admits.
public protocol PacketIO: AnyObject, SendableMetatype {
    /// A descriptor to poll(2) for POLLIN; nil when there is none (the fake).
    var pollDescriptor: Int32? { get }

    /// Hands the frames that are waiting, at most `batchLimit` at a time, to `body`, without
    /// blocking; returns how many were handed over (0 when none were waiting). Frames are valid
    /// only inside `body`.
    func receive(_ body: (UnsafeMutableBufferPointer<Frame>) throws -> Void) throws -> Int

    /// Transmits the frames (their bytes are copied before it returns); returns how many the
    /// kernel accepted. The rest are counted in `statistics.sendDropped`.
    @discardableResult
    func send(_ frames: UnsafeBufferPointer<Frame>) throws -> Int

    var statistics: PacketIOStatistics { get }

    /// The most frames one `receive` batch or one `send` call carries.
    var batchLimit: Int { get }

    /// Folds the kernel's drop counter into `statistics.kernelDropped` (about once a second).
    func refreshKernelStatistics()

    /// Replaces the capture filter on the live handle (a reload changed the vservers): frames
    /// already queued stay, later ones are admitted by `program` only.
    func replaceFilter(_ program: BPFProgram) throws
}

/// A backend that cannot change what it captures while it runs.
public struct FilterReplacementUnsupported: Error, CustomStringConvertible, Sendable {
    public var backend: String
    public var description: String { "\(backend) cannot replace its capture filter; restart slb run" }
}

extension PacketIO {
    public func refreshKernelStatistics() {}
    public func replaceFilter(_ program: BPFProgram) throws {
        throw FilterReplacementUnsupported(backend: String(describing: Self.self))
    }
}
