import CSQLite
import Foundation
import LoomEngine
import LoomProof
import Testing

/// The real loomctl: export a run, verify the file in a clean folder with no project,
/// tamper with it, sign it, replay it, and replay a window of history.
@Suite(.serialized) struct ProofCommandTests {
    @Test func anExportVerifiesInACleanFolderAndAFlippedByteFails() throws {
        let project = try RecordedProject(tasks: 3, seed: 5)
        let out = try CleanFolder()
        let export = try CommandLineRun.loomctl([
            "export", "t2", "-o", "\(out.path)/t2.loomproof", "-C", project.root, "--bundles",
            RecordedProject.bundlesDirectory,
        ])
        #expect(export.status == 0, "\(export.stderr)")
        #expect(export.stdout.contains("exported task t2"))

        // Another folder, no project, no bundles, no LOOM_BUNDLES.
        let elsewhere = try CleanFolder()
        try FileManager.default.copyItem(atPath: "\(out.path)/t2.loomproof", toPath: "\(elsewhere.path)/t2.loomproof")
        let verified = try CommandLineRun.loomctl(["verify", "t2.loomproof", "--json"], in: elsewhere.path)
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
        #expect(verified.json?["ok"] == true)
        #expect(verified.json?["task"] == "t2")
        #expect(verified.json?["replay"]?.stringValue?.hasPrefix("reproduced") == true)
        let human = try CommandLineRun.loomctl(["verify", "t2.loomproof"], in: elsewhere.path)
        #expect(human.stdout.contains("proof of task t2: chain intact"))

        // One byte of one entry's payload changed.
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(elsewhere.path)/t2.loomproof")))
        let text = String(decoding: bytes, as: UTF8.self)
        let range = try #require(text.range(of: "Draft 0 for t1"))
        let offset = text.utf8.distance(from: text.utf8.startIndex, to: range.lowerBound)
        bytes[offset] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: "\(elsewhere.path)/t2.loomproof"))
        let broken = try CommandLineRun.loomctl(["verify", "t2.loomproof"], in: elsewhere.path)
        #expect(broken.status == 6, "\(broken.stdout) \(broken.stderr)")
        #expect(broken.stderr.contains("(entry "))
        #expect(broken.stderr.contains("does not match its hash"))
        let brokenJSON = try CommandLineRun.loomctl(["verify", "t2.loomproof", "--json"], in: elsewhere.path)
        #expect(brokenJSON.status == 6)
        #expect(brokenJSON.json?["code"] == "chainBroken")
    }

    @Test func aSignatureFromAnotherKeyIsRefused() throws {
        let project = try RecordedProject(tasks: 1, seed: 2)
        let keys = try CleanFolder()
        #expect(try CommandLineRun.loomctl(["keys", "generate", "-o", "\(keys.path)/operator.key"]).status == 0)
        #expect(try CommandLineRun.loomctl(["keys", "generate", "-o", "\(keys.path)/other.key"]).status == 0)
        let mode =
            try FileManager.default.attributesOfItem(atPath: "\(keys.path)/operator.key")[.posixPermissions] as? Int
        #expect(mode == 0o600)
        // Never over an existing key.
        #expect(try CommandLineRun.loomctl(["keys", "generate", "-o", "\(keys.path)/operator.key"]).status == 1)

        let proof = "\(keys.path)/t1.loomproof"
        let export = try CommandLineRun.loomctl(
            ["export", "t1", "-o", proof, "--sign", "\(keys.path)/operator.key", "-C", project.root],
            environment: ["LOOM_BUNDLES": RecordedProject.bundlesDirectory]
        )
        #expect(export.status == 0, "\(export.stderr)")
        let good = try CommandLineRun.loomctl([
            "verify", proof, "--public-key", "\(keys.path)/operator.key.pub", "--json",
        ])
        #expect(good.status == 0, "\(good.stdout) \(good.stderr)")
        #expect(good.json?["signer_trusted"] == true)
        let wrong = try CommandLineRun.loomctl(["verify", proof, "--public-key", "\(keys.path)/other.key.pub"])
        #expect(wrong.status == 8, "\(wrong.stdout) \(wrong.stderr)")
        #expect(wrong.stderr.contains("not by the trusted key"))
        // An unsigned proof is refused when a key is required.
        #expect(
            try CommandLineRun.loomctl([
                "export", "t1", "-o", "\(keys.path)/plain.loomproof", "-C", project.root,
                "--bundles", RecordedProject.bundlesDirectory,
            ]).status == 0
        )
        #expect(
            try CommandLineRun.loomctl([
                "verify", "\(keys.path)/plain.loomproof", "--public-key", "\(keys.path)/operator.key.pub",
            ]).status == 8
        )
        // A private key others can read is not used.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: "\(keys.path)/other.key")
        let exposed = try CommandLineRun.loomctl([
            "export", "t1", "-o", "\(keys.path)/x.loomproof", "--sign", "\(keys.path)/other.key", "-C", project.root,
            "--bundles", RecordedProject.bundlesDirectory,
        ])
        #expect(exposed.status == 1)
        #expect(exposed.stderr.contains("readable by others"))
    }

    @Test func replayingAProofWithANewRuleReportsTheTick() throws {
        let project = try RecordedProject(tasks: 4, seed: 21)
        let expected = try project.expectedCatches()
        let task = try #require(expected.keys.sorted().last)
        let folder = try CleanFolder()
        try (RecordedProject.openWarningRule.sql + ";\n").write(
            toFile: "\(folder.path)/no_open_warnings.sql",
            atomically: true,
            encoding: .utf8
        )
        #expect(
            try CommandLineRun.loomctl([
                "export", task, "-o", "\(folder.path)/p.loomproof", "-C", project.root, "--bundles",
                RecordedProject.bundlesDirectory,
            ]).status == 0
        )
        let replay = try CommandLineRun.loomctl(
            ["replay", "p.loomproof", "--rules", "no_open_warnings.sql", "--json"],
            in: folder.path
        )
        #expect(replay.status == 6, "\(replay.stdout) \(replay.stderr)")
        #expect(replay.json?["caught"] == true)
        #expect(replay.json?["tick"]?.intValue == expected[task])
        #expect(replay.json?["violations"]?[0]?["rule"] == "no_open_warnings")
        let human = try CommandLineRun.loomctl(
            ["replay", "p.loomproof", "--rules", "no_open_warnings.sql"],
            in: folder.path
        )
        #expect(human.stdout.contains("would have been stopped at tick \(expected[task]!)"))
    }

    @Test func replaySinceReportsEveryTaskInTheWindow() throws {
        let nowMs = Int64(Date().timeIntervalSince1970 * 1_000)
        // t1 finished 30 days ago; the others in the last day.
        let project = try RecordedProject(
            tasks: 6,
            seed: 21,
            startMs: nowMs - 30 * 86_400_000,
            laterStartMs: nowMs - 86_400_000
        )
        let expected = try project.expectedCatches()
        let folder = try CleanFolder()
        try RecordedProject.openWarningRule.sql.write(
            toFile: "\(folder.path)/no_open_warnings.sql",
            atomically: true,
            encoding: .utf8
        )
        let run = try CommandLineRun.loomctl([
            "replay", "--since", "7d", "--rules", "\(folder.path)/no_open_warnings.sql", "-C", project.root,
            "--bundles", RecordedProject.bundlesDirectory, "--json",
        ])
        #expect(run.status == (expected.keys.contains { $0 != "t1" } ? 6 : 0), "\(run.stdout) \(run.stderr)")
        let tasks = try #require(run.json?["tasks"]?.arrayValue)
        #expect(tasks.compactMap { $0["task"]?.stringValue } == ["t2", "t3", "t4", "t5", "t6"])
        for task in tasks {
            let id = task["task"]!.stringValue!
            #expect(task["caught"]?.boolValue == (expected[id] != nil), "\(id)")
            #expect(task["tick"]?.intValue == expected[id], "\(id)")
            if expected[id] != nil { #expect(task["violations"]?[0]?["rows"]?.arrayValue?.isEmpty == false) }
        }
        #expect(run.json?["caught"]?.intValue == Int64(expected.filter { $0.key != "t1" }.count))
        let wide = try CommandLineRun.loomctl([
            "replay", "--since", "60d", "--rules", "\(folder.path)/no_open_warnings.sql", "-C", project.root,
            "--bundles", RecordedProject.bundlesDirectory,
        ])
        #expect(wide.stdout.contains("6 task(s) finished since"))
        #expect(wide.stdout.split(separator: "\n").filter { $0.hasPrefix("t") }.count == 6)
        let bad = try CommandLineRun.loomctl(["replay", "--since", "7x", "--rules", "x.sql", "-C", project.root])
        #expect(bad.status == 2)
    }

    @Test func exportRefusesATamperedProjectAndAnUnknownTask() throws {
        let project = try RecordedProject(tasks: 2, seed: 3)
        let folder = try CleanFolder()
        let unknown = try CommandLineRun.loomctl([
            "export", "t9", "-o", "\(folder.path)/x", "-C", project.root, "--bundles", RecordedProject.bundlesDirectory,
        ])
        #expect(unknown.status == 3, "\(unknown.stderr)")
        // Without --bundles the versions the database stores are used: they are what ran.
        let stored = try CommandLineRun.loomctl(["export", "t1", "-o", "\(folder.path)/stored", "-C", project.root])
        #expect(stored.status == 0, "\(stored.stderr)")
        #expect(try CommandLineRun.loomctl(["verify", "\(folder.path)/stored"]).status == 0)
        // Someone with sqlite3 edits a gate answer: export refuses to vouch for the journal.
        var db: OpaquePointer?
        sqlite3_open(project.databasePath, &db)
        let rc = sqlite3_exec(
            db,
            "DROP TRIGGER journal_no_update; UPDATE journal SET payload = json_set(payload, '$.message', 'fine') WHERE kind = 'gate_answered'",
            nil,
            nil,
            nil
        )
        sqlite3_close(db)
        #expect(rc == SQLITE_OK)
        let tampered = try CommandLineRun.loomctl([
            "export", "t2", "-o", "\(folder.path)/x", "-C", project.root, "--bundles", RecordedProject.bundlesDirectory,
        ])
        #expect(tampered.status == 6, "\(tampered.stderr)")
        #expect(tampered.stderr.contains("chain broken at entry"))
        #expect(!FileManager.default.fileExists(atPath: "\(folder.path)/x"))
    }

    @Test func helpNamesTheProofCommands() throws {
        let help = try CommandLineRun.loomctl(["--help"])
        for command in ["export", "keys", "verify", "replay"] { #expect(help.stdout.contains(command)) }
        let replay = try CommandLineRun.loomctl(["help", "replay"])
        #expect(replay.stdout.contains("--since"))
        #expect(replay.stdout.contains("replay FILE --rules F"))
        let verify = try CommandLineRun.loomctl(["help", "verify"])
        #expect(verify.stdout.contains("--public-key"))
        let bad = try CommandLineRun.loomctl(["replay", "--since", "7d"])
        #expect(bad.status == 2)
        #expect(bad.stderr.contains("--rules"))
    }
}
