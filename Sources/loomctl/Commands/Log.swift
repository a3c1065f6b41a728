import ArgumentParser
import LoomEngine
import LoomIPC
import LoomValues
import LoomViews

/// `loomctl log TASK [--follow]`: the audit trail.
struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Print a task's audit trail: every input, who gave it, when; --follow streams new entries."
    )

    @Argument(help: "The task id.") var task: String
    @OptionGroup var project: ProjectOption
    @Flag(name: .shortAndLong, help: "Keep streaming new entries until the task ends.") var follow = false
    @OptionGroup var global: GlobalOptions

    func run() throws {
        try runReporting {
            let client = try global.connect()
            defer { client.close() }
            if follow {
                try followJournal(
                    client: client,
                    project: project.root,
                    task: task,
                    json: global.json,
                    untilQuiet: false
                )
                return
            }
            var entries: [JSONValue] = []
            let json = global.json
            do {
                try JournalPages.read(
                    project: project.root,
                    task: task,
                    call: { try client.call(LoomIPC.Log.self, $0) }
                ) { entry in
                    if json { entries.append(entry) } else { print(LogLine.format(entry)) }
                }
            } catch let error as IPCError {
                throw CLIError(error)
            }
            if json { print(JSONValue.object(["entries": .array(entries)]).canonicalText) }
        }
    }
}

/// One journal entry as a line for people.
enum LogLine {
    static func format(_ entry: JSONValue) -> String {
        let who = entry["actor"]?["principal"]?["id"]?.stringValue ?? "?"
        let pid = entry["actor"]?["pid"]?.intValue.map { " pid \($0)" } ?? ""
        let payload = entry["payload"] ?? .null
        let detail: String
        switch entry["kind"]?.stringValue ?? "" {
        case "submitted":
            detail =
                "submitted \"\(payload["input"]?.stringValue?.prefix(80) ?? "")\" (bundle \(payload["bundle"]?.stringValue ?? ""), flow \(payload["flow"]?.stringValue ?? ""))"
        case "effect_result":
            let result = payload["result"] ?? .null
            let key = payload["key"]?.stringValue ?? ""
            if let status = result["status"]?.stringValue, result["usage"] != nil {
                detail =
                    "result \(key): \(status)\(result["errorClass"]?.stringValue.map { " (\($0))" } ?? ""), tokens \(result["usage"]?["in"]?.intValue ?? 0)/\(result["usage"]?["out"]?.intValue ?? 0)\(result["usage"]?["estimated"] == true ? " (estimated)" : ""), \(result["provider"]?.stringValue ?? ""):\(result["model"]?.stringValue ?? "")"
                    + fitted(result["fit"]) + said(result) + rejected(entry["rejected"])
            } else {
                detail =
                    "result \(key): \(result["status"]?.stringValue ?? "?")\(result["exitCode"]?.intValue.map { " exit \($0)" } ?? "")"
            }
        case "gate_answered":
            detail =
                "answered \(payload["gate"]?.stringValue ?? ""): \(payload["answer"]?.stringValue ?? "")\((payload["message"]?.stringValue).flatMap { $0.isEmpty ? nil : " — \($0)" } ?? "")"
        case "effect_retry":
            detail =
                "retry \(payload["key"]?.stringValue ?? "") after attempt \(payload["attempt"]?.intValue ?? 0) (\(payload["errorClass"]?.stringValue ?? "")) in \(payload["delayMs"]?.intValue ?? 0) ms: \(payload["message"]?.stringValue ?? "")"
        case "cancelled":
            detail = "cancelled\((payload["reason"]?.stringValue).flatMap { $0.isEmpty ? nil : ": \($0)" } ?? "")"
        case "violation":
            detail =
                "REFUSED by rule \(payload["violations"]?[0]?["rule"]?.stringValue ?? "?"): \(payload["message"]?.stringValue ?? "")"
        case "refused":
            detail = "REFUSED (\(payload["code"]?.stringValue ?? "")): \(payload["message"]?.stringValue ?? "")"
        default: detail = payload.canonicalText
        }
        return
            "#\(entry["seq"]?.intValue ?? 0) \(formatTime(entry["time"]?.intValue)) \(entry["task"]?.stringValue ?? "") \(who)\(pid): \(detail)"
    }

    /// How the prompt was cut to fit the model's window, when it was (every cut is journaled
    /// with the result; a prompt sent whole shows nothing here).
    static func fitted(_ fit: JSONValue?) -> String {
        guard let fit, let cuts = fit["cuts"]?.arrayValue, !cuts.isEmpty || fit["fits"] == false else { return "" }
        let tokens = fit["promptTokens"]
        let window =
            "\(fit["window"]?["contextTokens"]?.intValue ?? 0) tokens (\(fit["window"]?["source"]?.stringValue ?? "?"))"
        guard fit["fits"] != false else {
            return
                "\n    prompt of about \(tokens?["before"]?.intValue ?? 0) tokens (\(tokens?["min"]?.intValue ?? 0) at its smallest) does not fit the window of \(window)"
        }
        let what = cuts.map { cut in
            "\(cut["variable"]?.stringValue ?? "?") (\(cut["rule"]?.stringValue ?? "?")) \(cut["bytes"]?["before"]?.intValue ?? 0) → \(cut["bytes"]?["after"]?.intValue ?? 0) bytes"
        }.joined(separator: ", ")
        return
            "\n    prompt cut to fit a window of \(window): about \(tokens?["before"]?.intValue ?? 0) → \(tokens?["after"]?.intValue ?? 0) tokens; \(what)"
    }

    /// Why the kernel rejected an answer, and the harness finding it became (when it did).
    static func rejected(_ rejection: JSONValue?) -> String {
        guard let rejection else { return "" }
        var text =
            "\n    REJECTED: "
            + (rejection["errors"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: "; ")
        if let finding = rejection["finding"] {
            text +=
                "\n    became finding \(finding["id"]?.stringValue ?? "?") (\(finding["severity"]?.stringValue ?? "?"), harness): \(finding["summary"]?.stringValue ?? "")"
        } else {
            text += "\n    (asked again with the error in the prompt)"
        }
        return text
    }

    /// What an agent said, as indented text lines: its output's fields, or its error.
    static func said(_ result: JSONValue) -> String {
        guard let text = result["output"]?.stringValue ?? result["error"]?.stringValue else { return "" }
        return OutputText.lines(text).map { "\n    " + $0 }.joined()
    }
}
