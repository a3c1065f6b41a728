import Foundation
import LoomCode
import LoomEngine
import Testing

/// A code submission that cannot work is refused before it is taken: a clear error, a
/// non-zero exit, and the folder exactly as it was (no `.loom`, no registration).
@Suite(.serialized) struct AdmissionTests {
    /// Every file below `root` with its bytes (the `.git` directory included).
    static func snapshot(_ root: String) -> [String: Data] {
        var files: [String: Data] = [:]
        let enumerator = FileManager.default.enumerator(atPath: root)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(root)/\(path)", isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                files[path] = FileManager.default.contents(atPath: "\(root)/\(path)") ?? Data()
            }
        }
        return files
    }

    @Test(arguments: ["not a repository", "detached HEAD", "uncommitted changes", "missing base"])
    func aFolderThatCannotTakeACodeTaskIsRefusedAndLeftAlone(_ case_: String) throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project: String
        let expected: String
        switch case_ {
        case "not a repository":
            project = try daemon.makeProject("plain")
            try "hello\n".write(toFile: "\(project)/notes.txt", atomically: true, encoding: .utf8)
            expected = "is not a git repository"
        case "detached HEAD":
            project = try SampleRepository.make(in: daemon)
            _ = try Git(directory: project).check(["checkout", "-q", "--detach"], "detach")
            expected = "HEAD is detached"
        case "uncommitted changes":
            project = try SampleRepository.make(in: daemon)
            try "43\n".write(toFile: "\(project)/value.txt", atomically: true, encoding: .utf8)
            expected = "has uncommitted changes (M value.txt)"
        default:
            project = try SampleRepository.make(in: daemon)
            try #"{"base": "nosuch"}"#.write(toFile: "\(project)/.loom/config", atomically: true, encoding: .utf8)
            expected = "the base nosuch does not exist"
        }
        let hadLoom = FileManager.default.fileExists(atPath: "\(project)/.loom")
        let before = Self.snapshot(project)
        let submitted = daemon.ctl(["submit", "-C", project, "--bundle", "code", "Make value.txt hold 42"])
        #expect(submitted.status != 0, "\(submitted.stdout)")
        #expect(submitted.stderr.contains(expected), "\(submitted.stderr)")
        #expect(Self.snapshot(project) == before, "the folder changed")
        #expect(hadLoom || !FileManager.default.fileExists(atPath: "\(project)/.loom"), "no .loom was made")
        #expect(!FileManager.default.fileExists(atPath: "\(project)/.loom/state.db"))
        #expect(
            daemon.ctl(["projects", "list", "--json"]).json?["projects"]?.arrayValue?.contains {
                $0["path"]?.stringValue == project
            } == false
        )
    }
}
