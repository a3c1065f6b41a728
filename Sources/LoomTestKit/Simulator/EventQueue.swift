/// The simulator's agenda: events ordered by simulated time, ties by the order they were
/// scheduled, so a seed replays the same order exactly. A binary heap, bounded.
struct EventQueue<Event> {
    private var heap: [(timeMs: Int, sequence: Int, event: Event)] = []
    private var sequence = 0
    /// A bound on scheduled events: a bug that schedules without end stops here.
    let capacity: Int

    init(capacity: Int = 100_000) { self.capacity = capacity }

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }

    mutating func schedule(_ event: Event, atMs timeMs: Int) {
        precondition(heap.count < capacity, "simulator agenda over \(capacity) events")
        sequence += 1
        heap.append((timeMs, sequence, event))
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(child, parent) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    mutating func next() -> (timeMs: Int, event: Event)? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let first = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1, right = left + 1
            var smallest = parent
            if left < heap.count, less(left, smallest) { smallest = left }
            if right < heap.count, less(right, smallest) { smallest = right }
            guard smallest != parent else { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return (first.timeMs, first.event)
    }

    private func less(_ a: Int, _ b: Int) -> Bool {
        heap[a].timeMs != heap[b].timeMs ? heap[a].timeMs < heap[b].timeMs : heap[a].sequence < heap[b].sequence
    }
}
