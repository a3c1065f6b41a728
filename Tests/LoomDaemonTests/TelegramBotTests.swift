import Foundation
import LoomCode
import LoomEngine
import LoomProviders
import LoomSystem
import Testing

/// The real `loom-telegram` against a Bot API double on loopback and the real loomd: a task
/// from free text through gate buttons (request changes with a forced reply, then approve)
/// to the message naming its branch; a stranger told
/// only their id; a stale button; an API that fails for a while; a restart that repeats nothing.
@Suite(.serialized) struct TelegramBotTests {
    static let token = "123:TEST"
    static let person: Int64 = 111
    static let stranger: Int64 = 999

    /// The bot process, stopped (SIGKILL) by `stop` or at the end of the test.
    final class Bot {
        let process: BackgroundChild
        let logFile: String

        /// - Parameter tokenFromStore: take the token from loomd's secrets store instead of
        ///   the environment.
        init(
            daemon: DaemonHarness,
            api: BotAPIDouble,
            state: String,
            extra: [String],
            tokenFromStore: Bool = false
        ) throws {
            logFile = "\(daemon.directory)/bot-\(UInt32.random(in: 0...UInt32.max)).log"
            var argv =
                [
                    "\(DaemonHarness.binaries)/loomctl", "bot", "telegram", "--socket", daemon.socket,
                    "--api-base", api.base, "--state", state, "--poll-timeout", "1", "--watch-interval-ms", "100",
                    "--backoff-max-ms", "200",
                ] + extra
            var environment = ProcessInfo.processInfo.environment
            if tokenFromStore {
                try FileManager.default.createDirectory(atPath: daemon.state, withIntermediateDirectories: true)
                let secrets = "\(daemon.state)/secrets.json"
                try #"{"version": 1, "secrets": {"TELEGRAM_BOT_TOKEN": "\#(TelegramBotTests.token)"}}"#.write(
                    toFile: secrets,
                    atomically: true,
                    encoding: .utf8
                )
                chmod(secrets, 0o600)
                argv += ["--state-dir", daemon.state]
                environment["LOOM_TG_TOKEN"] = nil
            } else {
                environment["LOOM_TG_TOKEN"] = TelegramBotTests.token
            }
            environment["LOOM_TG_ALLOWED_USERS"] = "\(TelegramBotTests.person)"
            process = try BackgroundChild(argv: argv, environment: environment, outputPath: logFile)
        }

        func stop() {
            process.kill(waitingMs: 10_000)
        }

        var log: String { (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? "" }

        deinit { stop() }
    }

