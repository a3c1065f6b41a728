import Foundation
import HTTPTypes
import Hummingbird
import LoomConfiguration
import LoomIPC
import LoomValues

/// Every route, one method each. Reads are GET; every change is a POST from a form with its
/// CSRF token, answered with a redirect (so a reload never repeats it).
struct DashboardRoutes: Sendable {
    let server: DashboardServer
    var configuration: DashboardConfiguration { server.configuration }
    var limits: DashboardLimits { server.configuration.limits }
    var gateway: DaemonGateway { server.gateway }

    func register(on router: Router<BasicRequestContext>) {
        router.get("/") { request, _ in await respond { try await fleet() } }
        router.get("/task") { request, _ in await respond { try await task(request, liveOnly: false) } }
        router.get("/task/live") { request, _ in await respond { try await task(request, liveOnly: true) } }
        router.get("/task/graph.svg") { request, _ in await respond { try await taskGraph(request) } }
        router.get("/bundle/graph.svg") { request, _ in await respond { try await bundleGraph(request) } }
        router.get("/graphs") { _, _ in await respond { try await graphs() } }
        router.get("/events") { request, _ in await respond { try await events(request) } }
        router.get("/submit") { _, _ in await respond { try await submitForm(problem: nil) } }
        router.get("/models") { _, _ in models() }
        router.get("/metrics") { _, _ in await respond { try await metrics() } }
        router.get("/static/dashboard.css") { _, _ in asset(StaticAssets.css, type: "text/css; charset=utf-8") }
        router.get("/static/dashboard.js") { _, _ in asset(StaticAssets.script, type: "text/javascript; charset=utf-8")
        }
        router.post("/submit") { request, _ in await respond { try await submit(request) } }
        router.post("/answer") { request, _ in await respond { try await answer(request) } }
        router.post("/ship") { request, _ in await respond { try await ship(request) } }
    }

    // MARK: - Pages

    func fleet() async throws(DashboardError) -> Response {
        let fleet = try await gateway.call(Status.self, TaskParams(project: nil, task: nil), doing: "reading the fleet")
            .json
        var projects: [FleetPage.Project] = []
        for entry in (fleet["projects"]?.arrayValue ?? []).prefix(limits.projectsShownMax) {
            let path = entry["path"]?.stringValue ?? "?"
            var project = FleetPage.Project(path: path, summary: nil, recent: [], problem: nil)
            do {
                project.summary = try await gateway.call(
                    Status.self,
                    TaskParams(project: path, task: nil),
                    doing: "reading \(path)"
                ).json
                let recent = try await gateway.call(
                    Tasks.self,
                    Tasks.Params(project: path, limit: Int64(limits.recentTasksMax)),
                    doing: "listing \(path)'s tasks"
                )
                project.recent = (recent["tasks"]?.arrayValue ?? []).map(FleetPage.TaskRow.init(json:))
            } catch {
                project.problem = error.description
            }
            projects.append(project)
        }
        return html(FleetPage.render(fleet: fleet, projects: projects, nowMs: Self.nowMs()))
    }

    func task(_ request: Request, liveOnly: Bool, notice: String? = nil) async throws(DashboardError) -> Response {
        let (project, task) = try await taskParameters(request)
        let status = try await gateway.call(
            Status.self,
            TaskParams(project: project, task: task),
            doing: "reading \(task)"
        ).json
        // Page by page (loomd answers a frame's worth at a time), keeping the newest.
        var entries: [JSONValue] = []
        var from: Int64? = 0
        while let after = from {
            let page = try await gateway.call(
                Log.self,
                Log.Params(project: project, task: task, after: after),
                doing: "reading \(task)'s journal"
            )
            entries = Array((entries + page.entries).suffix(limits.timelineEntriesMax))
            from = page.next(after: after)
        }
        var content = TaskPage.Content(
            project: project,
            task: task,
            status: status,
            entries: entries,
            diff: nil,
            csrfToken: configuration.csrfToken,
            nowMs: Self.nowMs(),
            notice: FormFields(request.uri.query ?? "")["notice"]
        )
        if liveOnly { return html(TaskPage.live(content)) }
        if let workspace = status["workspace"] {
            content.diff = await TaskDiff.read(project: project, workspace: workspace, limits: limits)
        }
        return html(TaskPage.render(content))
    }

