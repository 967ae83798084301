import CPcap
import IKE
import SLBConfig
import SLBCore
import SLBWire
#if canImport(Glibc)
import Glibc
#endif

/// Runs the `ike` probes (a VPNSLB extension beyond IOS SLB) on the forwarding thread, as a
/// `ForwardingLoopHook`. Why: a gateway whose IKE process died still answers pings, so a ping
/// probe never fails it, and its clients' new IKE_SA_INIT (from port 500, same flow) keeps
/// matching the old connection entry.
///
/// Each (real, ike probe) sends, every `interval`, an IKE_SA_INIT on the clients' own path:
/// destination the VIP (the real's address for a `nat server` farm), UDP 500, to the real's
/// MAC, out of the inside interface; source the SLB's inside address and `port`. The request
/// is one the responder refuses statelessly (`IKEProbeMessage`). Any IKE_SA_INIT response for
/// the probe's SPIi is a success; no response before the next probe is due, or an ICMP error
/// quoting the probe (port unreachable: the IKE process is gone), is a miss.
///
/// Sockets: an AF_PACKET socket (protocol 0: it never receives) sends the crafted frame; a UDP
/// socket bound to (inside address, `port`) receives the answers (the kernel delivers them:
/// they are addressed to this host) and, with IP_RECVERR, the ICMP errors on its error queue.
/// Frames are built once per slot; a probe rewrites the MAC, the SPIi and the UDP checksum
/// (RFC 1624 incremental update) in place: no allocation per probe.
public final class IKEProber: ForwardingLoopHook {
    /// The default source port of probes (outside the IKE ports, so a gateway never mistakes
    /// a probe for a client's port-500 flow).
    public static let defaultPort: UInt16 = 50_500
    static let ikePort: UInt16 = 500
    /// Offsets in the frame: Ethernet 14, IPv4 20 (no options), UDP 8.
    static let udpOffset = 14 + 20
    static let ikeOffset = udpOffset + 8
    /// How often the ARP table is re-read for the reals' MACs.
    static let neighbourRefresh: TimeSpan = .seconds(1)
    /// … and how often while a probe waits for a MAC (the loop's own retry period).
    static let neighbourRetry: TimeSpan = .milliseconds(100)

    struct Slot {
        var real: RealID
        var address: IPv4Address
        var destination: IPv4Address
        var probe: String
        var interval: TimeSpan
        var nextSend: MonotonicTime
        var outstanding: (spi: UInt64, sentAt: MonotonicTime)?
        /// Since when this slot's probe waits for the real's MAC.
        var awaitingNeighbour: MonotonicTime?
        var faildetect: Int
        /// Consecutive misses (for the log only; the engine keeps its own count).
        var misses = 0
        var frame: [UInt8]
        /// UDP checksum of the frame with SPIi zero (base for the incremental update).
        var baseChecksum: UInt16
    }

    public struct Counters: Hashable, Sendable, CustomStringConvertible {
        public var sent: UInt64 = 0
        public var answered: UInt64 = 0
        public var timedOut: UInt64 = 0
        public var unreachable: UInt64 = 0
        public var noNeighbour: UInt64 = 0
        public var unmatched: UInt64 = 0
        /// Of `answered`: read as soon as poll(2) reported the socket, not by a later pass.
        public var answeredOnWake: UInt64 = 0
        public var description: String {
            "sent=\(sent) answered=\(answered) answered-on-wake=\(answeredOnWake) timed-out=\(timedOut) icmp-unreachable=\(unreachable) no-neighbour=\(noNeighbour) unmatched=\(unmatched)"
        }
    }