    /// Every call the bot made has the Bot API's shape.
    private func checkShapes(_ api: BotAPIDouble) {
        for call in api.calls {
            #expect(call.path == "/bot\(Self.token)/\(call.method)", "\(call.path)")
            #expect(call.contentType.hasPrefix("application/json"), "\(call.method): \(call.contentType)")
            switch call.method {
            case "getUpdates":
                #expect(call.body["offset"]?.intValue != nil && call.body["timeout"]?.intValue == 1)
            case "sendMessage":
                #expect(call.body["chat_id"]?.intValue != nil)
                #expect((call.body["text"]?.stringValue ?? "").isEmpty == false)
                for row in call.body["reply_markup"]?["inline_keyboard"]?.arrayValue ?? [] {
                    for button in row.arrayValue ?? [] {
                        #expect((button["text"]?.stringValue ?? "").isEmpty == false)
                        #expect(
                            (1...64).contains(button["callback_data"]?.stringValue?.utf8.count ?? 0),
                            "callback data is 1 to 64 bytes"
                        )
                    }
                }
            case "answerCallbackQuery":
                #expect(call.body["callback_query_id"]?.stringValue != nil)
            default:
                Issue.record("unexpected Bot API method \(call.method)")
            }
        }
    }

    private func buttons(_ call: BotAPIDouble.Call?) -> [String: String] {
        var found: [String: String] = [:]
        for row in call?.body["reply_markup"]?["inline_keyboard"]?.arrayValue ?? [] {
            for button in row.arrayValue ?? [] {
                if let text = button["text"]?.stringValue, let data = button["callback_data"]?.stringValue {
                    found[text] = data
                }
            }
        }
        return found
    }

    @Test func aTaskFromFreeTextThroughAGateButtonToTheMessageNamingItsBranch() throws {
        let daemon = try DaemonHarness(script: CodeEndToEndTests.script)
        try daemon.start()
        let project = try SampleRepository.make(in: daemon)
        let api = try BotAPIDouble(token: Self.token)
        defer { api.stop() }
        let bot = try Bot(
            daemon: daemon,
            api: api,
            state: "\(daemon.directory)/tg.json",
            extra: [
                "--project", project, "--bundle", "code", "--flow", "trivial", "--policy", "full-supervised",
                "--dashboard", "http://127.0.0.1:8941/",
            ]
        )
        defer { bot.stop() }

        api.message(from: Self.person, text: "Make value.txt hold 42")
        let proposal = api.waitFor {
            $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("Submit this as a task?")
        }
        #expect(proposal != nil, "\(bot.log)")
        let submit = try #require(buttons(proposal)["Submit"])
        #expect(
            daemon.ctl(["status", "t1", "-C", project, "--json"]).status == 3,
            "nothing is submitted before the confirmation"
        )
        api.press(from: Self.person, data: submit)
        #expect(
            api.waitFor {
                $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("Submitted as t1")
            } != nil,
            "\(bot.log)"
        )

        let gate = api.waitFor {
            $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").contains("waits at gate final (t1.g1)")
        }
        #expect(gate != nil, "\(bot.log)\n\(daemon.log())")
        // The card, as loomctl shows it: the question and the facts behind it.
        let gateText = gate?.body["text"]?.stringValue ?? ""
        #expect(
            gateText.contains("Deliver this change?") && gateText.contains("Checks\n  - name: test, status: ok"),
            "\(gateText)"
        )
        #expect(
            gateText.contains("http://127.0.0.1:8941/task?project=") && gateText.contains("&task=t1"),
            "a link to the task's page: \(gateText)"
        )
        let gateButtons = buttons(gate)
        #expect(Set(gateButtons.keys) == ["Approve", "Request changes", "Abandon"])
        let approve = try #require(gateButtons["Approve"])
        #expect(approve.hasSuffix(":t1.g1"), "the button is bound to the gate event id")

        // Request changes: the reason comes as a forced reply; the task walks back and
        // returns to the gate with a new event id.
        api.press(from: Self.person, data: try #require(gateButtons["Request changes"]))
        let ask = api.waitFor {
            $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("What should change in t1?")
        }
        #expect(ask?.body["reply_markup"]?["force_reply"]?.boolValue == true, "\(bot.log)")
        api.message(from: Self.person, text: "Say why in the commit", replyTo: 1)
        #expect(
            api.waitFor {
                $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("Changes requested for t1")
            } != nil,
            "\(bot.log)"
        )
        let again = api.waitFor {
            $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").contains("waits at gate final (t1.g2)")
        }
        #expect(again != nil, "\(bot.log)\n\(daemon.log())")
        let approveAgain = try #require(buttons(again)["Approve"])
        #expect(
            daemon.ctl(["log", "t1", "-C", project]).stdout.contains("Say why in the commit (via Telegram by user 111)")
        )

        // The first gate's button is stale now.
        api.press(from: Self.person, data: approve)
        #expect(
            api.waitFor { $0.method == "answerCallbackQuery" && ($0.body["text"]?.stringValue ?? "").contains("stale") }
                != nil,
            "\(bot.log)"
        )
        api.press(from: Self.person, data: approveAgain)
        let finished = api.waitFor {
            $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("t1 done")
        }
        #expect(finished?.body["text"]?.stringValue?.contains("branch: loom/t1") == true, "\(bot.log)")
        #expect(try Git(directory: project).check(["show", "loom/t1:value.txt"], "show") == "42")
        #expect(daemon.ctl(["log", "t1", "-C", project]).stdout.contains("via Telegram by user 111"))

        // The same button again, after the task finished: stale.
        let staleBefore = api.calls.filter {
            $0.method == "answerCallbackQuery" && ($0.body["text"]?.stringValue ?? "").contains("stale")
        }.count
        api.press(from: Self.person, data: approveAgain)
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline
            && api.calls.filter({
                $0.method == "answerCallbackQuery" && ($0.body["text"]?.stringValue ?? "").contains("stale")
            }).count == staleBefore
        {
            usleep(20_000)
        }
        #expect(
            api.calls.filter {
                $0.method == "answerCallbackQuery" && ($0.body["text"]?.stringValue ?? "").contains("stale")
            }.count == staleBefore + 1
        )

        // Ship the finished branch from the phone: the ship task's gate comes with buttons,
        // and only the button press (a person) moves main.
        let main = try Git(directory: project).check(["rev-parse", "main"], "main")
        api.message(from: Self.person, text: "/ship t1 merge main")
        #expect(
            api.waitFor {
                $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("Shipping t1 as t2")
            } != nil,
            "\(bot.log)"
        )
        let shipGate = api.waitFor {
            $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").contains("waits at gate ship (t2.g1)")
        }
        #expect(shipGate != nil, "\(bot.log)\n\(daemon.log())")
        #expect(
            try Git(directory: project).check(["rev-parse", "main"], "main") == main,
            "nothing ships before the press"
        )
        api.press(from: Self.person, data: try #require(buttons(shipGate)["Approve"]))
        #expect(
            api.waitFor { $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("t2 done") }
                != nil,
            "\(bot.log)"
        )
        #expect(
            try Git(directory: project).check(["rev-parse", "main"], "main")
                == Git(directory: project).check(["rev-parse", "loom/t1"], "branch")
        )
        api.message(from: Self.person, text: "/ship t1 somewhere")
        #expect(
            api.waitFor { $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("Usage: /ship") }
                != nil
        )

        // A stranger learns their own id and nothing else, by message or by button.
        api.message(from: Self.stranger, text: "Delete everything")
        let refused = api.waitFor { $0.method == "sendMessage" && $0.body["chat_id"]?.intValue == Self.stranger }
        #expect(refused?.body["text"]?.stringValue == "Your Telegram user id is 999.")
        #expect(refused?.body["reply_markup"] == nil)
        api.press(from: Self.stranger, data: approve)
        #expect(
            api.waitFor {
                $0.method == "answerCallbackQuery" && $0.body["text"]?.stringValue == "Your Telegram user id is 999."
            } != nil
        )
        #expect(daemon.ctl(["status", "t3", "-C", project, "--json"]).status == 3, "the stranger submitted nothing")

        api.message(from: Self.person, text: "/status")
        #expect(
            api.waitFor { $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").contains(project) } != nil
        )

        // Each push went out once.
        #expect(api.sent("waits at gate final").count == 2)
        #expect(api.sent("t1 done").count == 1)
        checkShapes(api)
    }

    @Test func theBotRidesOutAFailingAPIAndRepeatsNothingAfterARestart() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let api = try BotAPIDouble(token: Self.token)
        defer { api.stop() }
        let state = "\(daemon.directory)/tg.json"
        api.fail(times: 6)
        api.fail("sendMessage", times: 3)
        api.message(from: Self.person, text: "Write a poem about queues")
        // The token from loomd's secrets store this time (the other test uses the environment).
        var bot = try Bot(daemon: daemon, api: api, state: state, extra: [], tokenFromStore: true)
        defer { bot.stop() }

        #expect(
            api.waitFor {
                $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("Submit this as a task?")
            } != nil,
            "\(bot.log)"
        )
        let failed = api.calls.filter { !$0.answered }
        #expect(failed.count == 9, "six failures of any call, then three of sendMessage")
        #expect(failed.filter { $0.method == "sendMessage" }.count >= 3)
        #expect(bot.log.contains("getUpdates failed"))
        #expect(api.sent("Submit this as a task?").count == 1)

        // Killed and started again on the same state file: the update is not handled twice.
        bot.stop()
        let stateText = try String(contentsOfFile: state, encoding: .utf8)
        #expect(stateText.contains("\"offset\":2"), "\(stateText)")
        let permissions = try FileManager.default.attributesOfItem(atPath: state)[.posixPermissions] as? Int
        #expect(permissions == 0o600)
        let before = api.calls.count
        bot = try Bot(daemon: daemon, api: api, state: state, extra: [])
        api.message(from: Self.person, text: "/projects")
        #expect(
            api.waitFor { $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").contains("No projects") }
                != nil,
            "\(bot.log)"
        )
        #expect(
            api.calls[before...].first { $0.method == "getUpdates" }?.body["offset"]?.intValue == 2,
            "the offset survived the restart"
        )
        #expect(api.sent("Submit this as a task?").count == 1, "nothing was sent twice")

        checkShapes(api)
    }

    @Test func withNotifyEveryTasksGateReachesTheChatWhoeverSubmittedIt() throws {
        let daemon = try DaemonHarness()
        try daemon.start()
        let project = try daemon.makeProject()
        let api = try BotAPIDouble(token: Self.token)
        defer { api.stop() }
        let bot = try Bot(
            daemon: daemon,
            api: api,
            state: "\(daemon.directory)/tg.json",
            extra: ["--project", project, "--notify", "\(Self.person)"]
        )
        defer { bot.stop() }
        // Submitted from the command line, not from Telegram; it parks at the legal gate.
        #expect(daemon.ctl(["submit", "-C", project, "Write about tides"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        let gate = api.waitFor {
            $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").contains("waits at gate legal")
        }
        #expect(gate?.body["chat_id"]?.intValue == Self.person, "\(bot.log)")
        api.press(from: Self.person, data: try #require(buttons(gate)["Approve"]))
        #expect(
            api.waitFor { $0.method == "sendMessage" && ($0.body["text"]?.stringValue ?? "").hasPrefix("t1 done") }
                != nil,
            "\(bot.log)"
        )
        #expect(daemon.ctl(["log", "t1", "-C", project]).stdout.contains("via Telegram by user \(Self.person)"))
    }
}
