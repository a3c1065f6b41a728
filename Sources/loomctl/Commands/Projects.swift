import ArgumentParser
import LoomEngine

/// `loomctl projects list|add|remove`.
struct Projects: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List, add or remove the projects loomd supervises.",
                                                    subcommands: [List.self, Add.self, Remove.self], defaultSubcommand: List.self)

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List supervised projects.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try runReporting {
                try global.call("projects.list", .object([:])) { result in
                    let projects = result["projects"]?.arrayValue ?? []
                    return projects.isEmpty ? "no projects" : projects.map { $0["path"]?.stringValue ?? "?" }.joined(separator: "\n")
                }
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start supervising a project directory.")
        @OptionGroup var project: ProjectOption
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try runReporting {
                try global.call("projects.add", .object(["project": .string(project.root)])) { result in
                    "\(result["path"]?.stringValue ?? ""): \(result["added"]?.boolValue == true ? "added" : "already supervised")"
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop supervising a project (its .loom/state.db stays).")
        @OptionGroup var project: ProjectOption
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try runReporting {
                try global.call("projects.remove", .object(["project": .string(project.root)])) { result in
                    "\(result["path"]?.stringValue ?? ""): \(result["removed"]?.boolValue == true ? "removed" : "was not supervised")"
                }
            }
        }
    }
}
