import Foundation
import LoomEngine
import LoomProviders
import LoomSystem
import LoomValues

/// `loom-bench spawn`: what confinement costs a task process. Starts `true` (a) unconfined
/// through `ChildProcess` and (b) through `Launcher` with loomd's default confinement
/// (bubblewrap, the worktree bound back into a hidden project, a check's profile without a
/// network and an agent's with one), interleaved spawn by spawn in the same run so a noisy
/// machine weighs on both. Prints p50 and p99 of each and, last, one JSON line with
/// `overhead_p50_ms`.
///
/// not-a-task-process: the unconfined spawn of `/bin/true` is the baseline the launcher's
/// cost is measured against.
struct SpawnBench {
    let spawns: Int

    func run() throws {
        let root = "/tmp/loom-bench-spawn-\(getpid())"
        let project = "\(root)/project"
        let worktree = "\(project)/.loom/worktrees/t1"
        try FileManager.default.createDirectory(atPath: worktree, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: "\(project)/.git", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let confinement = Confinement.bubblewrap(hiding: ["\(root)/state"])
        if let problem = confinement.problem() { throw BenchError(problem) }
        let environment = ChildEnvironment.base()
        let check = LaunchProfile(
            kind: .check,
            workingDirectory: worktree,
            projectDirectory: project,
            readOnlyPaths: ["\(project)/.git"],
            network: false
        )
        var agent = check
        agent.kind = .agent
        agent.network = true

        var plain: [Double] = []
        var confinedCheck: [Double] = []
        var confinedAgent: [Double] = []
        func time(_ body: () -> ChildProcess.Result) throws -> Double {
            let started = DispatchTime.now().uptimeNanoseconds
            let result = body()
            guard result.exitCode == 0 else {
                throw BenchError(
                    "a spawn failed: \(result.spawnError ?? String(decoding: result.output, as: UTF8.self))"
                )
            }
            return Double(DispatchTime.now().uptimeNanoseconds - started) / 1_000_000
        }
        for index in 0..<(spawns + 10) {
            let a = try time {
                ChildProcess.run(
                    .init(
                        argv: ["/bin/true"],
                        directory: worktree,
                        environment: environment,
                        timeoutMs: 10_000,
                        outputLimitBytes: 4_096
                    )
                )
            }
            let b = try time {
                Launcher.run(
                    argv: ["/bin/true"],
                    profile: check,
                    confinement: confinement,
                    environment: environment,
                    timeoutMs: 10_000,
                    outputLimitBytes: 4_096
                ).result
            }
            let c = try time {
                Launcher.run(
                    argv: ["/bin/true"],
                    profile: agent,
                    confinement: confinement,
                    environment: environment,
                    timeoutMs: 10_000,
                    outputLimitBytes: 4_096
                ).result
            }
            guard index >= 10 else { continue }  // warm-up
            plain.append(a)
            confinedCheck.append(b)
            confinedAgent.append(c)
        }
        func percentile(_ values: [Double], _ p: Double) -> Double {
            let sorted = values.sorted()
            return sorted[min(sorted.count - 1, Int(Double(sorted.count - 1) * p + 0.5))]
        }
        let rows = [
            ("unconfined", plain), ("bwrap check (no network)", confinedCheck),
            ("bwrap agent (network)", confinedAgent),
        ]
        for (name, values) in rows {
            print(
                name.padding(toLength: 26, withPad: " ", startingAt: 0)
                    + String(format: "p50 %6.2f ms   p99 %6.2f ms", percentile(values, 0.5), percentile(values, 0.99))
            )
        }
        let overhead = percentile(confinedCheck, 0.5) - percentile(plain, 0.5)
        let agentOverhead = percentile(confinedAgent, 0.5) - percentile(plain, 0.5)
        print(
            String(
                format: "confinement adds %.2f ms p50 to a check, %.2f ms to an agent (%d spawns each)",
                overhead,
                agentOverhead,
                spawns
            )
        )
        func rounded(_ value: Double) -> JSONValue { .double((value * 100).rounded() / 100) }
        print(
            JSONValue.object([
                "bench": "spawn", "spawns": .int(Int64(spawns)),
                "unconfined_p50_ms": rounded(percentile(plain, 0.5)),
                "unconfined_p99_ms": rounded(percentile(plain, 0.99)),
                "confined_p50_ms": rounded(percentile(confinedCheck, 0.5)),
                "confined_p99_ms": rounded(percentile(confinedCheck, 0.99)),
                "confined_agent_p50_ms": rounded(percentile(confinedAgent, 0.5)),
                "overhead_p50_ms": rounded(overhead), "agent_overhead_p50_ms": rounded(agentOverhead),
            ]).canonicalText
        )
    }
}
