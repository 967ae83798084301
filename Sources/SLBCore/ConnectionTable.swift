/// The key of one connection: IOS keys UDP flows on the 5-tuple and ESP (no ports) on
/// (client, VIP, 50), within one vserver. Packed in two words so a probe compares two
/// integers.
@usableFromInline
struct ConnectionKey: Hashable, Sendable {
    /// client << 32 | vip
    @usableFromInline var high: UInt64
    /// proto << 48 | vserver << 32 | clientPort << 16 | vipPort
    @usableFromInline var low: UInt64

    @inlinable init(vserver: Int, ipProtocol: UInt8, client: UInt32, clientPort: UInt16,
                    vip: UInt32, vipPort: UInt16) {
        high = UInt64(client) << 32 | UInt64(vip)
        low = UInt64(ipProtocol) << 48 | UInt64(UInt16(truncatingIfNeeded: vserver)) << 32
            | UInt64(clientPort) << 16 | UInt64(vipPort)
    }

    @inlinable var client: UInt32 { UInt32(truncatingIfNeeded: high >> 32) }
    @inlinable var vip: UInt32 { UInt32(truncatingIfNeeded: high) }
    @inlinable var ipProtocol: UInt8 { UInt8(truncatingIfNeeded: low >> 48) }
    @inlinable var vserver: Int { Int(UInt16(truncatingIfNeeded: low >> 32)) }
    @inlinable var clientPort: UInt16 { UInt16(truncatingIfNeeded: low >> 16) }
    @inlinable var vipPort: UInt16 { UInt16(truncatingIfNeeded: low) }
}

/// One slot of the connection table: 72 bytes (see README.md). Links are slot indices, not
/// references, so the table is a few flat arrays the allocator sees as a handful of blocks.
@usableFromInline
struct ConnectionEntry: Sendable {
    @usableFromInline var key: ConnectionKey
    @usableFromInline var created: UInt64
    @usableFromInline var lastSeen: UInt64
    @usableFromInline var packets: UInt64
    @usableFromInline var real: Int32
    /// Sticky object this connection holds a reference on, or `noIndex`.
    @usableFromInline var sticky: Int32
    /// Next slot in the bucket chain; next free slot while on the free list.
    @usableFromInline var hashNext: Int32
    /// Per-real list: purge and `clear ... serverfarm` walk only the real's own connections.
    @usableFromInline var realPrev: Int32
    @usableFromInline var realNext: Int32
    /// Per-vserver list in last-seen order: the vserver's idle time is fixed, so the oldest
    /// connection is always at the head and expiry never scans live entries.
    @usableFromInline var idlePrev: Int32
    @usableFromInline var idleNext: Int32
    @usableFromInline var flags: UInt8

    @usableFromInline static let inUse: UInt8 = 0x80
    @usableFromInline static let established: UInt8 = 0x01
    @usableFromInline static let viaSticky: UInt8 = 0x02

    @inlinable var isInUse: Bool { flags & ConnectionEntry.inUse != 0 }
    @inlinable var isEstablished: Bool { flags & ConnectionEntry.established != 0 }
    @inlinable var isSticky: Bool { flags & ConnectionEntry.viaSticky != 0 }

    static let vacant = ConnectionEntry(
        key: ConnectionKey(vserver: 0, ipProtocol: 0, client: 0, clientPort: 0, vip: 0, vipPort: 0),
        created: 0, lastSeen: 0, packets: 0, real: noIndex, sticky: noIndex, hashNext: noIndex,
        realPrev: noIndex, realNext: noIndex, idlePrev: noIndex, idleNext: noIndex, flags: 0)
}

/// Open hashing over flat arrays: `buckets` holds the first slot of each chain, slots are
/// reused through a free list, and each live slot is threaded on its real's list and its
/// vserver's last-seen list. Lookup, insert, touch and remove are O(1); nothing here
/// allocates except geometric growth of the arrays on insert.
@usableFromInline
struct ConnectionTable {
    @usableFromInline var slots: [ConnectionEntry] = []
    @usableFromInline var buckets: [Int32]
    @usableFromInline var bucketMask: UInt64
    @usableFromInline var freeHead: Int32 = noIndex
    @usableFromInline private(set) var count = 0
    /// `ip slb entries conn`.
    let limit: Int
    /// One second, in nanoseconds: the resolution of idle expiry (IOS idle is in seconds).
    @usableFromInline static let requeueGranularity: UInt64 = 1_000_000_000
    private let maxBuckets: Int
    @usableFromInline let hasher: FlatHash

    @usableFromInline var realHead: [Int32]
    @usableFromInline var realCount: [Int32]
    @usableFromInline var idleHead: [Int32]
    @usableFromInline var idleTail: [Int32]
    @usableFromInline var vserverCount: [Int32]

    init(limit: Int, reals: Int, vservers: Int, seed: UInt64) {
        self.limit = max(0, limit)
        maxBuckets = FlatHash.powerOfTwo(atLeast: max(1, limit))
        let size = min(initialBuckets, maxBuckets)
        buckets = Array(repeating: noIndex, count: size)
        bucketMask = UInt64(size - 1)
        hasher = FlatHash(seed: seed)
        realHead = Array(repeating: noIndex, count: reals)
        realCount = Array(repeating: 0, count: reals)
        idleHead = Array(repeating: noIndex, count: vservers)
        idleTail = Array(repeating: noIndex, count: vservers)
        vserverCount = Array(repeating: 0, count: vservers)
    }

    var isFull: Bool { count >= limit }

    @inlinable @inline(__always)
    func bucket(of key: ConnectionKey) -> Int {
        Int(truncatingIfNeeded: hasher.hash(key.high, key.low) & bucketMask)
    }

