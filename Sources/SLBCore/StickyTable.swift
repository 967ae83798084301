/// One sticky object: the real a client (masked by the sticky netmask) is bound to within a
/// sticky domain (a configured group, or one group-0 vserver). 40 bytes.
@usableFromInline
struct StickyEntry: Sendable {
    /// domain << 32 | masked client
    @usableFromInline var key: UInt64
    /// Valid while `references == 0`: IOS starts the sticky timer when the last connection goes.
    @usableFromInline var expiresAt: UInt64
    @usableFromInline var mask: UInt32
    /// `noIndex` marks a free slot.
    @usableFromInline var real: Int32
    @usableFromInline var references: Int32
    @usableFromInline var hashNext: Int32
    @usableFromInline var expiryPrev: Int32
    @usableFromInline var expiryNext: Int32

    @inlinable var domain: Int { Int(UInt16(truncatingIfNeeded: key >> 32)) }
    @inlinable var client: UInt32 { UInt32(truncatingIfNeeded: key) }
    @inlinable var isInUse: Bool { real != noIndex }

    @inlinable static func key(domain: Int, client: UInt32) -> UInt64 {
        UInt64(UInt16(truncatingIfNeeded: domain)) << 32 | UInt64(client)
    }

    static let vacant = StickyEntry(key: 0, expiresAt: 0, mask: 0, real: noIndex, references: 0,
                                    hashNext: noIndex, expiryPrev: noIndex, expiryNext: noIndex)
}

/// Sticky objects in flat arrays, hashed like the connection table. Each domain has a
/// fixed timer, so objects waiting to expire sit on a per-domain FIFO in expiry order and
/// `expire` only looks at list heads.
@usableFromInline
struct StickyTable {
    @usableFromInline var slots: [StickyEntry] = []
    @usableFromInline var buckets: [Int32]
    @usableFromInline var bucketMask: UInt64
    @usableFromInline var freeHead: Int32 = noIndex
    private(set) var count = 0
    /// `ip slb entries sticky`.
    let limit: Int
    private let maxBuckets: Int
    @usableFromInline let hasher: FlatHash
    var expiryHead: [Int32]
    var expiryTail: [Int32]

    init(limit: Int, domains: Int, seed: UInt64) {
        self.limit = max(0, limit)
        maxBuckets = FlatHash.powerOfTwo(atLeast: max(1, limit))
        let size = min(initialBuckets, maxBuckets)
        buckets = Array(repeating: noIndex, count: size)
        bucketMask = UInt64(size - 1)
        hasher = FlatHash(seed: seed)
        expiryHead = Array(repeating: noIndex, count: domains)
        expiryTail = Array(repeating: noIndex, count: domains)
    }

    var isFull: Bool { count >= limit }

    @inlinable @inline(__always)
    func bucket(of key: UInt64) -> Int {
        Int(truncatingIfNeeded: hasher.hash(key, 0x5354_4943_4B59) & bucketMask)
    }

    @inlinable
    func find(domain: Int, client: UInt32) -> Int32 {
        let key = StickyEntry.key(domain: domain, client: client)
        var index = buckets[bucket(of: key)]
        while index != noIndex {
            let slot = slots[Int(index)]
            if slot.key == key { return index }
            index = slot.hashNext
        }
        return noIndex
    }

    /// A new binding with no references yet; the caller adds the first one. Caller has
    /// checked `isFull` and that the key is absent.
    mutating func insert(domain: Int, client: UInt32, mask: UInt32, real: Int32) -> Int32 {
        if count + 1 > buckets.count, buckets.count < maxBuckets { grow() }
        var entry = StickyEntry.vacant
        entry.key = StickyEntry.key(domain: domain, client: client)
        entry.mask = mask
        entry.real = real
        let index: Int32
        if freeHead != noIndex {
            index = freeHead
            freeHead = slots[Int(index)].hashNext
            slots[Int(index)] = entry
        } else {
            index = Int32(slots.count)
            if slots.count == slots.capacity {
                slots.reserveCapacity(min(limit, max(64, slots.capacity * 2)))
            }
            slots.append(entry)
        }
        let b = bucket(of: entry.key)
        slots[Int(index)].hashNext = buckets[b]
        buckets[b] = index
        count += 1
        return index
    }

    /// A connection now references the object: it stops waiting to expire.
    mutating func retain(_ index: Int32) {
        let i = Int(index)
        if slots[i].references == 0 { unlinkExpiry(index) }
        slots[i].references += 1
    }

    /// A referencing connection went; the last one starts the sticky timer.
    mutating func release(_ index: Int32, expiresAt: UInt64) {
        let i = Int(index)
        guard slots[i].references > 0 else { return }
        slots[i].references -= 1
        if slots[i].references == 0 {
            slots[i].expiresAt = expiresAt
            linkExpiryTail(index)
        }
    }

    /// An object restored without references (state file, reload) waits to expire like a
    /// released one. Callers park in expiry order, so the per-domain FIFO stays sorted.
    mutating func park(_ index: Int32, expiresAt: UInt64) {
        let i = Int(index)
        guard slots[i].references == 0 else { return }
        slots[i].expiresAt = expiresAt
        linkExpiryTail(index)
    }

    mutating func rebind(_ index: Int32, to real: Int32) {
        slots[Int(index)].real = real
    }

    mutating func remove(_ index: Int32) {
        let i = Int(index)
        let entry = slots[i]
        if entry.references == 0 { unlinkExpiry(index) }
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
        slots[i] = StickyEntry.vacant
        slots[i].hashNext = freeHead
        freeHead = index
        count -= 1
    }

    /// The oldest object of `domain` waiting to expire, if its time has come.
    func expired(domain: Int, now: UInt64) -> Int32 {
        let head = expiryHead[domain]
        guard head != noIndex, slots[Int(head)].expiresAt <= now else { return noIndex }
        return head
    }

    private mutating func unlinkExpiry(_ index: Int32) {
        let i = Int(index)
        let domain = slots[i].domain
        let prev = slots[i].expiryPrev
        let next = slots[i].expiryNext
        if prev != noIndex { slots[Int(prev)].expiryNext = next } else if expiryHead[domain] == index { expiryHead[domain] = next }
        if next != noIndex { slots[Int(next)].expiryPrev = prev } else if expiryTail[domain] == index { expiryTail[domain] = prev }
        slots[i].expiryPrev = noIndex
        slots[i].expiryNext = noIndex
    }

    private mutating func linkExpiryTail(_ index: Int32) {
        let i = Int(index)
        let domain = slots[i].domain
        let tail = expiryTail[domain]
        slots[i].expiryPrev = tail
        slots[i].expiryNext = noIndex
        if tail != noIndex { slots[Int(tail)].expiryNext = index } else { expiryHead[domain] = index }
        expiryTail[domain] = index
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

    var footprintBytes: Int {
        slots.capacity * MemoryLayout<StickyEntry>.stride + buckets.capacity * MemoryLayout<Int32>.stride
    }
}
