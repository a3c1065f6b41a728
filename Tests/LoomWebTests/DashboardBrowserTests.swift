import Foundation
import Testing

/// A real browser (headless Chromium from Debian, driven through chromedriver) submits a code
/// task, watches the agent chain arrive live, approves both gates from the gate panel, and
/// takes a screenshot of the task page (into docs/images/dashboard-task.png for the README
/// with LOOM_UPDATE_SCREENSHOT=1).
@Suite(.serialized) struct DashboardBrowserTests {
    static let missing = WebDriver.missing()

    @Test(.enabled(if: missing == nil, "skipped: \(missing ?? "")"))
    func aBrowserSubmitsWatchesTheAgentChainAndApproves() throws {
        let harness = try WebHarness()
        try harness.start()
        let project = try harness.makeRepository()
        let browser = try WebDriver(logFile: "\(harness.directory)/chromedriver.log")
        defer { browser.quit() }
        try browser.startSession(width: 1400, height: 1000)

        // The printed URL: the token becomes a cookie and leaves the address bar.
        try browser.go(harness.url)
        #expect(!browser.currentURL.contains("token="), "\(browser.currentURL)")
        // The fleet page follows loomd's fleet watch: a task submitted elsewhere shows up
        // without a reload (nor a timer: the page has none).
        _ = try browser.script("window.loomMarker = 'fleet'; return true;")
        let other = try harness.makeRepository("other")
        _ = try harness.call(
            "submit",
            [
                "project": .string(other), "input": "publish something", "bundle": "publishing",
                "policy": "full-supervised",
            ]
        )
        #expect(
            browser.wait(
                seconds: 20,
                for: """
                    var live = document.getElementById('fleet-live');
                    return window.loomMarker === 'fleet' && (window.loomFleetRefreshes || 0) > 0 && !!live && live.textContent.indexOf('other') >= 0;
                    """
            ),
            "the fleet page updated itself from the watch"
        )
        try browser.go("\(harness.base)/submit")
        try browser.type("#project", project)
        try browser.click("#bundle option[value='code']")
        try browser.type("#policy", "full-supervised")
        try browser.type("#input", "Make value.txt hold 42")
        try browser.click("#submit-button")
        #expect(browser.wait(seconds: 10, for: "return location.pathname === '/task'"), "\(browser.currentURL)")

        // The page is not reloaded: the gate panel and the agent chain arrive over the live stream.
        _ = try browser.script("window.loomMarker = 'same page'; return true;")
        #expect(
            browser.wait(
                for: "return !!document.getElementById('gate-panel') && !!document.getElementById('agent-chain')"
            ),
            "the plan gate shows up live"
        )
        #expect(try browser.script("return window.loomMarker || ''").stringValue == "same page", "no reload was needed")
        // The card: the plan itself, visible above the Approve button in the first screen.
        #expect(
            browser.wait(
                for: """
                    var card = document.getElementById('gate-card'), approve = document.getElementById('approve');
                    if (!card || !approve || card.textContent.indexOf('Write 42.') < 0) return false;
                    var plan = Array.from(card.querySelectorAll('pre')).find(function (p) { return p.textContent.indexOf('Write 42.') >= 0; });
                    var a = approve.getBoundingClientRect(), p = plan.getBoundingClientRect();
                    return p.bottom <= a.top && a.bottom <= window.innerHeight;
                    """
            ),
            "the plan is shown above the Approve button, on the first screen"
        )
        try browser.click("#approve")

        #expect(
            browser.wait(
                seconds: 40,
                for: """
                    var chain = document.getElementById('agent-chain');
                    return !!document.getElementById('gate-panel') && !!chain && chain.querySelectorAll('tr').length >= 6
                      && document.body.textContent.indexOf('final') >= 0;
                    """
            ),
            "the final gate with the reviewers in the agent chain"
        )
        let rows = try browser.script("return document.querySelectorAll('#agent-chain tr').length").intValue ?? 0
        #expect(rows >= 6, "header plus planner, implementer and reviewers: \(rows)")

        // The flow picture's smallest label, as drawn on the page, is at least 12 px.
        _ = try browser.script(
            """
            var img = document.querySelector('.graph img');
            fetch(img.src, {credentials: 'same-origin'}).then(function (r) { return r.text(); }).then(function (text) {
              var doc = new DOMParser().parseFromString(text, 'image/svg+xml');
              var box = doc.documentElement.viewBox.baseVal;
              var sizes = Array.from(doc.querySelectorAll('text')).map(function (t) { return parseFloat(t.getAttribute('font-size')); }).filter(function (s) { return s > 0; });
              window.loomSmallestLabelPx = Math.min.apply(null, sizes) * img.getBoundingClientRect().width / box.width;
            });
            return true;
            """
        )
        #expect(browser.wait(for: "return window.loomSmallestLabelPx > 0"), "the flow picture loaded")
        let smallest = try browser.script("return window.loomSmallestLabelPx").doubleValue ?? 0
        #expect(smallest >= 12, "the flow picture's smallest label is \(smallest) px")

        // The screenshot of the task page at its final gate, for the README.
        try browser.go("\(harness.base)/task?project=\(project)&task=t1")
        #expect(browser.wait(for: "return !!document.getElementById('gate-panel')"))
        let png = try browser.screenshot()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        // Into the checkout only when asked (LOOM_UPDATE_SCREENSHOT=1): a test run should not
        // leave the working tree modified.
        let images =
            ProcessInfo.processInfo.environment["LOOM_UPDATE_SCREENSHOT"] == "1"
            ? "\(WebHarness.repositoryRoot)/docs/images" : FileManager.default.temporaryDirectory.path
        try FileManager.default.createDirectory(atPath: images, withIntermediateDirectories: true)
        try png.write(to: URL(fileURLWithPath: "\(images)/dashboard-task.png"))

        try browser.click("#approve")
        #expect(
            browser.wait(
                seconds: 40,
                for: "var s = document.getElementById('task-status'); return !!s && s.textContent === 'done';"
            ),
            "the task ends done on the page: \(harness.text("loomd.log").suffix(800))"
        )

        let entries = try harness.call("log", ["project": .string(project), "task": "t1"])["entries"]?.arrayValue ?? []
        let answers = entries.filter { $0["kind"]?.stringValue == "gate_answered" }
        #expect(answers.count == 2)
        #expect(
            answers.allSatisfy {
                $0["actor"]?["uid"]?.intValue == Int64(getuid())
                    && $0["actor"]?["principal"]?["kind"]?.stringValue == "human"
            }
        )
    }
}
