import Foundation
import LoomSystem
import Testing

/// Confinement holds only if every process loom starts for a task goes through one launcher
/// (`Launcher.run`). Any other source file that starts a process must say why it is not a
/// task's, in a comment containing `not-a-task-process`: a new spawn site added without
/// thinking about confinement fails here.
@Suite struct ProcessStartTests {
    static let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Sources")

    /// What starts a process: the spawning calls themselves, and the primitive loom wraps them in.
    static let spawnMarks = [
        "posix_spawn(", "posix_spawnp(", "execv(", "execvp(", "execve(", "fork()", "Process()", "ChildProcess.run(",
    ]

    @Test func everyFileThatStartsAProcessIsTheLauncherOrSaysWhyNot() throws {
        let files =
            FileManager.default.enumerator(atPath: Self.sources.path)?.compactMap { $0 as? String }.filter {
                $0.hasSuffix(".swift")
            } ?? []
        #expect(files.count > 100, "found the sources at \(Self.sources.path)")
        var starters: [String] = []
        for file in files {
            let text = try String(contentsOf: Self.sources.appendingPathComponent(file), encoding: .utf8)
            guard Self.spawnMarks.contains(where: text.contains) else { continue }
            starters.append(file)
            guard !file.hasSuffix("Confinement/Launcher.swift") else { continue }
            #expect(
                text.contains("not-a-task-process"),
                "\(file) starts a process without going through Launcher or saying why it need not"
            )
        }
        #expect(
            starters.contains { $0.hasSuffix("Confinement/Launcher.swift") },
            "the launcher itself is found: \(starters)"
        )
    }
}
