import CPcap
#if canImport(Glibc)
import Glibc
#endif

/// A classic BPF program compiled by libpcap's `pcap_compile` for Ethernet frames, ready for
/// SO_ATTACH_FILTER on a packet socket or `pcap_setfilter`. libpcap's `bpf_insn` and the
/// kernel's `sock_filter` have the same layout ({u16 code, u8 jt, u8 jf, u32 k}).
public struct BPFProgram: Sendable {
    public let instructions: [sock_filter]
    public let expression: String

    public struct CompileError: Error, CustomStringConvertible, Sendable {
        public var expression: String
        public var message: String
        public var description: String { "BPF filter `\(expression)`: \(message)" }
    }

    /// A program that admits no frame (used when no vserver is configured).
    public static let rejectAll = BPFProgram(instructions: [sock_filter(code: UInt16(BPF_RET | BPF_K), jt: 0, jf: 0, k: 0)],
                                             expression: "<none>")

    init(instructions: [sock_filter], expression: String) {
        self.instructions = instructions
        self.expression = expression
    }

    /// Largest frame the filter looks at: IPv4 with options plus a UDP header fit well inside.
    public static let snapLength: Int32 = 262_144

    public init(compiling expression: String) throws {
        guard let dead = pcap_open_dead(DLT_EN10MB, BPFProgram.snapLength) else {
            throw CompileError(expression: expression, message: "pcap_open_dead failed")
        }
        defer { pcap_close(dead) }
        var program = bpf_program()
        guard pcap_compile(dead, &program, expression, 1, PCAP_NETMASK_UNKNOWN) == 0 else {
            throw CompileError(expression: expression, message: String(cString: pcap_geterr(dead)))
        }
        defer { pcap_freecode(&program) }
        var instructions: [sock_filter] = []
        instructions.reserveCapacity(Int(program.bf_len))
        for i in 0..<Int(program.bf_len) {
            let insn = program.bf_insns[i]
            instructions.append(sock_filter(code: insn.code, jt: insn.jt, jf: insn.jf, k: insn.k))
        }
        self.instructions = instructions
        self.expression = expression
    }

    /// Attaches the program to a socket (SO_ATTACH_FILTER, socket(7)); the kernel copies it.
    public func attach(to descriptor: Int32) throws {
        var copy = instructions
        try copy.withUnsafeMutableBufferPointer { buffer in
            var fprog = sock_fprog(len: UInt16(buffer.count), filter: buffer.baseAddress)
            try check("setsockopt(SO_ATTACH_FILTER)",
                      setsockopt(descriptor, SOL_SOCKET, SO_ATTACH_FILTER, &fprog, socklen_t(MemoryLayout<sock_fprog>.size)))
        }
    }

    /// Runs the program on a frame in user space (`bpf_filter`), for tests and diagnostics.
    public func matches(_ frame: [UInt8]) -> Bool {
        var insns = instructions.map { bpf_insn(code: $0.code, jt: $0.jt, jf: $0.jf, k: $0.k) }
        return insns.withUnsafeMutableBufferPointer { buffer in
            frame.withUnsafeBufferPointer { bytes in
                bpf_filter(buffer.baseAddress, bytes.baseAddress, UInt32(bytes.count), UInt32(bytes.count)) != 0
            }
        }
    }
}
