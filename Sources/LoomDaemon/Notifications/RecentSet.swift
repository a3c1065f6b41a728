import LoomProviders
import LoomSystem

/// A set that remembers at most `capacity` strings, forgetting the oldest first: what loomd
/// has already said once (a gate opened) without growing for ever.
final class RecentSet: @unchecked Sendable {
    let capacity: Int
    private let lock = Lock()
    private var order: [String] = []
    private var members: Set<String> = []

    init(capacity: Int) {
        self.capacity = capacity
    }

    func contains(_ value: String) -> Bool { lock.withLock { members.contains(value) } }

    /// Adds `value`; true when it was not there.
    func insert(_ value: String) -> Bool {
        lock.withLock {
            guard members.insert(value).inserted else { return false }
            order.append(value)
            if order.count > capacity { members.remove(order.removeFirst()) }
            return true
        }
    }
}
