import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// `PacketIO` over a Linux packet socket (packet(7)) bound to one interface: a TPACKET_V3
/// receive ring read in place, and `sendmmsg` batches for transmit.
///
/// - Receive: frames are read straight out of the mmap'd ring blocks and handed to the loop
///   in batches; a block goes back to the kernel once all its frames were handled.
///   `TP_STATUS_CSUMNOTREADY` in a frame's status marks an unfinished checksum (the ring
///   carries the PACKET_AUXDATA status bits in `tp_status`).
/// - Our own and the host's outgoing frames never show up: PACKET_IGNORE_OUTGOING (Linux 4.20),
///   and `sll_pkttype == PACKET_OUTGOING` is skipped as well for older kernels.
/// - Latency: a V3 block is handed to user space when full or when its retire timer
///   (`blockTimeout`, 1 ms) fires, so at low rates a frame waits at most about 1 ms.
/// - The filter is attached before the socket is bound to a protocol, so no unfiltered frame is
///   ever queued.
public final class PacketSocketIO: PacketIO {
    public struct Configuration: Sendable {
        public var interface: String
        /// nil: receive nothing (a transmit-only socket, e.g. on the gateway side).
        public var filter: BPFProgram?
        /// Why many blocks: the retire timer closes a block after `blockTimeout` however little
        /// it holds, so the ring buffers `blockCount` × 1 ms of traffic at moderate rates, not
        /// its byte size. 8 blocks (8 ms) overflowed whenever the loop thread was descheduled
        /// that long (slb-bench forwarding: 32–42 % `kernel-dropped` at 0.3 CPU); 128 blocks
        /// ride out 128 ms, and 16 MiB holds ~100 000 small frames at full-block rates.
        public var blockSize: Int = 1 << 17
        public var blockCount: Int = 128
        /// Blocks handed to the loop per `receive` call, so probes and timers still run when
        /// the whole ring is full (~25 000 small frames, tens of milliseconds of work).
        public var blocksPerReceive: Int = 32
        /// Milliseconds before a partly filled block is handed to user space.
        public var blockTimeout: UInt32 = 1
        public var batchLimit: Int = 64
        /// PACKET_QDISC_BYPASS: frames go straight to the driver (no qdisc on veth/bridge).
        public var qdiscBypass: Bool = true

        public init(interface: String, filter: BPFProgram?) {
            self.interface = interface
            self.filter = filter
        }
    }

    public let configuration: Configuration
    public let descriptor: Int32
    public let interfaceIndex: Int32
    public let batchLimit: Int
    public private(set) var statistics = PacketIOStatistics()
    public var pollDescriptor: Int32? { ring == nil ? nil : descriptor }

    private let ring: UnsafeMutableRawPointer?
    private let ringSize: Int
    private var currentBlock = 0
    private let frames: UnsafeMutableBufferPointer<Frame>
    private let messages: UnsafeMutablePointer<vpnslb_mmsghdr>
    private let vectors: UnsafeMutablePointer<iovec>
    private let destination: UnsafeMutablePointer<sockaddr_ll>

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        precondition(configuration.batchLimit > 0 && configuration.blockCount > 0 && configuration.blocksPerReceive > 0)
        let index = if_nametoindex(configuration.interface)
        guard index > 0 else { throw SystemError("if_nametoindex(\(configuration.interface))") }
        interfaceIndex = Int32(index)
        batchLimit = configuration.batchLimit

