import Foundation
import LoomCode
import LoomEngine
import LoomIPC
import LoomPolicy
import Testing

/// Shipping a finished branch on a person's word: push to a bare remote, fast-forward,
/// squash, a conflict refused touching nothing, and no way for anyone but a person.
@Suite struct ShipTests {
    /// A world with t1 done (value.txt = 42 on loom/t1) and a bare remote `origin`.
    private func finished() throws -> (CodeWorld, String) {
        let world = try CodeWorld(script: CodeScript.script(flow: "trivial"))
        let id = try world.submit(preset: .fullAutonomous)
        try world.run()
        #expect(try world.task(id).status == .done)
        let remote = "\(world.project)/.loom/remote.git"
        _ = try Git(directory: world.project).check(["init", "-q", "--bare", remote], "init remote")
        try world.git("remote", "add", "origin", remote)
        return (world, id)
    }

    /// Submits a ship task, lets its check run, and answers its gate as `caller`.
    private func ship(
        _ order: ShipOrder,
        in world: CodeWorld,
        as caller: Caller = CodeWorld.person
    ) throws -> TaskRecord {
        let id = try world.engine.submit(
            bundle: "code",
            flow: "ship",
            input: order.input,
            policy: PolicyPreset.fullAutonomous.policy,
            by: caller
        ).taskID
        try world.run()
        if let gate = try world.engine.waitingGate(task: id) {
            #expect(gate.role == "ship" && gate.requiresHuman, "a person decides even under full autonomy")
            _ = try world.engine.answerGate(task: id, gate: gate.eventID, answer: .approve, by: caller)
            try world.run()
        }
        return try world.task(id)
    }

    @Test func pushSendsTheBranchToTheRemote() throws {
        let (world, id) = try finished()
        let shipped = try ship(ShipOrder(task: id, destination: .push(remote: "origin")), in: world)
        #expect(shipped.status == .done, "\(shipped.outcome)")
        let remote = Git(directory: "\(world.project)/.loom/remote.git")
        #expect(try remote.check(["rev-parse", "loom/\(id)"], "remote head") == world.git("rev-parse", "loom/\(id)"))
        // Who approved it, and what went where, are on record.
        let gate = try world.rows(
            "SELECT json_extract(decided_by, '$.kind') AS k FROM gates WHERE task_id = '\(shipped.id)' AND role = 'ship'"
        )
        #expect(gate.first?["k"]?.stringValue == "human")
        let output = try world.rows(
            "SELECT json_extract(output, '$.details.commit') AS c, json_extract(output, '$.details.push') AS p FROM step_outputs WHERE task_id = '\(shipped.id)' AND step = 'ship'"
        )
        #expect(output.first?["c"]?.stringValue == (try world.git("rev-parse", "loom/\(id)")))
        #expect(output.first?["p"]?.stringValue == "origin")
    }

    @Test func aFastForwardMovesTheCheckedOutBranchAndItsFiles() throws {
        let (world, id) = try finished()
        let shipped = try ship(ShipOrder(task: id, destination: .merge(into: "main", squash: false)), in: world)
        #expect(shipped.status == .done, "\(shipped.outcome)")
        #expect(try world.git("rev-parse", "main") == world.git("rev-parse", "loom/\(id)"))
        #expect(try String(contentsOfFile: "\(world.project)/value.txt", encoding: .utf8) == "42\n")
        #expect(try world.git("status", "--porcelain") == "")
    }

    @Test func aBranchThatCannotFastForwardIsRefusedAndSquashedInstead() throws {
        let (world, id) = try finished()
        try world.write("NOTES", "main moved on\n")
        try world.git("add", "NOTES")
        try world.git("commit", "-q", "-m", "main moves on")
        let before = try world.git("rev-parse", "main")
        let refused = try ship(ShipOrder(task: id, destination: .merge(into: "main", squash: false)), in: world)
        #expect(refused.status == .failed)
        #expect(refused.outcome.contains("cannot be fast-forwarded"))
        #expect(try world.git("rev-parse", "main") == before)

        let squashed = try ship(ShipOrder(task: id, destination: .merge(into: "main", squash: true)), in: world)
        #expect(squashed.status == .done, "\(squashed.outcome)")
        #expect(try world.git("rev-parse", "main^") == before, "one new commit on main")
        #expect(try world.git("show", "main:value.txt") == "42")
        #expect(try world.git("show", "main:NOTES") == "main moved on")
        #expect(try world.git("log", "-1", "--format=%B", "main").contains("Shipped-From: loom/\(id)"))
        #expect(try world.git("status", "--porcelain") == "", "the checkout followed")
    }

