import LoomEngine
import LoomIPC
import LoomProviders
import LoomSystem
import LoomValues

/// Handlers `git.ship_check` and `git.ship`: send a finished task's branch on, as a person
/// ordered (the ship gate in between only a human principal can answer).
///
/// - push: `git push REMOTE loom/<task>`, never forced.
/// - merge: fast-forward INTO to the branch, or with squash one new commit on INTO made
///   with `git merge-tree --write-tree` and `git commit-tree`, so a conflict is found without
///   touching any working tree, index or ref, and refused naming the files.
///
/// INTO is then moved with a compare-and-swap `update-ref`, or, when it is checked out in a
/// worktree, by a fast-forward there (refused if that checkout has uncommitted changes).
/// `check` does everything but move a ref or push. Re-run after a crash, a ship that already
/// happened is reported again, not repeated.
public struct ShipBranch: StepHandler {
    public let check: Bool

    public init(check: Bool) {
        self.check = check
    }

    public func run(_ request: HandlerRequest) -> CommandResult {
        do throws(GitError) {
            let order = try ShipOrder(input: request.input)
            let git = Git(directory: request.projectDirectory)
            let source = try git.run(["rev-parse", "--verify", "--quiet", "refs/heads/\(order.branch)^{commit}"])
            guard source.ok else {
                throw GitError("there is no branch \(order.branch) to ship (was \(order.task) delivered?)", command: [])
            }
            let head = source.text.trimmingSpaces()
            try pin(head, of: order, for: request)
            switch order.destination {
            case .push(let remote):
                return try push(order, remote: remote, head: head, git: git)
            case .merge(let into, let squash):
                return try merge(order, into: into, squash: squash, head: head, git: git)
            }
        } catch {
            return CommandResult(status: .failed, exitCode: nil, output: error.message)
        }
    }

    /// The check records the head it found; the ship goes on only if the branch still holds
    /// it. The person approved shipping the commit the check reported, not whatever the branch
    /// holds by the time the ship runs (an agent may commit on it meanwhile).
    private func pin(_ head: String, of order: ShipOrder, for request: HandlerRequest) throws(GitError) {
        let record = TaskWorkspace(projectDirectory: request.projectDirectory, taskID: request.taskID).checkedShipFile
        if check {
            FileSystem.makeDirectories(TaskWorkspace.root(of: request.projectDirectory), mode: 0o755)
            guard (try? FileSystem.writeAtomically(record, head + "\n")) != nil else {
                throw GitError("cannot record the checked commit in \(record)", command: [])
            }
            return
        }
        guard let checked = FileSystem.readText(record, limit: 4_096)?.trimmingSpaces(), !checked.isEmpty else {
            throw GitError("no checked commit is on record for this ship (\(record)); nothing was changed", command: [])
        }
        guard checked == head else {
            throw GitError(
                "\(order.branch) moved since the check: \(checked.prefix(12)) was approved, it is now at \(head.prefix(12)); nothing was changed. Ship again to check the new commit",
                command: []
            )
        }
    }

    private func push(_ order: ShipOrder, remote: String, head: String, git: Git) throws(GitError) -> CommandResult {
        guard try git.run(["remote", "get-url", remote]).ok else {
            throw GitError("there is no remote \(remote) in \(git.directory)", command: ["remote"])
        }
        if check { return shipped(order, commit: head, note: "ready to \(order.summary) at \(head.prefix(12))") }
        try git.check(
            ["push", "--quiet", remote, "refs/heads/\(order.branch):refs/heads/\(order.branch)"],
            "pushing \(order.branch) to \(remote)"
        )
        return shipped(order, commit: head, note: "pushed \(order.branch) to \(remote) at \(head.prefix(12))")
    }

