import ArgumentParser
import LoomEngine
import LoomIPC

/// `loomctl projects list|add|remove|clear-quarantine`.
struct Projects: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projects",
        abstract: "List, add or remove the projects loomd supervises; clear a quarantine.",
        subcommands: [List.self, Add.self, Remove.self, ClearQuarantine.self],
        defaultSubcommand: List.self
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List supervised projects.")
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try runReporting {
                try global.call(ProjectsList.self, NoParams()) { result in
                    let projects = result["projects"]?.arrayValue ?? []
                    return projects.isEmpty
                        ? "no projects"
                        : projects.map { project in
                            (project["path"]?.stringValue ?? "?")
                                + (project["quarantined"].map { "  QUARANTINED: \($0["reason"]?.stringValue ?? "")" }
                                    ?? "")
                        }.joined(separator: "\n")
                }
            }
        }
    }

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "add",
            abstract: "Start supervising a project directory."
        )
        @OptionGroup var project: ProjectOption
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try runReporting {
                try global.call(ProjectsAdd.self, ProjectParams(project: project.root)) { result in
                    "\(result.path): \(result.changed ? "added" : "already supervised")"
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "remove",
            abstract: "Stop supervising a project (its .loom/state.db stays): loomctl projects remove PATH, or -C PATH."
        )
        @Argument(help: "The project directory (or give it with -C; default: the current directory).") var path: String?
        @OptionGroup var project: ProjectOption
        @OptionGroup var global: GlobalOptions
        func validate() throws {
            if path != nil && project.directory != nil {
                throw ValidationError("give the project once: as PATH or with -C")
            }
        }
        func run() throws {
            try runReporting {
                let root = path.map { ProjectOption.resolve($0) } ?? project.root
                try global.call(ProjectsRemove.self, ProjectParams(project: root)) { result in
                    "\(result.path): \(result.changed ? "removed" : "was not supervised")"
                }
            }
        }
    }

    /// `loomctl projects clear-quarantine -C DIR`: after `loomctl verify`, let loomd drive a
    /// project whose database someone else wrote.
    struct ClearQuarantine: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clear-quarantine",
            abstract: "Let loomd drive a quarantined project again (run `loomctl verify -C DIR` first).",
            discussion: """
                loomd quarantines a project when its .loom/state.db is written by anyone but loomd \
                (an agent or a person with sqlite3, say): it stops ticking it and running its \
                effects, and `loomctl status` and the loom_project_quarantined metric say why. Check \
                the project with `loomctl verify -C DIR` (the hash chain, loomd's signatures and a \
                replay); if you accept the file as it is, clear the quarantine: loomd reopens the \
                database and re-issues the effects it held. Only an approver may clear, never an agent.
                """
        )
        @OptionGroup var project: ProjectOption
        @OptionGroup var global: GlobalOptions
        func run() throws {
            try runReporting {
                try global.call(ProjectsClearQuarantine.self, ProjectParams(project: project.root)) { result in
                    "\(result.path): \(result.changed ? "quarantine cleared; loomd drives it again" : "was not quarantined")"
                }
            }
        }
    }
}
