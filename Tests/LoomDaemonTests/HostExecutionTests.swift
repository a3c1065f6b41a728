import Foundation
import LoomCode
import LoomEngine
import LoomIPC
import LoomValues
import Testing

/// Tasks whose agent steps a host executes (`executor: host`), through the real loomd and
/// its socket: loomd holds the spawns for the host and still runs the handler steps; a
/// host's sessions are principals the rules see; a host is never an approver.
@Suite(.serialized) struct HostExecutionTests {
    /// loomd's own provider knows no agent: if loomd ran a host task's spawn itself, the
    /// task would fail.
    static let emptyScript = #"{"agents": {}}"#

    private func pendingStep(
        _ client: IPCClient,
        project: String,
        task: String,
        seconds: Double = 20
    ) throws -> JSONValue? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let pending = try client.call(
                "effects.pending",
                .object(["project": .string(project), "task": .string(task)])
            )
            if let first = pending["effects"]?[0] { return first }
            usleep(50_000)
        }
        return nil
    }

    private func deliver(
        _ client: IPCClient,
        project: String,
        key: String,
        session: String,
        output: String
    ) throws -> JSONValue {
        try client.call(
            "effects.deliver",
            .object([
                "project": .string(project), "key": .string(key), "session": .string(session),
                "output": .string(output),
            ])
        )
    }

    @Test func aHostExecutesTheAgentStepsUnderItsSessionsAndOneSessionCannotReviewItsOwnWork() throws {
        let daemon = try DaemonHarness(script: Self.emptyScript)
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        let submitted = daemon.ctl([
            "submit", "-C", project, "--bundle", "code", "--flow", "simple", "--policy", "full-supervised",
            "--executor", "host", "Make value.txt hold 42",
        ])
        #expect(submitted.status == 0, "\(submitted.stderr)")
        let client = try IPCClient(socketPath: daemon.socket, clientName: "host test")
        defer { client.close() }

        // The worktree handler ran in loomd; the implementer waits for the host.
        let implement = try #require(try pendingStep(client, project: project, task: "t1"))
        #expect(implement["role"]?.stringValue == "implementer")
        let workdir = try #require(implement["workdir"]?.stringValue)
        #expect(workdir == "\(project)/.loom/worktrees/t1")
        #expect(
            FileManager.default.fileExists(atPath: "\(workdir)/value.txt"),
            "the worktree exists before the host is asked to work in it"
        )
        #expect(implement["prompt"]?.stringValue?.contains("Make value.txt hold 42") == true)
        #expect(daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["executor"]?.stringValue == "host")
        try "42\n".write(toFile: "\(workdir)/value.txt", atomically: true, encoding: .utf8)
        let key = try #require(implement["key"]?.stringValue)
        #expect(
            try deliver(client, project: project, key: key, session: "author", output: #"{"summary": "Wrote 42."}"#)[
                "outcome"
            ]?.stringValue == "applied"
        )
        #expect(
            try deliver(client, project: project, key: key, session: "author", output: #"{"summary": "again"}"#)[
                "outcome"
            ]?.stringValue == "duplicate"
        )

        // Commands are loomd's: a host cannot deliver one.
        let command = #expect(throws: IPCError.self) {
            try deliver(client, project: project, key: "t1:prepare:command:0:1", session: "author", output: "{}")
        }
        #expect(command?.code == .forbidden)

        // The review fan-out: the implementer's session may not review, a fresh one may.
        var reviewers: [JSONValue] = []
        let deadline = Date().addingTimeInterval(20)
        // The simple flow's fan-out: logic and tests reviewers.
        while reviewers.count < 2 && Date() < deadline {
            reviewers =
                try client.call("effects.pending", .object(["project": .string(project), "task": "t1"]))["effects"]?
                .arrayValue ?? []
            usleep(50_000)
        }
        #expect(reviewers.map { $0["step"]?.stringValue } == ["review", "review"])
        let approve = #"{"verdict": "APPROVE", "summary": "ok", "findings": []}"#
        let selfReview = #expect(throws: IPCError.self) {
            try deliver(
                client,
                project: project,
                key: reviewers[0]["key"]?.stringValue ?? "",
                session: "author",
                output: approve
            )
        }
        #expect(selfReview?.code == .forbidden)
        #expect(selfReview?.message.contains("reviewer_is_not_implementer") == true, "\(selfReview?.message ?? "")")
        for reviewer in reviewers {
            let role = reviewer["role"]?.stringValue ?? "?"
            #expect(
                try deliver(
                    client,
                    project: project,
                    key: reviewer["key"]?.stringValue ?? "",
                    session: "review-\(role)",
                    output: approve
                )["outcome"]?.stringValue == "applied"
            )
        }
        let adjudicate = try #require(try pendingStep(client, project: project, task: "t1"))
        #expect(adjudicate["role"]?.stringValue == "adjudicator")
        _ = try deliver(
            client,
            project: project,
            key: adjudicate["key"]?.stringValue ?? "",
            session: "review-adjudicator",
            output: #"{"verdict": "accept", "summary": "fine", "dismissed": [], "findings": []}"#
        )
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked", "\(daemon.log())")
        #expect(daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["step"]?.stringValue == "final")

        // The journal names the host session that wrote each output, and the refusal.
        let store = try daemon.store(project)
        let authors = try store.query(
            "SELECT step, author FROM step_outputs WHERE task_id = 't1' AND kind = 'spawn' ORDER BY step, author"
        )
        .map { "\($0["step"]?.stringValue ?? ""):\($0["author"]?.stringValue ?? "")" }
        #expect(
            authors == [
                "adjudicate:host:review-adjudicator", "implement:host:author", "review:host:review-reviewer-logic",
                "review:host:review-reviewer-tests",
            ]
        )
        #expect(
            try store.query(
                "SELECT count(*) AS n FROM journal WHERE kind = 'violation' AND payload LIKE '%reviewer_is_not_implementer%'"
            ).first?["n"]?.intValue == 1
        )

        // Once this process has attached as a host, it and its children are agents: its
        // loomctl cannot approve, and the refusal is on record.
        _ = try client.call("hosts.attach")
        let refused = daemon.ctl(["approve", "t1", "-C", project])
        #expect(refused.status == 4, "\(refused.stdout) \(refused.stderr)")
        #expect(refused.stderr.contains("human_gate_answered_by_human"))
        #expect(daemon.ctl(["status", "t1", "-C", project, "--json"]).json?["status"]?.stringValue == "parked")
    }

    @Test func hostMethodsCheckTheirParameters() throws {
        let daemon = try DaemonHarness(script: Self.emptyScript)
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        #expect(
            daemon.ctl(["submit", "-C", project, "--bundle", "code", "--flow", "trivial", "--executor", "host", "x"])
                .status == 0
        )
        let client = try IPCClient(socketPath: daemon.socket, clientName: "host test")
        defer { client.close() }
        let badSession = #expect(throws: IPCError.self) {
            try client.call(
                "effects.deliver",
                .object([
                    "project": .string(project), "key": "t1:implement:implementer:0:1", "session": "a b",
                    "output": "{}",
                ])
            )
        }
        #expect(badSession?.code == .invalidParams)
        let unknown = #expect(throws: IPCError.self) {
            try client.call(
                "effects.deliver",
                .object(["project": .string(project), "key": "t1:nope:x:0:1", "session": "s", "output": "{}"])
            )
        }
        #expect(unknown?.code == .notFound)
        let limit = #expect(throws: IPCError.self) {
            try client.call("effects.pending", .object(["project": .string(project), "limit": 1000]))
        }
        #expect(limit?.code == .invalidParams)
        let executor = daemon.ctl(["submit", "-C", project, "--executor", "robot", "x"])
        #expect(executor.status == 2)
    }
}