    private func merge(
        _ order: ShipOrder,
        into: String,
        squash: Bool,
        head: String,
        git: Git
    ) throws(GitError) -> CommandResult {
        let target = try git.run(["rev-parse", "--verify", "--quiet", "refs/heads/\(into)^{commit}"])
        guard target.ok else { throw GitError("there is no branch \(into) to merge into", command: []) }
        let old = target.text.trimmingSpaces()
        let new: String
        if squash {
            if let done = try alreadySquashed(order, onto: old, git: git) {
                return shipped(
                    order,
                    commit: done,
                    note: "\(into) already holds the squashed \(order.branch) at \(done.prefix(12))"
                )
            }
            let merged = try git.run(["merge-tree", "--write-tree", "--name-only", "--no-messages", old, head])
            guard merged.ok else {
                let files = merged.text.split(separator: "\n").dropFirst().map(String.init).prefix(10)
                throw GitError(
                    "\(order.branch) conflicts with \(into) in \(files.joined(separator: ", ")); nothing was changed. Rebase the branch or merge by hand",
                    command: ["merge-tree"]
                )
            }
            let tree = merged.firstLine
            if check { return shipped(order, commit: head, note: "ready to \(order.summary): no conflicts") }
            let subject = try git.check(["log", "-1", "--format=%s", head], "reading the branch's message")
            new = try git.check(
                [
                    "-c", "user.name=loom", "-c", "user.email=loom@localhost", "commit-tree", tree, "-p", old,
                    "-m", subject, "-m", "Shipped-From: \(order.branch) at \(head)\nLoom-Task: \(order.task)",
                ],
                "making the squashed commit"
            )
        } else {
            if old == head {
                return shipped(order, commit: head, note: "\(into) is already at \(order.branch) (\(head.prefix(12)))")
            }
            guard try git.run(["merge-base", "--is-ancestor", old, head]).ok else {
                throw GitError(
                    "\(into) cannot be fast-forwarded to \(order.branch): \(into) has moved on; ship with --squash, or rebase the branch; nothing was changed",
                    command: ["merge-base"]
                )
            }
            if check { return shipped(order, commit: head, note: "ready to \(order.summary)") }
            new = head
        }
        try moveBranch(into, from: old, to: new, git: git)
        return shipped(order, commit: new, note: "\(order.summary): \(into) is at \(new.prefix(12))")
    }

    /// The commit on INTO a squash ship made before a crash, if INTO's head is one.
    private func alreadySquashed(_ order: ShipOrder, onto head: String, git: Git) throws(GitError) -> String? {
        let message = try git.check(["log", "-1", "--format=%B", head], "reading \(head.prefix(12))")
        return message.contains("Shipped-From: \(order.branch) ") && message.contains("Loom-Task: \(order.task)")
            ? head : nil
    }

    /// Moves INTO from `old` to `new`: in the worktree that has it checked out, by a
    /// fast-forward there; else by a compare-and-swap on the ref.
    private func moveBranch(_ into: String, from old: String, to new: String, git: Git) throws(GitError) {
        let list = try git.check(["worktree", "list", "--porcelain"], "listing worktrees")
        var path: String?
        var checkedOut: String?
        for line in list.split(separator: "\n") {
            if line.hasPrefix("worktree ") { path = String(line.dropFirst("worktree ".count)) }
            if line == "branch refs/heads/\(into)" { checkedOut = path }
        }
        guard let checkedOut else {
            try git.check(["update-ref", "-m", "loom ship", "refs/heads/\(into)", new, old], "moving \(into)")
            return
        }
        let tree = Git(directory: checkedOut)
        let dirty = try tree.check(
            ["status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude).loom"],
            "reading \(checkedOut)"
        )
        guard dirty.isEmpty else {
            throw GitError(
                "\(into) is checked out in \(checkedOut) with uncommitted changes; commit or stash them and ship again; nothing was changed",
                command: ["status"]
            )
        }
        try tree.check(["merge", "--ff-only", "--quiet", new], "fast-forwarding \(into) in \(checkedOut)")
    }

    private func shipped(_ order: ShipOrder, commit: String, note: String) -> CommandResult {
        var details: [String: JSONValue] = [
            "source": .string(order.branch), "commit": .string(commit), "checkOnly": .bool(check),
        ]
        switch order.destination {
        case .push(let remote): details["push"] = .string(remote)
        case .merge(let into, let squash):
            details["merge"] = .string(into)
            details["squash"] = .bool(squash)
        }
        return CommandResult(status: .ok, exitCode: 0, output: note, details: .object(details))
    }
}
