// glibc's malloc controls; <malloc.h> is not part of Swift's Glibc module.
@_silgen_name("mallopt")
private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32

@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32

/// Keeps a long-running daemon's memory close to what it uses.
enum Memory {
    /// At most `count` malloc arenas (M_ARENA_MAX): Dispatch runs work on many threads, and
    /// an arena per thread would keep whatever each thread ever held.
    static func limitArenas(_ count: Int32) { _ = glibcMallopt(-8, count) }

    /// Returns freed memory at the top of the heap and in free pages to the system.
    static func trim() { _ = glibcMallocTrim(0) }
}
