// loom-bench: figures, not tests. Each subcommand prints a human summary and, as its last
// line, one JSON object, each figure beside a baseline measured in the same run.
import Foundation
import LoomSystem

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: loom-bench kernel [--ticks N] [--rounds R] [--bundle DIR] [--dir DIR]
           loom-bench ipc [--calls N]
           loom-bench recovery [--history N] [--in-flight N] [--parked N]
           loom-bench history [--tasks N] [--bundle DIR] [--dir DIR]
           loom-bench providers [--requests N] [--events N]
           loom-bench spawn [--spawns N]
           loom-bench sim [--seconds N | --seed S [--trace]] [--bundle DIR]
      kernel    durable kernel ticks/s vs. raw SQLite transactions writing the same rows,
                for synchronous=FULL and NORMAL, plus replay ticks/s
      ipc       status round trips to a real loomd (in-process client and loomctl processes)
                beside a socketpair echo, and submissions/s
      recovery  loomd's READY time with a long history vs. an empty database; wake-ups/s
                and RSS with many parked tasks
      history   replay across history: tasks/s and ticks/s of one pass with an added rule over
                N finished tasks (default 10000), vs. reading the journal raw and decoded;
                --dir keeps the project for `loomctl replay --since 7d -C DIR`
      providers the OpenAI-compatible backend (loom-http, SSE, JSON) on a loopback stream
                vs. a plain socket reading the same bytes
      spawn     p50/p99 of starting `true` through the launcher (bubblewrap, a check's and an
                agent's profile) vs. unconfined, interleaved (default 200 spawns each)
      sim       the whole-system simulator on fresh random seeds for N seconds (default 60):
                seeds/s, faults injected by kind, and each failure's reproduce command;
                --seed S runs one seed again
    Run from the repository root after `swift build -c release` (it starts .build/release/loomd).
    """

guard let command = arguments.first else {
    print(usage)
    exit(2)
}

func option(_ name: String) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

switch command {
case "kernel":
    let ticks = Int(option("--ticks") ?? "5000") ?? 5000
    let bundle = option("--bundle") ?? "bundles/publishing"
    do {
        let rounds = max(1, Int(option("--rounds") ?? "5") ?? 5)
        try KernelBench(ticks: ticks, rounds: rounds, bundlePath: bundle, directory: option("--dir")).run()
    } catch {
        StandardError.write("loom-bench: \(error)\n")
        exit(1)
    }
case "sim":
    do {
        let failed = try SimBench(
            seconds: Double(option("--seconds") ?? "60") ?? 60,
            seed: option("--seed").flatMap { UInt64($0) },
            bundlePath: option("--bundle") ?? "bundles/publishing",
            trace: arguments.contains("--trace")
        ).run()
        exit(failed == 0 ? 0 : 1)
    } catch {
        StandardError.write("loom-bench: \(error)\n")
        exit(1)
    }
case "history":
    do {
        try HistoryBench(
            tasks: max(1, Int(option("--tasks") ?? "10000") ?? 10_000),
            bundlePath: option("--bundle") ?? "bundles/publishing",
            directory: option("--dir")
        ).run()
    } catch {
        StandardError.write("loom-bench: \(error)\n")
        exit(1)
    }
case "ipc", "recovery":
    let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().path
    let bench = DaemonBench(binaries: binaries, repositoryRoot: FileManager.default.currentDirectoryPath)
    do {
        if command == "ipc" {
            try bench.ipc(calls: Int(option("--calls") ?? "5000") ?? 5000)
        } else {
            try bench.recovery(
                history: Int(option("--history") ?? "100000") ?? 100_000,
                inFlight: Int(option("--in-flight") ?? "10") ?? 10,
                parked: Int(option("--parked") ?? "1000") ?? 1000
            )
        }
    } catch {
        StandardError.write("loom-bench: \(error)\n")
        exit(1)
    }
case "providers":
    do {
        try ProviderBench(
            requests: Int(option("--requests") ?? "200") ?? 200,
            events: Int(option("--events") ?? "500") ?? 500
        ).run()
    } catch {
        StandardError.write("loom-bench: \(error)\n")
        exit(1)
    }
case "spawn":
    do {
        try SpawnBench(spawns: max(10, Int(option("--spawns") ?? "200") ?? 200)).run()
    } catch {
        StandardError.write("loom-bench: \(error)\n")
        exit(1)
    }
case "-h", "--help", "help":
    print(usage)
default:
    StandardError.write("loom-bench: unknown command '\(command)'\n\(usage)\n")
    exit(2)
}