    private var slots: [Slot]
    /// The hook this one wraps (the runtime's control service): the loop has one hook, and
    /// each passes everything on.
    private let next: (any ForwardingLoopHook)?
    private let sourceMAC: MACAddress
    private let insideAddress: IPv4Address
    private let port: UInt16
    private let packetSocket: Int32
    private let udpSocket: Int32
    private let interfaceIndex: Int32
    private let interfaceName: String
    private var neighbours: [IPv4Address: MACAddress] = [:]
    private var lastNeighbourRead = MonotonicTime.zero
    private var spiCounter: UInt64
    private var buffer = [UInt8](repeating: 0, count: 2048)
    private var control = [UInt8](repeating: 0, count: 512)
    private var arpText: [UInt8] = []
    private var results: [PingProber.Result] = []
    private let events: EventLine
    private let log: @Sendable (String) -> Void
    public private(set) var counters = Counters()

    /// The number of (real, ike probe) pairs.
    public var probeCount: Int { slots.count }

    /// Opens the sockets in the calling thread's namespace. `targets` are the engine's;
    /// probes of other kinds are skipped.
    public init(targets: [ProbeTarget], configuration: SLBConfiguration, insideInterface: String,
                insideAddress: IPv4Address, sourceMAC: MACAddress, port: UInt16 = IKEProber.defaultPort,
                next: (any ForwardingLoopHook)? = nil,
                now: MonotonicTime, log: @escaping @Sendable (String) -> Void) throws {
        events = EventLine(write: log)
        self.log = log
        self.next = next
        self.sourceMAC = sourceMAC
        self.insideAddress = insideAddress
        self.port = port
        interfaceName = insideInterface
        spiCounter = now.nanoseconds | 1
        slots = IKEProber.makeSlots(targets: targets, configuration: configuration, insideAddress: insideAddress,
                                    sourceMAC: sourceMAC, port: port, now: now)

        interfaceIndex = Int32(if_nametoindex(insideInterface))
        guard interfaceIndex > 0 else { throw SystemError("if_nametoindex(\(insideInterface))") }
        packetSocket = socket(AF_PACKET, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard packetSocket >= 0 else { throw SystemError("socket(AF_PACKET) for ike probes") }
        udpSocket = socket(AF_INET, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard udpSocket >= 0 else { close(packetSocket); throw SystemError("socket(udp) for ike probes") }
        var on: Int32 = 1
        _ = setsockopt(udpSocket, SOL_IP, IP_RECVERR, &on, socklen_t(MemoryLayout<Int32>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = port.bigEndian
        local.sin_addr.s_addr = insideAddress.value.bigEndian
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(udpSocket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else {
            let error = SystemError("bind(\(insideAddress):\(port)) for ike probes")
            close(packetSocket); close(udpSocket)
            throw error
        }
    }

    /// One slot per (real, ike probe): the frame is built here, once.
    static func makeSlots(targets: [ProbeTarget], configuration: SLBConfiguration, insideAddress: IPv4Address,
                          sourceMAC: MACAddress, port: UInt16, now: MonotonicTime) -> [Slot] {
        let request = IKEProbeMessage.request(spiI: 0)
        var slots: [Slot] = []
        for target in targets {
            let destination = IKEProber.destination(of: target, in: configuration)
            for probe in target.probes where probe.kind == .ike {
                let frame = FrameBuilder.udpFrame(.init(destination: .zero, source: sourceMAC),
                                                  .init(source: insideAddress, destination: destination, dontFragment: true),
                                                  sourcePort: port, destinationPort: IKEProber.ikePort, payload: request)
                let base = UInt16(frame[IKEProber.udpOffset + 6]) << 8 | UInt16(frame[IKEProber.udpOffset + 7])
                slots.append(Slot(real: target.real, address: target.address, destination: destination, probe: probe.name,
                                  interval: .seconds(UInt64(max(probe.interval, 1))), nextSend: now, outstanding: nil,
                                  awaitingNeighbour: nil, faildetect: Int(max(probe.faildetect, 1)), frame: frame, baseChecksum: base))
            }
        }
        return slots
    }

    deinit {
        close(packetSocket)
        close(udpSocket)
    }

    /// Dispatched farms: the VIP of a UDP vserver of the real's farm (port 500 or any), as the
    /// clients reach it. Directed (`nat server`) farms: the real's own address.
    static func destination(of target: ProbeTarget, in configuration: SLBConfiguration) -> IPv4Address {
        if let farm = configuration.farms.first(where: { $0.name == target.farm }), farm.nat != .none {
            return target.address
        }
        let vservers = configuration.vservers.filter { $0.farm == target.farm || $0.backupFarm == target.farm }
        for vserver in vservers {
            if case .udp(let port) = vserver.service, port == ikePort || port == nil { return vserver.address }
        }
        return vservers.first?.address ?? target.address
    }

    // MARK: ForwardingLoopHook

    /// The answer socket (answers and, as POLLERR, ICMP errors), then the wrapped hook's.
    public var descriptors: [Int32] { [udpSocket] + (next?.descriptors ?? []) }
    public var isBusy: Bool { next?.isBusy ?? false }

    /// An answer woke the loop: read it now, so its RTT ends when it arrived rather than at the
    /// next pass (up to the loop's 100 ms poll cap later on an idle loop). The results reach the
    /// engine in the next `iteration`.
    public func readable(_ descriptor: Int32, now: MonotonicTime) {
        guard descriptor == udpSocket else {
            next?.readable(descriptor, now: now)
            return
        }
        let before = counters.answered
        readAnswers(now: now)
        readErrors()
        counters.answeredOnWake += counters.answered - before
    }

    public func event(_ event: EngineEvent, now: MonotonicTime) {
        if let next { next.event(event, now: now) } else { events.record(event) }
    }

    public func iteration(engine: Engine, now: MonotonicTime) -> Bool {
        let reload = next?.iteration(engine: engine, now: now) ?? false
        // A reload may renumber the reals: rebuild the slots from the engine's new targets
        // (outstanding probes are forgotten; the engine keeps its own miss counts).
        if reload { retarget(engine: engine, now: now) }
        // `results` may already hold what `readable` read since the last pass.
        readAnswers(now: now)
        readErrors()
        tick(now: now)
        for result in results {
            for engineEvent in engine.probeResult(real: result.real, probe: result.probe, success: result.success,
                                                  rtt: result.rtt, now: now) {
                event(engineEvent, now: now)
            }
        }
        results.removeAll(keepingCapacity: true)
        return reload
    }

    func retarget(engine: Engine, now: MonotonicTime) {
        let targets = engine.probeTargets.filter { $0.probes.contains { $0.kind == .ike } }
        slots = IKEProber.makeSlots(targets: targets, configuration: engine.configuration, insideAddress: insideAddress,
                                    sourceMAC: sourceMAC, port: port, now: now)
        results.removeAll(keepingCapacity: true)  // RealIDs of the old numbering
        log("slb.probe.ike.retarget probes=\(slots.count)")
    }

    // MARK: probing

    func tick(now: MonotonicTime) {
        let waiting = slots.contains { $0.awaitingNeighbour != nil }
        if lastNeighbourRead == .zero || now - lastNeighbourRead >= IKEProber.neighbourRefresh
            || (waiting && now - lastNeighbourRead >= IKEProber.neighbourRetry) {
            refreshNeighbours()
            lastNeighbourRead = now
        }
        for index in slots.indices {
            if let outstanding = slots[index].outstanding, now - outstanding.sentAt >= slots[index].interval {
                counters.timedOut += 1
                miss(index, "timeout", now)
            }
            if let since = slots[index].awaitingNeighbour {
                if let mac = neighbours[slots[index].address] {
                    slots[index].awaitingNeighbour = nil
                    probe(index, mac: mac, now: now)
                } else if now - since >= slots[index].interval {
                    // A whole interval without the real's MAC: the SLB could not reach it either.
                    slots[index].awaitingNeighbour = nil
                    counters.noNeighbour += 1
                    miss(index, "no-neighbour", now)
                }
            }
            guard now >= slots[index].nextSend else { continue }
            slots[index].nextSend = slots[index].nextSend + slots[index].interval
            if slots[index].nextSend < now { slots[index].nextSend = now + slots[index].interval }
            if slots[index].outstanding != nil || slots[index].awaitingNeighbour != nil { continue }
            if let mac = neighbours[slots[index].address] {
                probe(index, mac: mac, now: now)
            } else {
                // Unresolved: a kernel datagram to the real makes the kernel ARP for it; the
                // probe goes out as soon as the MAC is known (re-read every 100 ms meanwhile).
                solicit(slots[index].address)
                slots[index].awaitingNeighbour = now
            }
        }
    }

    private func probe(_ index: Int, mac: MACAddress, now: MonotonicTime) {
        spiCounter &+= 0x9E37_79B9_7F4A_7C15  // odd step: distinct SPIs for 2^64 probes
        let spi = spiCounter == 0 ? 1 : spiCounter
        if send(index, mac: mac, spi: spi) {
            slots[index].outstanding = (spi, now)
            counters.sent += 1
        }
    }

    /// Logs the misses that lead up to a failure (at most `faildetect` in a row, so a dead
    /// real does not log once per interval forever) with their cause.
    private func miss(_ index: Int, _ reason: String, _ now: MonotonicTime) {
        slots[index].misses += 1
        if slots[index].misses <= slots[index].faildetect {
            log("slb.probe.ike.miss real=\(slots[index].address) probe=\(slots[index].probe) reason=\(reason) "
                + "consecutive=\(slots[index].misses) mono=\(EventLine.monotonic(now))")
        }
        slots[index].outstanding = nil
        results.append(PingProber.Result(real: slots[index].real, probe: slots[index].probe, success: false, rtt: nil))
    }

    private func send(_ index: Int, mac: MACAddress, spi: UInt64) -> Bool {
        let base = slots[index].baseChecksum
        var address = sockaddr_ll()
        address.sll_family = UInt16(AF_PACKET)
        address.sll_protocol = UInt16(ETH_P_IP).bigEndian
        address.sll_ifindex = interfaceIndex
        address.sll_halen = 6
        withUnsafeMutableBytes(of: &address.sll_addr) { raw in
            for i in 0..<6 { raw[i] = UInt8(truncatingIfNeeded: mac.value >> (40 - 8 * UInt64(i))) }
        }
        return slots[index].frame.withUnsafeMutableBytes { frame -> Bool in
            for i in 0..<6 { frame[i] = UInt8(truncatingIfNeeded: mac.value >> (40 - 8 * UInt64(i))) }
            IKEProbeMessage.setSPI(spi, in: frame, at: IKEProber.ikeOffset + IKEProbeMessage.spiOffset)
            let checksum = IKEProber.udpChecksum(base: base, spi: spi)
            frame[IKEProber.udpOffset + 6] = UInt8(checksum >> 8)
            frame[IKEProber.udpOffset + 7] = UInt8(truncatingIfNeeded: checksum)
            let sent = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(packetSocket, frame.baseAddress, frame.count, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_ll>.size))
                }
            }
            return sent == frame.count
        }
    }

    /// The UDP checksum of a probe frame whose SPIi (zero when `base` was computed) is now
    /// `spi`: RFC 1624 eqn. 3, HC' = ~(~HC + m'), the old words being zero.
    static func udpChecksum(base: UInt16, spi: UInt64) -> UInt16 {
        var sum = UInt32(~base)
        for shift in stride(from: 48, through: 0, by: -16) { sum &+= UInt32(UInt16(truncatingIfNeeded: spi >> UInt64(shift))) }
        while sum > 0xFFFF { sum = (sum & 0xFFFF) &+ (sum >> 16) }
        let checksum = ~UInt16(sum)
        return checksum == 0 ? 0xFFFF : checksum  // RFC 768: zero means "no checksum"
    }

    /// Answers on the UDP socket: match SPIi and source (the probed destination).
    private func readAnswers(now: MonotonicTime) {
        while true {
            var from = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let count = buffer.withUnsafeMutableBytes { raw in
                withUnsafeMutablePointer(to: &from) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        recvfrom(udpSocket, raw.baseAddress, raw.count, Int32(MSG_DONTWAIT), $0, &length)
                    }
                }
            }
            if count < 0 {
                if errno == EINTR { continue }
                return  // EAGAIN, or an error whose details wait on the error queue
            }
            let source = IPv4Address(UInt32(bigEndian: from.sin_addr.s_addr))
            let answer = buffer.withUnsafeBytes { IKEProbeMessage.classifyReply(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            guard let answer,
                  let index = slots.firstIndex(where: { $0.outstanding?.spi == answer.spiI && $0.destination == source }),
                  let outstanding = slots[index].outstanding else {
                counters.unmatched += 1
                continue
            }
            counters.answered += 1
            slots[index].outstanding = nil
            slots[index].misses = 0
            results.append(PingProber.Result(real: slots[index].real, probe: slots[index].probe, success: true,
                                             rtt: now - outstanding.sentAt))
        }
    }

    /// ICMP errors quoting a probe (IP_RECVERR, ip(7)): the payload returned is the probe's
    /// UDP payload, so its SPIi names the slot.
    private func readErrors() {
        while true {
            var header = msghdr()
            let count = buffer.withUnsafeMutableBytes { raw in
                control.withUnsafeMutableBytes { controlRaw in
                    var vector = iovec(iov_base: raw.baseAddress, iov_len: raw.count)
                    return withUnsafeMutablePointer(to: &vector) { vectorPointer in
                        header.msg_iov = vectorPointer
                        header.msg_iovlen = 1
                        header.msg_control = controlRaw.baseAddress
                        header.msg_controllen = controlRaw.count
                        return recvmsg(udpSocket, &header, Int32(MSG_ERRQUEUE) | Int32(MSG_DONTWAIT))
                    }
                }
            }
            if count < 0 {
                if errno == EINTR { continue }
                return
            }
            let spi = buffer.withUnsafeBytes { IKEProbeMessage.quotedProbeSPI(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            guard let spi, let index = slots.firstIndex(where: { $0.outstanding?.spi == spi }) else { continue }
            counters.unreachable += 1
            miss(index, "icmp-error", Clock.now)
        }
    }

    /// Reads the ARP table to EOF with read(2): procfs reports size 0, and a one-shot read of
    /// `String(contentsOfFile:)` stops at 4 KiB, past which (≈ 50 client entries) reals were
    /// never found (slb-bench found it for the forwarder).
    private func refreshNeighbours() {
        let fd = open(NeighbourTable.procPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return }
        defer { close(fd) }
        arpText.removeAll(keepingCapacity: true)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            arpText.append(contentsOf: buffer[0..<count])
        }
        neighbours = NeighbourTable.parse(String(decoding: arpText, as: UTF8.self), device: interfaceName)
    }

    /// One empty datagram to the discard port: the kernel resolves the real's MAC first.
    private func solicit(_ address: IPv4Address) {
        var to = sockaddr_in()
        to.sin_family = sa_family_t(AF_INET)
        to.sin_port = UInt16(9).bigEndian
        to.sin_addr.s_addr = address.value.bigEndian
        _ = withUnsafePointer(to: &to) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                sendto(udpSocket, nil, 0, Int32(MSG_DONTWAIT), $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
    }

    /// The inside interface's first IPv4 address (the probes' source), from getifaddrs(3).
    public static func address(of interface: String) -> IPv4Address? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var entry = list
        while let current = entry {
            if let name = current.pointee.ifa_name, String(cString: name) == interface,
               let address = current.pointee.ifa_addr, Int32(address.pointee.sa_family) == AF_INET {
                let value = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                return IPv4Address(UInt32(bigEndian: value))
            }
            entry = current.pointee.ifa_next
        }
        return nil
    }
}
