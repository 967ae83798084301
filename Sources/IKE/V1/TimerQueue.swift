import SLBWire

/// Due times of many SAs: a binary min-heap with lazy deletion, so the table's timer run costs
/// O(k log n) for the k SAs that are due instead of a scan of every SA (periodic DPD gives each
/// SA its own due time, so timer runs are frequent on a busy gateway).
struct TimerQueue<Key: Hashable> {
    private var heap: [(time: MonotonicTime, key: Key)] = []
    /// The one live due time per key; heap entries that disagree are stale and skipped.
    private var current: [Key: MonotonicTime] = [:]

    var isEmpty: Bool { current.isEmpty }

    /// Sets (or clears, with nil) the due time of `key`.
    mutating func set(_ key: Key, at time: MonotonicTime?) {
        guard current[key] != time else { return }
        current[key] = time
        if let time { push((time, key)) }
        // Stale entries are dropped lazily; rebuild before they dominate the heap.
        if heap.count > 2 * current.count + 64 { rebuild() }
    }

    /// The earliest live due time.
    mutating func earliest() -> MonotonicTime? {
        while let top = heap.first, current[top.key] != top.time { popTop() }
        return heap.first?.time
    }

    /// Removes and returns every key due at or before `now`, earliest first.
    mutating func popDue(now: MonotonicTime) -> [Key] {
        var due: [Key] = []
        while let t = earliest(), t <= now, let top = heap.first {
            popTop()
            current[top.key] = nil
            due.append(top.key)
        }
        return due
    }

    private mutating func rebuild() {
        heap = []
        for (k, t) in current { push((t, k)) }
    }

    private mutating func push(_ e: (time: MonotonicTime, key: Key)) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[i].time < heap[parent].time else { break }
            heap.swapAt(i, parent)
            i = parent
        }
    }

    private mutating func popTop() {
        guard !heap.isEmpty else { return }
        heap.swapAt(0, heap.count - 1)
        heap.removeLast()
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var smallest = i
            if l < heap.count, heap[l].time < heap[smallest].time { smallest = l }
            if r < heap.count, heap[r].time < heap[smallest].time { smallest = r }
            guard smallest != i else { return }
            heap.swapAt(i, smallest)
            i = smallest
        }
    }
}
