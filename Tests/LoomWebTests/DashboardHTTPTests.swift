import Foundation
import LoomIPC
import Testing

/// The dashboard over real HTTP, in front of the real loomd: access token, CSRF, limits,
/// and a code task driven from submit to a shipped branch through the dashboard's forms.
@Suite(.serialized) struct DashboardHTTPTests {
    @Test func aRequestWithoutTheTokenIsRefusedAndTheTokenBecomesAStrictCookie() throws {
        let harness = try WebHarness()
        try harness.start()
        for path in ["/", "/task?project=/x&task=t1", "/static/dashboard.js", "/events?project=/x&task=t1", "/metrics"]
        {
            #expect(try harness.get(path, authenticated: false).status == 401, "\(path) without the token")
        }
        #expect(try harness.get("/?token=0000", authenticated: false).status == 401, "a wrong token")
        #expect(
            try harness.http.send("GET", "/", headers: ["Cookie": "loom_web=\(String(repeating: "0", count: 64))"])
                .status == 401,
            "a wrong cookie"
        )
        #expect(try harness.post("/submit", [("project", "/tmp"), ("input", "x")], authenticated: false).status == 401)

        let adopted = try harness.http.send("GET", "/metrics?token=\(harness.token)&x=1")
        #expect(adopted.status == 303)
        #expect(adopted.header("Location") == "/metrics?x=1", "the token leaves the address bar")
        let cookie = adopted.header("Set-Cookie") ?? ""
        #expect(
            cookie.contains("loom_web=\(harness.token)") && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict"),
            "\(cookie)"
        )

        let page = try harness.get("/metrics")
        #expect(page.status == 200)
        #expect(page.body.contains("loom_build_info"), "the metrics method's text")
        #expect(page.header("Content-Security-Policy")?.contains("script-src 'self'") == true)
        #expect(page.header("X-Frame-Options") == "DENY")
        #expect(!page.body.contains(harness.token), "the access token is never rendered")
    }

    @Test func aFormWithoutItsCSRFTokenIsRefusedAndChangesNothing() throws {
        let harness = try WebHarness()
        try harness.start()
        let project = try harness.makeRepository()
        let form = try harness.get("/submit")
        #expect(form.status == 200)
        let csrf = try #require(WebHarness.csrf(in: form.body))
        #expect(csrf != harness.token, "the form token is not the access token")

        let fields = [("project", project), ("bundle", "code"), ("input", "Make value.txt hold 42")]
        #expect(try harness.post("/submit", fields).status == 403, "no csrf field")
        #expect(
            try harness.post("/submit", fields + [("csrf", String(repeating: "a", count: 64))]).status == 403,
            "a wrong csrf field"
        )
        #expect(
            try harness.post("/submit", fields + [("csrf", csrf)], extraHeaders: ["Origin": "http://evil.example"])
                .status == 403,
            "another origin"
        )
        let projects = try harness.call("projects.list", [:])["projects"]?.arrayValue ?? []
        #expect(projects.isEmpty, "nothing was submitted: \(projects)")

        // Bodies are bounded before they are read.
        let large = try harness.http.send(
            "POST",
            "/submit",
            headers: harness.cookie.merging(["Content-Length": "10000000"]) { $1 },
            body: "csrf=\(csrf)"
        )
        #expect(large.status == 413)
    }

    @Test func submitApproveThroughTheGatePanelAndShipAreJournaledAsTheOSUser() throws {
        let harness = try WebHarness()
        try harness.start()
        let project = try harness.makeRepository()
        let head = try harness.git(project, ["rev-parse", "HEAD"])
        let csrf = try #require(WebHarness.csrf(in: try harness.get("/submit").body))

        let submitted = try harness.post(
            "/submit",
            [
                ("csrf", csrf), ("project", project), ("bundle", "code"), ("policy", "full-supervised"),
                ("input", "Make value.txt hold 42"),
            ]
        )
        #expect(submitted.status == 303)
        let location = try #require(submitted.header("Location"))
        #expect(location.hasPrefix("/task?") && location.contains("task=t1"), "\(location)")

        // Plan gate, then final gate: each answered from the task page's gate panel.
        for expectedStep in ["plan_gate", "final"] {
            let parked = harness.waitFor(project: project, task: "t1") { $0["status"]?.stringValue == "parked" }
            #expect(parked?["step"]?.stringValue == expectedStep, "\(String(describing: parked))")
            let page = try harness.get(location)
            #expect(page.status == 200)
            #expect(page.body.contains("id=\"gate-panel\""), "the gate panel is shown")
            #expect(page.body.contains("id=\"agent-chain\""), "the agent chain is shown")
            let gate = try #require(parked?["gate"]?["event"]?.stringValue)
            if expectedStep == "final" {
                #expect(page.body.contains("+42"), "the diff so far shows the change")
                #expect(page.body.contains("no test for the new value"), "findings are listed")
            }
            let answered = try harness.post(
                "/answer",
                [
                    ("csrf", try #require(WebHarness.csrf(in: page.body))), ("project", project), ("task", "t1"),
                    ("gate", gate), ("answer", "approve"), ("message", "looks right"),
                ]
            )
            #expect(answered.status == 303, "\(answered.body)")
        }
        let done = harness.waitFor(project: project, task: "t1") { $0["status"]?.stringValue == "done" }
        #expect(done?["status"]?.stringValue == "done", "\(harness.text("loomd.log"))")

        // The journal names this process's user as the one who approved, as a person.
        let entries = try harness.call("log", ["project": .string(project), "task": "t1"])["entries"]?.arrayValue ?? []
        let answers = entries.filter { $0["kind"]?.stringValue == "gate_answered" }
        #expect(answers.count == 2)
        for answer in answers {
            #expect(answer["actor"]?["uid"]?.intValue == Int64(getuid()))
            #expect(answer["actor"]?["principal"]?["kind"]?.stringValue == "human")
            #expect(answer["payload"]?["answer"]?.stringValue == "approve")
        }

        // The task graph is drawn (SVG from dot, or the dot text when Graphviz is missing).
        let graph = try harness.get("/task/graph.svg?project=\(project)&task=t1")
        #expect(graph.status == 200 && graph.body.contains("<svg"))

        // Ship: a fast-forward of main, its gate answered by the dashboard's user.
        let taskPage = try harness.get(location)
        #expect(taskPage.body.contains("id=\"ship-panel\""))
        let shipped = try harness.post(
            "/ship",
            [("csrf", csrf), ("project", project), ("task", "t1"), ("mode", "merge"), ("target", "main")]
        )
        #expect(shipped.status == 303, "\(shipped.body)")
        #expect(
            shipped.header("Location")?.contains("task=t2") == true,
            "\(String(describing: shipped.header("Location")))"
        )
        #expect(try harness.git(project, ["show", "main:value.txt"]) == "42")
        #expect(try harness.git(project, ["rev-parse", "HEAD"]) != head)
        let shipLog = try harness.call("log", ["project": .string(project), "task": "t2"])["entries"]?.arrayValue ?? []
        let shipAnswer = try #require(shipLog.first { $0["kind"]?.stringValue == "gate_answered" })
        #expect(shipAnswer["actor"]?["uid"]?.intValue == Int64(getuid()))

        // The fleet lists the project and both tasks.
        let fleet = try harness.get("/")
        #expect(fleet.status == 200 && fleet.body.contains(project) && fleet.body.contains(">t2<"))
    }

    @Test func theLiveStreamCarriesJournalEntriesAndIsBounded() throws {
        let harness = try WebHarness()
        harness.webArguments = ["--event-streams-max", "1", "--heartbeat-seconds", "1"]
        try harness.start()
        let project = try harness.makeRepository()
        let csrf = try #require(WebHarness.csrf(in: try harness.get("/submit").body))
        #expect(
            try harness.post(
                "/submit",
                [
                    ("csrf", csrf), ("project", project), ("bundle", "code"), ("policy", "full-supervised"),
                    ("input", "Make value.txt hold 42"),
                ]
            ).status == 303
        )
        _ = harness.waitFor(project: project, task: "t1") { $0["status"]?.stringValue == "parked" }

        let path = "/events?project=\(project)&task=t1&after=0"
        let held = try harness.http.open(path, headers: harness.cookie)
        usleep(300_000)
        #expect(try harness.get(path).status == 503, "one stream at a time here")
        #expect(
            try harness.get("/events?project=\(project)&task=t99").status == 404,
            "no stream for a task that does not exist"
        )
        close(held)
        // The slot comes back once the closed stream is noticed (within a heartbeat or two).
        var text = ""
        for _ in 0..<10 {
            text = try harness.http.stream(path, headers: harness.cookie, timeout: 5) {
                $0.contains("event: entry") && $0.contains("heartbeat")
            }
            if text.contains("event: entry") { break }
            usleep(500_000)
        }
        #expect(text.contains("text/event-stream"))
        #expect(text.contains("event: entry") && text.contains("submitted"), "\(text.prefix(600))")
        #expect(text.contains(": heartbeat"))

        // SIGTERM with a stream open: the stream is ended, the server exits 0 at once.
        let open = try harness.http.open(path, headers: harness.cookie)
        defer { close(open) }
        usleep(300_000)
        let ended = harness.terminateWeb()
        #expect(ended?.status == 0, "loom-web exits cleanly: \(String(describing: ended))")
        #expect((ended?.seconds ?? 99) < 5, "an open stream does not hold shutdown: \(String(describing: ended))")
    }

    @Test func pagesNeverRenderSecrets() throws {
        let harness = try WebHarness()
        try harness.start()
        try FileManager.default.createDirectory(atPath: harness.state, withIntermediateDirectories: true)
        try #"{"OPENROUTER_API_KEY": "sk-or-v1-abcdefghijklmnopqrstuvwxyz"}"#.write(
            toFile: "\(harness.state)/secrets.json",
            atomically: true,
            encoding: .utf8
        )
        try #"{"default": ["openrouter:deepseek/deepseek-chat"], "roles": {"implementer": ["ollama:qwen2.5-coder"]}}"#
            .write(toFile: "\(harness.state)/models.json", atomically: true, encoding: .utf8)
        let page = try harness.get("/models")
        #expect(page.status == 200)
        #expect(page.body.contains("ollama:qwen2.5-coder"))
        #expect(!page.body.contains("sk-"), "no key shape survives")
        #expect(!page.body.contains("abcdefghijklmnop"))
        #expect(page.body.contains("openrouter:deepseek/deepseek-chat"))
    }

    @Test func loomctlWebStartsTheDashboardOnLoopback() throws {
        let harness = try WebHarness()
        try harness.start()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "\(WebHarness.binaries)/loomctl")
        process.arguments = ["web", "--port", "0", "--socket", harness.socket, "--state-dir", harness.state]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let printed = try #require(WebHarness.firstLine(of: output))
        let range = try #require(
            printed.range(of: #"http://127\.0\.0\.1:[0-9]+/\?token=[0-9a-f]{64}"#, options: .regularExpression),
            "\(printed)"
        )
        let url = String(printed[range])
        let http = RawHTTP(url: url)
        #expect(try http.send("GET", "/").status == 401)
        #expect(try http.send("GET", "/?token=\(url.components(separatedBy: "token=")[1])").status == 303)
    }

    @Test func requestChangesWithoutAMessageIsRefusedByLoomd() throws {
        let harness = try WebHarness()
        try harness.start()
        let project = try harness.makeRepository()
        let csrf = try #require(WebHarness.csrf(in: try harness.get("/submit").body))
        #expect(
            try harness.post(
                "/submit",
                [
                    ("csrf", csrf), ("project", project), ("bundle", "code"), ("policy", "full-supervised"),
                    ("input", "Make value.txt hold 42"),
                ]
            ).status == 303
        )
        let parked = harness.waitFor(project: project, task: "t1") { $0["status"]?.stringValue == "parked" }
        let gate = try #require(parked?["gate"]?["event"]?.stringValue)
        let refused = try harness.post(
            "/answer",
            [("csrf", csrf), ("project", project), ("task", "t1"), ("gate", gate), ("answer", "request_changes")]
        )
        #expect(refused.status == 400, "\(refused.body.prefix(300))")
        #expect(
            try harness.post(
                "/answer",
                [("csrf", csrf), ("project", "/not/a/project"), ("task", "t1"), ("answer", "approve")]
            ).status == 404
        )
        let sent = try harness.post(
            "/answer",
            [
                ("csrf", csrf), ("project", project), ("task", "t1"), ("gate", gate), ("answer", "request_changes"),
                ("message", "plan the test too"),
            ]
        )
        #expect(sent.status == 303)
        let entries = try harness.call("log", ["project": .string(project), "task": "t1"])["entries"]?.arrayValue ?? []
        #expect(
            entries.contains {
                $0["kind"]?.stringValue == "gate_answered" && $0["payload"]?["answer"]?.stringValue == "request_changes"
            }
        )
    }
}
