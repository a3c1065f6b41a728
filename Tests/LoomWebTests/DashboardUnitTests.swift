import LoomValues
import LoomWeb
import Testing

/// The pure parts: token checks, form decoding, redaction, escaping.
struct DashboardUnitTests {
    let guardian = AccessGuard(accessToken: "a1b2", csrfToken: "c3d4")

    @Test func accessNeedsTheCookieOrTheTokenOnce() {
        #expect(guardian.checkAccess(path: "/", query: nil, cookieHeader: nil) != .allow)
        #expect(guardian.checkAccess(path: "/", query: nil, cookieHeader: "other=1; loom_web=a1b2") == .allow)
        #expect(guardian.checkAccess(path: "/", query: nil, cookieHeader: "loom_web=a1b3") != .allow)
        #expect(
            guardian.checkAccess(path: "/task", query: "token=a1b2&task=t1", cookieHeader: nil)
                == .adopt(location: "/task?task=t1")
        )
        #expect(
            guardian.checkAccess(path: "/", query: "token=zz", cookieHeader: nil)
                == .refuse("the access token is wrong")
        )
    }

    @Test func formsNeedTheirTokenAndThisOrigin() {
        #expect(guardian.checkForm(FormFields("csrf=c3d4&x=1"), origin: nil, host: "127.0.0.1:1") == nil)
        #expect(guardian.checkForm(FormFields("csrf=c3d4"), origin: "http://127.0.0.1:1", host: "127.0.0.1:1") == nil)
        #expect(guardian.checkForm(FormFields("x=1"), origin: nil, host: "127.0.0.1:1") != nil)
        #expect(guardian.checkForm(FormFields("csrf=c3d5"), origin: nil, host: "127.0.0.1:1") != nil)
        #expect(guardian.checkForm(FormFields("csrf=c3d4"), origin: "http://evil.example", host: "127.0.0.1:1") != nil)
    }

    @Test func formFieldsDecodePlusAndPercent() {
        let fields = FormFields("project=%2Ftmp%2Fa+b&input=x%3Dy&input=second&empty=")
        #expect(fields["project"] == "/tmp/a b")
        #expect(fields["input"] == "x=y", "the first value wins")
        #expect(fields["empty"] == "")
        #expect(FormFields.link("/task", [("project", "/a b"), ("task", "t1")]) == "/task?project=%2Fa%20b&task=t1")
    }

    @Test func secretsAreRedactedButEffectKeysAreNot() {
        #expect(Redactor.redact("OPENAI_API_KEY=sk-abcdefghijklmnop rest") == "OPENAI_API_KEY=[redacted] rest")
        #expect(
            Redactor.redact("export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz") == "export GITHUB_TOKEN=[redacted]"
        )
        #expect(Redactor.redact(#"{"password": "hunter22"}"#) == #"{"password": "[redacted]"}"#)
        #expect(Redactor.redact("Authorization: Bearer abcdefghijklmnopqrstuvwxyz") == "Authorization: [redacted]")
        #expect(Redactor.redact(#"{"key":"t1:plan:planner:0:1"}"#) == #"{"key":"t1:plan:planner:0:1"}"#)
        #expect(Redactor.redact("tokens 30/5") == "tokens 30/5")
    }

    @Test func htmlIsEscaped() {
        #expect(
            HTML.escape("<script>alert('x')</script>&\"")
                == "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        )
    }

    @Test func loopbackIsTheOnlyDefault() {
        #expect(DashboardConfiguration.isLoopback("127.0.0.1"))
        #expect(DashboardConfiguration.isLoopback("localhost"))
        #expect(!DashboardConfiguration.isLoopback("0.0.0.0"))
        #expect(DashboardConfiguration(socketPath: "/s", stateDirectory: "/x").host == "127.0.0.1")
        #expect(DashboardConfiguration.randomToken().count == 64)
    }

    /// The timeline and the agent chain read as text; JSON only behind "raw".
    @Test func theTimelineAndTheAgentChainReadAsText() throws {
        let submitted: JSONValue = [
            "seq": 1, "tick": 1, "time": 0, "kind": "submitted",
            "actor": ["principal": ["kind": "human", "id": "uid:1000"]],
            "payload": [
                "input": "Make value.txt hold 42", "bundle": "code", "flow": "classify",
                "policy": ["label": "full-supervised"],
            ],
        ]
        #expect(
            TaskPage.timelineRow(submitted).last == "\"Make value.txt hold 42\" — code/classify, policy full-supervised"
        )
        let html = TaskPage.output(#"{"summary": "Write 42.", "steps": ["edit value.txt"]}"#)
        #expect(
            html.hasPrefix(
                "<pre class=\"card-section\">steps:\n- edit value.txt\nsummary: Write 42.</pre><details><summary class=\"muted\">raw</summary>"
            ),
            "\(html)"
        )
    }
}
