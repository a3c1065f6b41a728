import Foundation
import LoomCode

/// A committed git repository in the harness's folder whose check passes when value.txt
/// holds 42: the smallest project the code bundle can run end to end.
enum SampleRepository {
    static func make(in daemon: DaemonHarness, name: String = "repo") throws -> String {
        try make(at: try daemon.makeProject(name))
    }

    /// The same repository at `project` (created if missing), for tests without a daemon.
    @discardableResult
    static func make(at project: String) throws -> String {
        try FileManager.default.createDirectory(atPath: project, withIntermediateDirectories: true)
        let git = Git(directory: project)
        for arguments in [
            ["init", "-q", "-b", "main"], ["config", "user.name", "P"], ["config", "user.email", "p@example.org"],
        ] {
            _ = try git.check(arguments, "setting up")
        }
        try "41\n".write(toFile: "\(project)/value.txt", atomically: true, encoding: .utf8)
        try "test \"$(cat value.txt)\" = 42\n".write(toFile: "\(project)/check.sh", atomically: true, encoding: .utf8)
        _ = try git.check(["add", "-A"], "adding")
        _ = try git.check(["commit", "-q", "-m", "initial"], "committing")
        try FileManager.default.createDirectory(atPath: "\(project)/.loom", withIntermediateDirectories: true)
        try #"{"checks": [{"name": "test", "run": "sh check.sh"}]}"#.write(
            toFile: "\(project)/.loom/config",
            atomically: true,
            encoding: .utf8
        )
        return project
    }
}
