import Foundation
import Testing

/// Fails the build when the kernel grows a dependency, a domain, or a clock.
@Suite struct PurityTests {
    /// The kernel is the engine and the values it stores and hashes.
    static let kernelDirectories = ["Sources/LoomEngine", "Sources/LoomValues"].map {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent($0)
    }

    static func sources() throws -> [(name: String, text: String)] {
        var files: [(String, String)] = []
        for directory in kernelDirectories {
            let enumerator = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)!
            for case let url as URL in enumerator where url.pathExtension == "swift" {
                files.append((url.lastPathComponent, try String(contentsOf: url, encoding: .utf8)))
            }
        }
        return files
    }

    @Test func theKernelHasSources() throws {
        #expect(try Self.sources().count > 20)
    }

    /// swift-crypto only where the kernel hashes: its SHA-256, never its keys or signatures.
    @Test func theKernelImportsOnlySQLiteFoundationAndCryptoForSHA256() throws {
        let allowed: Set<String> = ["CSQLite", "Foundation", "FoundationEssentials", "LoomValues"]
        for (name, text) in try Self.sources() {
            for line in text.split(separator: "\n")
            where line.hasPrefix("import ") || line.contains(" import ") && line.hasPrefix("@") {
                let module = line.split(separator: " ").last.map(String.init) ?? ""
                let allowedHere = allowed.contains(module) || name == "SHA256.swift" && module == "Crypto"
                #expect(allowedHere, "\(name) imports \(module)")
            }
        }
    }

    @Test func theKernelNamesNoVendorTransportOrDomain() throws {
        let words = [
            "claude", "anthropic", "openai", "openrouter", "ollama", "telegram", "docker", "git", "worktree", "review",
            "aider", "opencode",
        ]
        let pattern = try NSRegularExpression(
            pattern: "\\b(\(words.joined(separator: "|")))\\b",
            options: [.caseInsensitive]
        )
        for (name, text) in try Self.sources() {
            let range = NSRange(text.startIndex..., in: text)
            if let match = pattern.firstMatch(in: text, range: range), let found = Range(match.range, in: text) {
                Issue.record("\(name) names '\(text[found])'")
            }
        }
    }

    @Test func theKernelReadsNoAmbientClockRandomnessOrUUID() throws {
        let forbidden = [
            "Date()", "Date.now", "UUID()", ".random(", "random()", "arc4random", "ContinuousClock", "SuspendingClock",
            "DispatchTime.now", "gettimeofday", "clock_gettime", "time(nil)", "ProcessInfo", "CFAbsoluteTime",
        ]
        for (name, text) in try Self.sources() {
            for word in forbidden where text.contains(word) {
                Issue.record("\(name) uses \(word)")
            }
        }
    }
}
