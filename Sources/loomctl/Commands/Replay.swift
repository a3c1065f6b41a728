import ArgumentParser
import Foundation
import LoomEngine
import LoomIPC

/// `loomctl replay TASK [--rules FILE.sql]…`
struct Replay: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a task's journal: identical, the first tick that diverges, or the first tick a new rule would have caught.",
        discussion: "Each --rules file holds one SQL query that returns violating rows (it may use :task and :tick); its name is the file's name.")

    @Argument(help: "The task id.") var task: String
    @OptionGroup var project: ProjectOption
    @Option(name: .customLong("rules"), help: "A .sql file with one more rule to check (repeatable).") var rules: [String] = []
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting {
            var ruleList: [JSONValue] = []
            for path in rules {
                guard let sql = try? String(contentsOfFile: path, encoding: .utf8) else { throw CLIError("cannot read \(path)", status: 1) }
                let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
                ruleList.append(.object(["name": .string(name), "sql": .string(sql), "file": .string(path), "message": .string("rule from \(path)")]))
            }
            let client = try global.connect()
            defer { client.close() }
            let result: JSONValue
            do {
                result = try client.call("replay", .object(["project": .string(project.root), "task": .string(task), "rules": .array(ruleList)]))
            } catch { throw CLIError(error) }
            print(global.json ? result.canonicalText : (result["report"]?.stringValue ?? ""))
            if result["outcome"]?.stringValue != "identical" { throw ExitCode(6) }
        }
    }
}
