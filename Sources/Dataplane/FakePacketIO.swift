/// An in-memory `PacketIO` for tests and the simulator: frames queued with `inject` come out of
/// `receive` in batches; frames given to `send` are kept in `transmitted`.
public final class FakePacketIO: PacketIO {
    public let batchLimit: Int
    public private(set) var statistics = PacketIOStatistics()
    public var pollDescriptor: Int32? { nil }

    private var pending: [([UInt8], ChecksumState)] = []
    public private(set) var transmitted: [[UInt8]] = []
    /// When set, `send` accepts at most this many frames per call (a full TX queue).
    public var sendCapacity: Int?

    public init(batchLimit: Int = 64) {
        precondition(batchLimit > 0)
        self.batchLimit = batchLimit
    }

    public func inject(_ frame: [UInt8], checksum: ChecksumState = .complete) {
        pending.append((frame, checksum))
    }

    public var pendingCount: Int { pending.count }

    public func receive(_ body: (UnsafeMutableBufferPointer<Frame>) throws -> Void) throws -> Int {
        let count = min(batchLimit, pending.count)
        guard count > 0 else { return 0 }
        var batch = Array(pending.prefix(count))
        pending.removeFirst(count)
        let storage = UnsafeMutableBufferPointer<Frame>.allocate(capacity: count)
        defer { storage.deallocate() }
        // Each frame gets its own buffer so `body` can rewrite it in place, as on a ring.
        var buffers: [UnsafeMutableRawBufferPointer] = []
        defer { buffers.forEach { $0.deallocate() } }
        for (index, item) in batch.enumerated() {
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: item.0.count, alignment: 8)
            item.0.withUnsafeBytes { buffer.copyMemory(from: $0) }
            buffers.append(buffer)
            storage[index] = Frame(bytes: buffer, checksum: item.1)
        }
        batch.removeAll()
        statistics.received += UInt64(count)
        try body(storage)
        return count
    }

    @discardableResult
    public func send(_ frames: UnsafeBufferPointer<Frame>) throws -> Int {
        let accepted = min(frames.count, sendCapacity ?? frames.count)
        for frame in frames.prefix(accepted) { transmitted.append(Array(frame.bytes)) }
        statistics.sent += UInt64(accepted)
        statistics.sendDropped += UInt64(frames.count - accepted)
        return accepted
    }

    /// The programs `replaceFilter` was given, in order (the fake does not filter).
    public private(set) var replacedFilters: [BPFProgram] = []

    public func replaceFilter(_ program: BPFProgram) throws { replacedFilters.append(program) }

    public func takeTransmitted() -> [[UInt8]] {
        defer { transmitted.removeAll() }
        return transmitted
    }
}
