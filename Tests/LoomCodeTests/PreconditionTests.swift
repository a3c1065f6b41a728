import Foundation
import LoomCode
import LoomEngine
import Testing

/// A repository loom cannot safely work in is refused with a clear message before any
/// agent runs.
@Suite struct PreconditionTests {
    private func refused(_ world: CodeWorld) throws -> String {
        let id = try world.submit()
        try world.run()
        let task = try world.task(id)
        #expect(task.status == .failed)
        #expect(task.spawnCount == 0, "no agent ran")
        #expect(try world.rows("SELECT 1 FROM effects WHERE kind = 'spawn'").isEmpty)
        return task.outcome
    }

    @Test func uncommittedChangesAreRefused() throws {
        let world = try CodeWorld(script: CodeScript.script())
        try world.write("value.txt", "40\n")
        let outcome = try refused(world)
        #expect(outcome.contains("uncommitted changes"))
        #expect(outcome.contains("value.txt"))
    }

    @Test func aDetachedHeadIsRefused() throws {
        let world = try CodeWorld(script: CodeScript.script())
        try world.git("checkout", "-q", "--detach")
        #expect(try refused(world).contains("HEAD is detached"))
    }

    @Test func aMissingBaseIsRefused() throws {
        let world = try CodeWorld(script: CodeScript.script(), config: #"{"base": "release-9"}"#)
        #expect(try refused(world).contains("the base release-9 does not exist"))
    }

    @Test func aFolderThatIsNoRepositoryIsRefused() throws {
        let world = try CodeWorld(script: CodeScript.script(), config: nil, makeRepository: false)
        #expect(try refused(world).contains("is not a git repository"))
    }

    @Test func aBadConfigIsRefusedNamingTheProblem() throws {
        let world = try CodeWorld(script: CodeScript.script(), config: #"{"checks": [{"name": "test"}], "chekcs": 1}"#)
        #expect(try refused(world).contains("unknown field \"chekcs\""))
    }

    @Test func testFileGlobsMatchCommonLayouts() {
        let files = [
            "src/app.py", "tests/test_app.py", "pkg/thing_test.go", "web/a.test.ts", "Tests/LoomTests/AThing.swift",
            "lib/x.rb", "spec/x_spec.rb",
        ]
        #expect(
            TestFileGlobs.matches(files, globs: TestFileGlobs.defaults) == [
                "tests/test_app.py", "pkg/thing_test.go", "web/a.test.ts", "Tests/LoomTests/AThing.swift",
                "spec/x_spec.rb",
            ]
        )
    }
}
