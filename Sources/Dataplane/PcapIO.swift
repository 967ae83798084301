import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// `PacketIO` over libpcap: the portable backend (and the reference the AF_PACKET one is
/// checked against). Immediate mode (no buffering delay), non-blocking, inbound only
/// (`pcap_setdirection(PCAP_D_IN)`: frames this host sent are not captured), the same
/// compiled filter as the packet socket, `pcap_inject` to transmit.
///
/// libpcap hands out read-only views of its ring, so each frame is copied once into a
/// preallocated slot (no allocation per frame) where the loop may rewrite it. libpcap does not
/// expose the ring's checksum status, so frames are `.unknown` and the loop recomputes.
public final class PcapIO: PacketIO {
    public struct Configuration: Sendable {
        public var interface: String
        /// nil: receive nothing (transmit only); a reject-all filter keeps the ring empty.
        public var filter: BPFProgram?
        public var batchLimit: Int = 64
        /// Bytes per frame slot, also the capture length: longer frames are skipped (counted).
        public var slotSize: Int = 2048
        public var bufferSize: Int32 = 16 << 20   // as the packet socket's ring: ride out a descheduled loop

        public init(interface: String, filter: BPFProgram?) {
            self.interface = interface
            self.filter = filter
        }
    }

    public struct PcapError: Error, CustomStringConvertible, Sendable {
        public var call: String
        public var message: String
        public var description: String { "\(call): \(message)" }
    }

    public let configuration: Configuration
    public let batchLimit: Int
    public var pollDescriptor: Int32? { selectable >= 0 ? selectable : nil }
    public var statistics: PacketIOStatistics { context.statistics }

    private let handle: OpaquePointer
    private let selectable: Int32
    private let context: Context

    /// What the C callback fills: slots, frames and counters, reached through `user`.
    final class Context {
        let slots: UnsafeMutableRawPointer
        let slotSize: Int
        let frames: UnsafeMutableBufferPointer<Frame>
        var count = 0
        var statistics = PacketIOStatistics()

        init(batchLimit: Int, slotSize: Int) {
            self.slotSize = slotSize
            slots = .allocate(byteCount: batchLimit * slotSize, alignment: 64)
            frames = .allocate(capacity: batchLimit)
        }

        deinit {
            slots.deallocate()
            frames.deallocate()
        }
    }

    public init(_ configuration: Configuration) throws {
        self.configuration = configuration
        precondition(configuration.batchLimit > 0 && configuration.slotSize >= 64)
        batchLimit = configuration.batchLimit
        var errorBuffer = [CChar](repeating: 0, count: Int(PCAP_ERRBUF_SIZE))
        guard let handle = pcap_create(configuration.interface, &errorBuffer) else {
            throw PcapError(call: "pcap_create(\(configuration.interface))", message: PcapIO.text(errorBuffer))
        }
        self.handle = handle
        func fail(_ call: String, _ status: Int32) -> PcapError {
            PcapError(call: call, message: status == 0 ? "" : String(cString: pcap_geterr(handle)))
        }
        do {
            guard pcap_set_snaplen(handle, Int32(configuration.slotSize)) == 0 else { throw fail("pcap_set_snaplen", -1) }
            guard pcap_set_immediate_mode(handle, 1) == 0 else { throw fail("pcap_set_immediate_mode", -1) }
            guard pcap_set_buffer_size(handle, configuration.bufferSize) == 0 else { throw fail("pcap_set_buffer_size", -1) }
            let activated = pcap_activate(handle)
            // Warnings (> 0) still leave an active handle; errors (< 0) do not.
            guard activated >= 0 else { throw fail("pcap_activate(\(configuration.interface))", activated) }
            guard pcap_setdirection(handle, PCAP_D_IN) == 0 else { throw fail("pcap_setdirection(IN)", -1) }
            try PcapIO.setFilter(configuration.filter ?? .rejectAll, on: handle)
            guard pcap_setnonblock(handle, 1, &errorBuffer) == 0 else {
                throw PcapError(call: "pcap_setnonblock", message: PcapIO.text(errorBuffer))
            }
        } catch {
            pcap_close(handle)
            throw error
        }
        selectable = pcap_get_selectable_fd(handle)
        context = Context(batchLimit: configuration.batchLimit, slotSize: configuration.slotSize)
    }

    deinit { pcap_close(handle) }

    /// `pcap_setfilter` on the live handle: libpcap replaces the kernel filter of its socket
    /// (SO_ATTACH_FILTER) while the handle stays open.
    public func replaceFilter(_ program: BPFProgram) throws {
        try PcapIO.setFilter(program, on: handle)
    }

    static func setFilter(_ filter: BPFProgram, on handle: OpaquePointer) throws {
        var program = filter.instructions.map { bpf_insn(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k) }
        let status = program.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var fprog = bpf_program(bf_len: UInt32(buffer.count), bf_insns: buffer.baseAddress)
            return pcap_setfilter(handle, &fprog)
        }
        guard status == 0 else { throw PcapError(call: "pcap_setfilter", message: String(cString: pcap_geterr(handle))) }
    }

    static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public func receive(_ body: (UnsafeMutableBufferPointer<Frame>) throws -> Void) throws -> Int {
        context.count = 0
        let user = Unmanaged.passUnretained(context).toOpaque().assumingMemoryBound(to: UInt8.self)
        let status = pcap_dispatch(handle, Int32(batchLimit), { user, header, bytes in
            guard let user, let header, let bytes else { return }
            let context = Unmanaged<PcapIO.Context>.fromOpaque(UnsafeRawPointer(user)).takeUnretainedValue()
            let captured = Int(header.pointee.caplen)
            guard captured == Int(header.pointee.len), captured <= context.slotSize,
                  context.count < context.frames.count else {
                context.statistics.skipped += 1
                return
            }
            let slot = context.slots + context.count * context.slotSize
            slot.copyMemory(from: bytes, byteCount: captured)
            context.frames[context.count] = Frame(bytes: UnsafeMutableRawBufferPointer(start: slot, count: captured),
                                                  checksum: .unknown)
            context.count += 1
        }, user)
        if status < 0 {
            throw PcapError(call: "pcap_dispatch(\(configuration.interface))", message: String(cString: pcap_geterr(handle)))
        }
        let count = context.count
        guard count > 0 else { return 0 }
        context.statistics.received += UInt64(count)
        try body(UnsafeMutableBufferPointer(rebasing: context.frames[0..<count]))
        return count
    }

    @discardableResult
    public func send(_ frames: UnsafeBufferPointer<Frame>) throws -> Int {
        var accepted = 0
        for frame in frames {
            if pcap_inject(handle, frame.bytes.baseAddress, frame.bytes.count) == frame.bytes.count {
                accepted += 1
            } else {
                context.statistics.sendDropped += 1
            }
        }
        context.statistics.sent += UInt64(accepted)
        return accepted
    }

    /// Adds libpcap's kernel drop count (`ps_drop`, cumulative) to `statistics`.
    public func refreshKernelStatistics() {
        var stats = pcap_stat()
        if pcap_stats(handle, &stats) == 0 {
            context.statistics.kernelDropped = UInt64(stats.ps_drop)
        }
    }
}
