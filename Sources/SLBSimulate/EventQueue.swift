/// A binary min-heap of simulation events ordered by (time, insertion order): equal times
/// run in the order they were scheduled, so a run is a pure function of its inputs.
struct EventQueue<Event> {
    private struct Entry {
        var time: UInt64
        var order: UInt64
        var event: Event
        func before(_ other: Entry) -> Bool { (time, order) < (other.time, other.order) }
    }

    private var heap: [Entry] = []
    private var scheduled: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }

    mutating func schedule(_ event: Event, at time: UInt64) {
        heap.append(Entry(time: time, order: scheduled, event: event))
        scheduled &+= 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard heap[child].before(heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> (time: UInt64, event: Event)? {
        guard let last = heap.popLast() else { return nil }
        guard !heap.isEmpty else { return (last.time, last.event) }
        let top = heap[0]
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count, heap[left].before(heap[smallest]) { smallest = left }
            if right < heap.count, heap[right].before(heap[smallest]) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (top.time, top.event)
    }
}
