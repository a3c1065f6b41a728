import LoomTestKit
import Testing

@testable import LoomEngine

/// A task runs to its end with the bundle version it started with, even after the bundle
/// on disk changed, because the project's database stores every version its tasks ran;
/// and a replay needs nothing but the database and today's bundles.
@Suite struct BundleVersionTests {
    /// The publishing bundle with its writer's template reworded: another digest.
    static func reworded(_ bundle: LoomBundle) throws -> LoomBundle {
        var files = bundle.files
        files["templates/writer.md"] = (files["templates/writer.md"] ?? "") + "\nKeep it short.\n"
        return try BundleLoader.load(files: files)
    }

    @Test func anInFlightTaskKeepsItsVersionAcrossAnUpgradeAndReplayFindsBoth() throws {
        let directory = TemporaryDirectory()
        let clock = SimulatedClock()
        let v1 = try Fixtures.publishing()
        let v2 = try Self.reworded(v1)
        #expect(v1.digest != v2.digest)

        let before = try Engine(store: Store(path: directory.file("state.db")), bundles: [v1], clock: clock.next)
        let first = try before.submit(bundle: "publishing", input: "tides", by: Fixtures.person).taskID
        let writer = try before.pending("writer")

        // loomd restarts with the new bundle on disk; the old version is only in the database.
        let after = try Engine(store: Store(path: directory.file("state.db")), bundles: [v2], clock: clock.next)
        #expect(try after.deliver(key: writer.key, result: Fixtures.draft()) != .discarded)
        #expect(try after.task(first)?.bundleDigest == v1.digest)
        #expect(try after.task(first)?.step == "edit", "driven on by the stored v1")
        let second = try after.submit(bundle: "publishing", input: "moons", by: Fixtures.person).taskID
        _ = try after.cancel(task: first, reason: "superseded", by: Fixtures.person)
        #expect(try after.task(second)?.bundleDigest == v2.digest)
        #expect(try after.pending("writer").request["prompt"]?.stringValue?.contains("Keep it short.") == true)

        let stored = try BundleArchive.all(in: after.store).map(\.digest)
        #expect(Set(stored) == [v1.digest, v2.digest])
        // Replay with only today's bundle: the stored v1 drives the first task.
        let report = try Replayer(source: after.store, bundles: [v2]).run()
        guard case .identical = report else {
            Issue.record("replay with the stored versions: \(report)")
            return
        }
    }

    @Test func anEditedStoredVersionIsCaught() throws {
        let directory = TemporaryDirectory()
        let engine = try Fixtures.engine(in: directory)
        _ = try engine.submit(bundle: "publishing", input: "tides", by: Fixtures.person)
        // The table refuses edits through the kernel's own connection.
        #expect(throws: LoomError.self) {
            try engine.store.write { tx throws(LoomError) in
                try tx.connection.execute("UPDATE bundle_versions SET version = '2'")
            }
        }
    }
}