    /// The slot holding `key`, or `noIndex`.
    @inlinable
    func find(_ key: ConnectionKey) -> Int32 {
        var index = buckets[bucket(of: key)]
        while index != noIndex {
            let slot = slots[Int(index)]
            if slot.key == key { return index }
            index = slot.hashNext
        }
        return noIndex
    }

    /// A packet of an existing connection: refresh last-seen (moving it to the tail of its
    /// vserver's idle list) and count it. Returns true when this packet established it.
    ///
    /// The move happens once per second of activity, not per packet: relinking touches
    /// three other slots (neighbours and tail), i.e. three cache misses in a large table.
    /// The list stays ordered by the second of each entry's last packet, so `expire` may
    /// remove an entry up to one second late, never early.
    @inlinable
    mutating func touch(_ index: Int32, now: UInt64) -> Bool {
        let i = Int(index)
        let previous = slots[i].lastSeen
        slots[i].lastSeen = now
        slots[i].packets &+= 1
        let vserver = slots[i].key.vserver
        if now / ConnectionTable.requeueGranularity != previous / ConnectionTable.requeueGranularity,
           idleTail[vserver] != index {
            unlinkIdle(index, vserver: vserver)
            linkIdleTail(index, vserver: vserver)
        }
        if slots[i].flags & ConnectionEntry.established == 0 {
            slots[i].flags |= ConnectionEntry.established
            return true
        }
        return false
    }

    /// Caller has checked `isFull` and that `key` is absent.
    mutating func insert(_ key: ConnectionKey, real: Int32, sticky: Int32, viaSticky: Bool,
                         now: UInt64) -> Int32 {
        if count + 1 > buckets.count, buckets.count < maxBuckets { grow() }
        var entry = ConnectionEntry.vacant
        entry.key = key
        entry.created = now
        entry.lastSeen = now
        entry.packets = 1
        entry.real = real
        entry.sticky = sticky
        entry.flags = ConnectionEntry.inUse | (viaSticky ? ConnectionEntry.viaSticky : 0)
        let index: Int32
        if freeHead != noIndex {
            index = freeHead
            freeHead = slots[Int(index)].hashNext
            slots[Int(index)] = entry
        } else {
            index = Int32(slots.count)
            if slots.count == slots.capacity {
                // Double, but never past the cap: the last doubling would otherwise reserve
                // up to twice `ip slb entries conn`.
                slots.reserveCapacity(min(limit, max(64, slots.capacity * 2)))
            }
            slots.append(entry)
        }
        let b = bucket(of: key)
        slots[Int(index)].hashNext = buckets[b]
        buckets[b] = index

        let r = Int(real)
        slots[Int(index)].realNext = realHead[r]
        if realHead[r] != noIndex { slots[Int(realHead[r])].realPrev = index }
        realHead[r] = index
        realCount[r] += 1

        linkIdleTail(index, vserver: key.vserver)
        vserverCount[key.vserver] += 1
        count += 1
        return index
    }

    /// Unlinks the slot from every list and frees it; returns what it held.
    @discardableResult
    mutating func remove(_ index: Int32) -> ConnectionEntry {
        let i = Int(index)
        let entry = slots[i]
        let b = bucket(of: entry.key)
        if buckets[b] == index {
            buckets[b] = entry.hashNext
        } else {
            var previous = buckets[b]
            while previous != noIndex {
                let next = slots[Int(previous)].hashNext
                if next == index {
                    slots[Int(previous)].hashNext = entry.hashNext
                    break
                }
                previous = next
            }
        }

        let r = Int(entry.real)
        if entry.realPrev != noIndex { slots[Int(entry.realPrev)].realNext = entry.realNext } else { realHead[r] = entry.realNext }
        if entry.realNext != noIndex { slots[Int(entry.realNext)].realPrev = entry.realPrev }
        realCount[r] -= 1

        let vserver = entry.key.vserver
        unlinkIdle(index, vserver: vserver)
        vserverCount[vserver] -= 1

        slots[i] = ConnectionEntry.vacant
        slots[i].hashNext = freeHead
        freeHead = index
        count -= 1
        return entry
    }

    @inlinable
    mutating func unlinkIdle(_ index: Int32, vserver: Int) {
        let i = Int(index)
        let prev = slots[i].idlePrev
        let next = slots[i].idleNext
        if prev != noIndex { slots[Int(prev)].idleNext = next } else { idleHead[vserver] = next }
        if next != noIndex { slots[Int(next)].idlePrev = prev } else { idleTail[vserver] = prev }
        slots[i].idlePrev = noIndex
        slots[i].idleNext = noIndex
    }

    @inlinable
    mutating func linkIdleTail(_ index: Int32, vserver: Int) {
        let i = Int(index)
        let tail = idleTail[vserver]
        slots[i].idlePrev = tail
        slots[i].idleNext = noIndex
        if tail != noIndex { slots[Int(tail)].idleNext = index } else { idleHead[vserver] = index }
        idleTail[vserver] = index
    }

    private mutating func grow() {
        let size = min(buckets.count * 2, maxBuckets)
        buckets = Array(repeating: noIndex, count: size)
        bucketMask = UInt64(size - 1)
        for i in slots.indices where slots[i].isInUse {
            let b = bucket(of: slots[i].key)
            slots[i].hashNext = buckets[b]
            buckets[b] = Int32(i)
        }
    }

    /// Bytes the table holds right now (slots and buckets, reserved capacity included).
    var footprintBytes: Int {
        slots.capacity * MemoryLayout<ConnectionEntry>.stride + buckets.capacity * MemoryLayout<Int32>.stride
    }
}
