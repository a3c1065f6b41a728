#if canImport(Glibc)
import Glibc
#endif

/// Which changed paths count as test files: a change to them means a person decides the
/// final gate, because an agent that edits the tests can make any implementation pass.
///
/// Globs use fnmatch(3) without FNM_PATHNAME, so `*` also matches `/`: `tests/*` covers
/// every file under `tests/`, and `*_test.go` a file of that name in any directory.
public enum TestFileGlobs {
    public static let defaults = [
        "test/*", "tests/*", "Tests/*", "spec/*", "__tests__/*", "*/test/*", "*/tests/*", "*/__tests__/*",
        "*_test.*", "*.test.*", "*_spec.*", "*.spec.*", "test_*.py", "*/test_*.py", "*Tests.swift", "*Test.java",
        "*Test.kt",
    ]

    /// The paths of `files` that match any of `globs`, in the order given.
    public static func matches(_ files: [String], globs: [String]) -> [String] {
        files.filter { file in globs.contains { fnmatch($0, file, 0) == 0 } }
    }
}