    func taskGraph(_ request: Request) async throws(DashboardError) -> Response {
        let (project, task) = try await taskParameters(request)
        let graph = try await gateway.call(
            Graph.self,
            Graph.Params(project: project, task: task),
            doing: "drawing \(task)'s path"
        )
        return await picture(graph.dot)
    }

    func bundleGraph(_ request: Request) async throws(DashboardError) -> Response {
        let name = FormFields(request.uri.query ?? "")["bundle"] ?? ""
        let graph = try await gateway.call(Graph.self, Graph.Params(bundle: name), doing: "drawing bundle \(name)")
        return await picture(graph.dot)
    }

    func graphs() async throws(DashboardError) -> Response {
        html(GraphsPage.render(bundles: try await bundleNames()))
    }

    func bundleNames() async throws(DashboardError) -> [String] {
        try await gateway.call(Bundles.self, doing: "listing bundles").bundles
    }

    func picture(_ dot: String) async -> Response {
        var svg: String
        switch await GraphPicture.render(dot: dot, limits: limits) {
        case .svg(let text): svg = text
        case .dotText(let text, let problem):
            // Without Graphviz the picture says why and carries the dot text to copy.
            let lines =
                (["Graphviz could not draw this (\(problem)); the dot text:"]
                + text.split(separator: "\n").map(String.init)).prefix(200)
            svg =
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"\(lines.count * 14 + 20)\"><text font-family=\"monospace\" font-size=\"11\">"
            for (index, line) in lines.enumerated() {
                svg += "<tspan x=\"8\" y=\"\(index * 14 + 16)\">\(HTML.escape(line))</tspan>"
            }
            svg += "</text></svg>"
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "image/svg+xml", .contentSecurityPolicy: "default-src 'none'; style-src 'unsafe-inline'",
            ],
            body: .init(byteBuffer: ByteBuffer(string: svg))
        )
    }

    func events(_ request: Request) async throws(DashboardError) -> Response {
        if FormFields(request.uri.query ?? "")["fleet"] == "1" { return try fleetEvents() }
        let (project, task) = try await taskParameters(request)
        let after = Int64(FormFields(request.uri.query ?? "")["after"] ?? "") ?? 0
        // A task that does not exist is a 404 now, not a stream that retries forever.
        _ = try await gateway.call(
            Status.self,
            TaskParams(project: project, task: task),
            doing: "opening \(task)'s live stream"
        )
        let hub = server.hub
        guard let slot = hub.acquire() else {
            throw DashboardError(
                .busy,
                "\(limits.eventStreamsMax) live streams are open already; close a tab",
                doing: "opening a live stream"
            )
        }
        return Self.eventStream(slot) { stop in
            hub.start(project: project, task: task, after: max(0, after), stop: stop)
        }
    }

    /// An event-stream response fed by the stream `start` opens, until the stream ends or the
    /// browser goes away; then the watch is told to stop (it sees the flag at its next
    /// wake-up) and the slot is given back.
    static func eventStream(
        _ slot: EventStreamHub.Slot,
        _ start: @escaping @Sendable (EventStreamHub.StopFlag) -> AsyncStream<String>
    ) -> Response {
        let body = ResponseBody { writer in
            let stop = EventStreamHub.StopFlag()
            do {
                for await chunk in start(stop) { try await writer.write(ByteBuffer(string: chunk)) }
            } catch {
                // The browser went away.
            }
            stop.set()
            slot.release()
            try? await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: body
        )
    }

    /// The fleet page's stream: it refreshes its table when loomd says a task moved.
    func fleetEvents() throws(DashboardError) -> Response {
        let hub = server.hub
        guard let slot = hub.acquire() else {
            throw DashboardError(
                .busy,
                "\(limits.eventStreamsMax) live streams are open already; close a tab",
                doing: "opening the fleet's live stream"
            )
        }
        return Self.eventStream(slot) { stop in hub.startFleet(stop: stop) }
    }

    func submitForm(problem: String?) async throws(DashboardError) -> Response {
        let projects = (try? await gateway.projects()) ?? []
        return html(
            SubmitPage.render(
                csrfToken: configuration.csrfToken,
                projects: projects,
                bundles: try await bundleNames(),
                problem: problem
            )
        )
    }

    /// The chains as loomd resolves them (defaults filled in), as `loomctl models list --json`
    /// prints them; the file is loomd's, read here and never written.
    func models() -> Response {
        let path = "\(configuration.stateDirectory)/\(ModelsConfiguration.fileName)"
        do throws(ProviderConfigurationError) {
            let models = try ModelsConfiguration.load(stateDirectory: configuration.stateDirectory)
            let note =
                FileManager.default.fileExists(atPath: path) ? nil : "no models.json yet: these are loomd's defaults"
            return html(ModelsPage.render(path: path, models: models.json, problem: note))
        } catch {
            return html(ModelsPage.render(path: path, models: nil, problem: error.message))
        }
    }

    func metrics() async throws(DashboardError) -> Response {
        let result = try await gateway.call(Metrics.self, doing: "reading metrics")
        return html(MetricsPage.render(result.text))
    }

    // MARK: - Changes

    func submit(_ request: Request) async throws(DashboardError) -> Response {
        let form = try await formFields(request)
        let project = (form["project"] ?? "").trimmingCharacters(in: .whitespaces)
        let input = form["input"] ?? ""
        guard project.hasPrefix("/"), !project.contains("\0") else {
            throw DashboardError(.badRequest, "the project must be an absolute path", doing: "submitting")
        }
        guard !input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty,
            input.utf8.count <= limits.taskInputBytesMax
        else {
            throw DashboardError(
                .badRequest,
                "say what to do, in at most \(limits.taskInputBytesMax) bytes",
                doing: "submitting"
            )
        }
        let chosen = { (name: String) in form[name].flatMap { $0.isEmpty ? nil : $0 } }
        let params = Submit.Params(
            project: project,
            input: input,
            bundle: chosen("bundle"),
            flow: chosen("flow"),
            policy: chosen("policy")
        )
        let result = try await gateway.call(Submit.self, params, doing: "submitting to \(project)")
        return redirect(FormFields.link("/task", [("project", result.project), ("task", result.task)]))
    }

    func answer(_ request: Request) async throws(DashboardError) -> Response {
        let form = try await formFields(request)
        let (project, task) = try await taskParameters(form)
        let answer = form["answer"] ?? ""
        guard ["approve", "request_changes", "abandon"].contains(answer) else {
            throw DashboardError(
                .badRequest,
                "the answer is approve, request_changes or abandon",
                doing: "answering \(task)'s gate"
            )
        }
        let gate = form["gate"].flatMap { $0.isEmpty ? nil : $0 }
        let message = form["message"].flatMap { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ? nil : $0 }
        let params = Answer.Params(project: project, task: task, gate: gate, answer: answer, message: message)
        _ = try await gateway.call(Answer.self, params, doing: "answering \(task)'s gate")
        return redirect(
            FormFields.link(
                "/task",
                [("project", project), ("task", task), ("notice", "\(answer) sent to \(form["gate"] ?? "the gate")")]
            )
        )
    }

    /// The same steps as `loomctl ship`: submit a ship task, let loomd check the order and
    /// park at the ship gate, then answer it as this process's user (a person, never a policy).
    func ship(_ request: Request) async throws(DashboardError) -> Response {
        let form = try await formFields(request)
        let (project, task) = try await taskParameters(form)
        let target = form["target"] ?? ""
        guard !target.isEmpty, !target.hasPrefix("-"), target.count <= 200,
            target.allSatisfy({ $0.isLetter || $0.isNumber || "._/-".contains($0) })
        else {
            throw DashboardError(
                .badRequest,
                "name the branch or remote without spaces or a leading '-'",
                doing: "shipping \(task)"
            )
        }
        let order: ShipOrder
        switch form["mode"] {
        case "push": order = ShipOrder(task: task, destination: .push(remote: target))
        case "merge": order = ShipOrder(task: task, destination: .merge(into: target, squash: false))
        case "squash": order = ShipOrder(task: task, destination: .merge(into: target, squash: true))
        default: throw DashboardError(.badRequest, "the mode is push, merge or squash", doing: "shipping \(task)")
        }
        let doing = "shipping \(task) (\(order.summary))"
        let submitted = try await gateway.call(
            Submit.self,
            Submit.Params(
                project: project,
                input: order.input,
                bundle: "code",
                flow: "ship",
                policy: "full-supervised"
            ),
            doing: doing
        )
        let shipTask = submitted.task
        var state = try await waitWhileRunning(project: project, task: shipTask, doing: doing)
        if state["status"]?.stringValue == "parked", let gate = state["gate"]?["event"]?.stringValue {
            let approve = Answer.Params(
                project: project,
                task: shipTask,
                gate: gate,
                answer: "approve",
                message: "loom-web ship: \(order.summary)"
            )
            _ = try await gateway.call(Answer.self, approve, doing: doing)
            state = try await waitWhileRunning(project: project, task: shipTask, doing: doing)
        }
        let outcome =
            state["status"]?.stringValue == "done"
            ? "shipped: \(order.summary)"
            : "not shipped (\(state["status"]?.stringValue ?? "?")): \(state["outcome"]?.stringValue ?? "")"
        return redirect(FormFields.link("/task", [("project", project), ("task", shipTask), ("notice", outcome)]))
    }

    func waitWhileRunning(project: String, task: String, doing: String) async throws(DashboardError) -> JSONValue {
        let deadline = Date().addingTimeInterval(Double(limits.shipWaitSeconds))
        while true {
            let state = try await gateway.call(Status.self, TaskParams(project: project, task: task), doing: doing).json
            let status = state["status"]?.stringValue
            if status != "running" && status != "queued" { return state }
            guard Date() < deadline else {
                throw DashboardError(
                    .busy,
                    "\(task) is still \(status ?? "?") after \(limits.shipWaitSeconds) s",
                    doing: doing
                )
            }
            try? await Task.sleep(nanoseconds: 100_000_000)
        }
    }

    // MARK: - Forms, parameters, responses

    /// A form body: size-limited before it is read, CSRF-checked before it is used.
    func formFields(_ request: Request) async throws(DashboardError) -> FormFields {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limits.requestBodyBytesMax {
            throw DashboardError(
                .tooLarge,
                "the form is \(length) bytes; the limit is \(limits.requestBodyBytesMax)",
                doing: "reading a form"
            )
        }
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limits.requestBodyBytesMax) } catch {
            throw DashboardError(
                .tooLarge,
                "the form is over \(limits.requestBodyBytesMax) bytes",
                doing: "reading a form"
            )
        }
        let fields = FormFields(String(buffer: buffer))
        if let problem = server.guardian.checkForm(
            fields,
            origin: request.headers[.origin],
            host: request.head.authority
        ) {
            throw DashboardError(.forbidden, problem, doing: "checking a form")
        }
        return fields
    }

    func taskParameters(_ request: Request) async throws(DashboardError) -> (String, String) {
        try await taskParameters(FormFields(request.uri.query ?? ""))
    }

    /// A project loomd supervises and a task id of plain characters: only those reach git,
    /// the database reader or the socket.
    func taskParameters(_ fields: FormFields) async throws(DashboardError) -> (String, String) {
        let project = fields["project"] ?? "", task = fields["task"] ?? ""
        guard !task.isEmpty, task.count <= 64, task.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            throw DashboardError(.badRequest, "a task id is letters and digits (t1, t2, …)", doing: "opening a task")
        }
        try await gateway.requireProject(project)
        return (project, task)
    }

    /// Turns a failure into its status and an error page (the closures' errors are always
    /// `DashboardError`; anything else would be a bug and is a 500).
    func respond(_ body: () async throws -> Response) async -> Response {
        do { return try await body() } catch {
            let failure = error as? DashboardError ?? DashboardError(.failed, "\(error)")
            return html(Layout.errorPage(failure), status: HTTPResponse.Status(code: failure.httpStatus))
        }
    }

    func html(_ text: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    func asset(_ text: String, type: String) -> Response {
        Response(
            status: .ok,
            headers: [.contentType: type, .cacheControl: "private, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }

    func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }
}
