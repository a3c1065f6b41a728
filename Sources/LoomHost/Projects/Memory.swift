import Dispatch

// glibc's malloc controls; <malloc.h> is not part of Swift's Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32

/// Keeps a long-running daemon's memory close to what it uses.
package enum Memory {
    /// At most `count` malloc arenas (M_ARENA_MAX): Dispatch runs work on many threads, and
    /// an arena per thread would keep whatever each thread ever held.
    package static func limitArenas(_ count: Int32) { _ = glibcMallopt(-8, count) }

    /// Returns freed memory at the top of the heap and in free pages to the system.
    package static func trim() { _ = glibcMallocTrim(0) }

    private static let trimQueue = DispatchQueue(label: "loom.memory")
    nonisolated(unsafe) private static var trimScheduled = false

    /// Trims once, a second after the first request of a burst: a trim walks the whole
    /// heap, so a thousand projects closing together cost one trim, not a thousand.
    package static func trimSoon() {
        trimQueue.async {
            guard !trimScheduled else { return }
            trimScheduled = true
            trimQueue.asyncAfter(deadline: .now() + 1) {
                trimScheduled = false
                trim()
            }
        }
    }
}
