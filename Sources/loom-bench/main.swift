// loom-bench: figures, not tests. Each subcommand prints a human summary and, as its last
// line, one JSON object, each figure beside a baseline measured in the same run.
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
usage: loom-bench kernel [--ticks N] [--rounds R] [--bundle DIR] [--dir DIR]
  kernel   durable kernel ticks/s vs. raw SQLite transactions writing the same rows,
           for synchronous=FULL and NORMAL, plus replay ticks/s
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
        let rounds = max(1, Int(option("--rounds") ?? "3") ?? 3)
        try KernelBench(ticks: ticks, rounds: rounds, bundlePath: bundle, directory: option("--dir")).run()
    } catch {
        FileHandle.standardError.write(Data("loom-bench: \(error)\n".utf8))
        exit(1)
    }
case "-h", "--help", "help":
    print(usage)
default:
    FileHandle.standardError.write(Data("loom-bench: unknown command '\(command)'\n\(usage)\n".utf8))
    exit(2)
}