    /// The ship ships the commit its check reported and the person approved: a branch moved
    /// in between (an agent committing on it) is refused, the target untouched. Before, the
    /// ship re-read the branch and shipped whatever it held.
    @Test func aBranchMovedAfterTheCheckIsNotShipped() throws {
        let (world, id) = try finished()
        let mainBefore = try world.git("rev-parse", "main")
        let shipTask = try world.engine.submit(
            bundle: "code",
            flow: "ship",
            input: ShipOrder(task: id, destination: .merge(into: "main", squash: false)).input,
            policy: PolicyPreset.fullAutonomous.policy,
            by: CodeWorld.person
        ).taskID
        try world.run()
        let gate = try #require(try world.engine.waitingGate(task: shipTask))
        let checked = try world.git("rev-parse", "loom/\(id)")
        let tree = try world.git("rev-parse", "loom/\(id)^{tree}")
        let sneaked = try world.git("commit-tree", tree, "-p", checked, "-m", "unreviewed")
        try world.git("update-ref", "refs/heads/loom/\(id)", sneaked, checked)
        _ = try world.engine.answerGate(task: shipTask, gate: gate.eventID, answer: .approve, by: CodeWorld.person)
        try world.run()
        let shipped = try world.task(shipTask)
        #expect(shipped.status == .failed, "\(shipped.outcome)")
        let said =
            try world.rows("SELECT output FROM step_outputs WHERE task_id = '\(shipTask)' AND step = 'ship'").first?[
                "output"
            ]?.stringValue ?? ""
        #expect(said.contains("moved since the check"), "\(said)")
        #expect(try world.git("rev-parse", "main") == mainBefore)
    }

    @Test func aConflictIsRefusedWithTheTargetUntouched() throws {
        let (world, id) = try finished()
        try world.write("value.txt", "40\n")
        try world.git("commit", "-q", "-am", "main disagrees")
        let before = try world.userView()
        let refused = try ship(ShipOrder(task: id, destination: .merge(into: "main", squash: true)), in: world)
        #expect(refused.status == .failed)
        #expect(refused.outcome.contains("conflicts with main in value.txt"))
        #expect(try world.userView() == before)
        // The check refused it before anyone was asked.
        #expect(try world.rows("SELECT 1 FROM gates WHERE task_id = '\(refused.id)'").isEmpty)
    }

    @Test func anAgentCannotShipAndNeitherCanAPolicy() throws {
        let (world, id) = try finished()
        let order = ShipOrder(task: id, destination: .merge(into: "main", squash: false))
        let before = try world.git("rev-parse", "main")
        let shipTask = try world.engine.submit(
            bundle: "code",
            flow: "ship",
            input: order.input,
            policy: PolicyPreset.fullAutonomous.policy,
            by: CodeWorld.person
        ).taskID
        try world.run()
        let gate = try #require(try world.engine.waitingGate(task: shipTask))
        #expect(gate.reasons.contains { $0.contains("shipping_is_irreversible") })
        let agent = Caller(principal: .agent("implementer"), uid: 1000, gid: 1000, pid: 5000)
        #expect(throws: LoomError.self) {
            _ = try world.engine.answerGate(task: shipTask, gate: gate.eventID, answer: .approve, by: agent)
        }
        #expect(try world.task(shipTask).status == .parked)
        #expect(try world.git("rev-parse", "main") == before)
    }

    @Test func onlyAFinishedTaskIsShipped() throws {
        let world = try CodeWorld(script: CodeScript.script(flow: "trivial"))
        let parked = try world.submit(preset: .fullSupervised)
        try world.run()
        #expect(throws: LoomError.self) {
            _ = try world.engine.submit(
                bundle: "code",
                flow: "ship",
                input: ShipOrder(task: parked, destination: .push(remote: "origin")).input,
                by: CodeWorld.person
            )
        }
        #expect(throws: LoomError.self) {
            _ = try world.engine.submit(bundle: "code", flow: "ship", input: "not json", by: CodeWorld.person)
        }
    }
}