        // Protocol 0: nothing is received until bind() names a protocol, after the filter.
        let fd = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SystemError("socket(AF_PACKET, SOCK_RAW)") }
        descriptor = fd
        var mapped: UnsafeMutableRawPointer?
        var size = 0
        do {
            if configuration.qdiscBypass {
                try PacketSocketIO.setOption(fd, PACKET_QDISC_BYPASS, 1, "PACKET_QDISC_BYPASS")
            }
            if let filter = configuration.filter {
                try PacketSocketIO.setOption(fd, PACKET_VERSION, Int32(TPACKET_V3.rawValue), "PACKET_VERSION")
                // Best effort: kernels before 4.20 lack it; sll_pkttype is checked as well.
                _ = try? PacketSocketIO.setOption(fd, PACKET_IGNORE_OUTGOING, 1, "PACKET_IGNORE_OUTGOING")
                try filter.attach(to: fd)
                var request = tpacket_req3()
                request.tp_block_size = UInt32(configuration.blockSize)
                request.tp_block_nr = UInt32(configuration.blockCount)
                request.tp_frame_size = 2048
                request.tp_frame_nr = UInt32(configuration.blockSize / 2048 * configuration.blockCount)
                request.tp_retire_blk_tov = configuration.blockTimeout
                try check("setsockopt(PACKET_RX_RING)",
                          setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &request, socklen_t(MemoryLayout<tpacket_req3>.size)))
                size = configuration.blockSize * configuration.blockCount
                let pointer = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0)
                guard let pointer, pointer != MAP_FAILED else { throw SystemError("mmap(rx ring)") }
                mapped = pointer
            }
            var address = sockaddr_ll()
            address.sll_family = UInt16(AF_PACKET)
            address.sll_protocol = configuration.filter == nil ? 0 : UInt16(ETH_P_ALL).bigEndian
            address.sll_ifindex = Int32(index)
            try withUnsafePointer(to: &address) { pointer in
                try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    try check("bind(AF_PACKET, \(configuration.interface))",
                              bind(fd, $0, socklen_t(MemoryLayout<sockaddr_ll>.size)))
                }
            }
        } catch {
            if let mapped { munmap(mapped, size) }
            close(fd)
            throw error
        }
        ring = mapped
        ringSize = size

        frames = .allocate(capacity: configuration.batchLimit)
        messages = .allocate(capacity: configuration.batchLimit)
        vectors = .allocate(capacity: configuration.batchLimit)
        destination = .allocate(capacity: 1)
        var to = sockaddr_ll()
        to.sll_family = UInt16(AF_PACKET)
        to.sll_protocol = UInt16(ETH_P_IP).bigEndian
        to.sll_ifindex = Int32(index)
        destination.initialize(to: to)
        for i in 0..<configuration.batchLimit {
            vectors[i] = iovec()
            messages[i] = vpnslb_mmsghdr()
            messages[i].msg_hdr.msg_iov = vectors + i
            messages[i].msg_hdr.msg_iovlen = 1
            messages[i].msg_hdr.msg_name = UnsafeMutableRawPointer(destination)
            messages[i].msg_hdr.msg_namelen = socklen_t(MemoryLayout<sockaddr_ll>.size)
        }
    }

    deinit {
        if let ring { munmap(ring, ringSize) }
        close(descriptor)
        frames.deallocate()
        messages.deallocate()
        vectors.deallocate()
        destination.deallocate()
    }

    /// SO_ATTACH_FILTER again on the bound socket: the kernel swaps the program atomically
    /// (socket(7)), so no frame is ever seen unfiltered. A socket opened without a filter has
    /// no ring and receives nothing, so there is nothing to replace.
    public func replaceFilter(_ program: BPFProgram) throws {
        guard ring != nil else { throw FilterReplacementUnsupported(backend: "packet socket opened without a filter") }
        try program.attach(to: descriptor)
    }

    static func setOption(_ fd: Int32, _ option: Int32, _ value: Int32, _ name: String) throws {
        var value = value
        try check("setsockopt(\(name))", setsockopt(fd, SOL_PACKET, option, &value, socklen_t(MemoryLayout<Int32>.size)))
    }

    // MARK: receive

    public func receive(_ body: (UnsafeMutableBufferPointer<Frame>) throws -> Void) throws -> Int {
        guard let ring else { return 0 }
        var handed = 0
        // At most `blocksPerReceive` blocks per call, so a busy interface cannot starve the caller.
        for _ in 0..<min(configuration.blockCount, configuration.blocksPerReceive) {
            let block = (ring + currentBlock * configuration.blockSize).assumingMemoryBound(to: tpacket_block_desc.self)
            guard vpnslb_block_status(block) & UInt32(TP_STATUS_USER) != 0 else { break }
            defer {
                vpnslb_block_release(block)
                currentBlock = (currentBlock + 1) % configuration.blockCount
            }
            let packets = Int(block.pointee.hdr.bh1.num_pkts)
            var header = UnsafeMutableRawPointer(block) + Int(block.pointee.hdr.bh1.offset_to_first_pkt)
            var count = 0
            for _ in 0..<packets {
                let frame = header.assumingMemoryBound(to: tpacket3_hdr.self)
                let next = Int(frame.pointee.tp_next_offset)
                let captured = Int(frame.pointee.tp_snaplen)
                let type = vpnslb_tpacket3_sll(frame).pointee.sll_pkttype
                // Our own frames, and frames for another host seen only in promiscuous mode.
                if type == UInt8(PACKET_OUTGOING) || type == UInt8(PACKET_OTHERHOST)
                    || captured < Int(frame.pointee.tp_len) {
                    statistics.skipped += 1
                } else {
                    let status = frame.pointee.tp_status
                    frames[count] = Frame(
                        bytes: UnsafeMutableRawBufferPointer(start: header + Int(frame.pointee.tp_mac), count: captured),
                        checksum: status & UInt32(TP_STATUS_CSUMNOTREADY) != 0 ? .partial : .complete)
                    count += 1
                    if count == batchLimit {
                        statistics.received += UInt64(count)
                        handed += count
                        try body(UnsafeMutableBufferPointer(rebasing: frames[0..<count]))
                        count = 0
                    }
                }
                header += next
            }
            if count > 0 {
                statistics.received += UInt64(count)
                handed += count
                try body(UnsafeMutableBufferPointer(rebasing: frames[0..<count]))
            }
        }
        return handed
    }

    /// Adds the kernel's ring drop counter (PACKET_STATISTICS, reset on read) to `statistics`.
    public func refreshKernelStatistics() {
        guard ring != nil else { return }
        var stats = tpacket_stats_v3()
        var length = socklen_t(MemoryLayout<tpacket_stats_v3>.size)
        if getsockopt(descriptor, SOL_PACKET, PACKET_STATISTICS, &stats, &length) == 0 {
            statistics.kernelDropped += UInt64(stats.tp_drops)
        }
    }

    // MARK: send

    @discardableResult
    public func send(_ batch: UnsafeBufferPointer<Frame>) throws -> Int {
        var accepted = 0
        var start = 0
        while start < batch.count {
            let count = min(batchLimit, batch.count - start)
            for i in 0..<count {
                let frame = batch[start + i]
                vectors[i].iov_base = frame.bytes.baseAddress
                vectors[i].iov_len = frame.bytes.count
            }
            var offset = 0
            while offset < count {
                let sent = vpnslb_sendmmsg(descriptor, messages + offset, UInt32(count - offset), Int32(MSG_DONTWAIT))
                if sent > 0 {
                    offset += Int(sent)
                    accepted += Int(sent)
                    continue
                }
                let error = errno
                switch error {
                case EINTR:
                    continue
                case EMSGSIZE, EINVAL:
                    // This one frame cannot go out (too big for the device): drop it, go on.
                    statistics.sendDropped += 1
                    offset += 1
                case EAGAIN, ENOBUFS, ENETDOWN, ENXIO:
                    // Queue full or link down: drop the rest of this batch rather than block the loop.
                    statistics.sendDropped += UInt64(count - offset)
                    offset = count
                default:
                    statistics.sent += UInt64(accepted)
                    throw SystemError("sendmmsg(\(configuration.interface))", errno: error)
                }
            }
            start += count
        }
        statistics.sent += UInt64(accepted)
        return accepted
    }
}
