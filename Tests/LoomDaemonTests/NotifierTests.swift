import Foundation
import LoomEngine
import LoomValues
import Testing

/// The operator's notifier: run once when a gate opens, the card as JSON on stdin, never
/// in a tick's way; a failing one is logged and counted.
@Suite(.serialized) struct NotifierTests {
    @Test func aGateOpeningRunsTheNotifierWithTheCardOnStdin() throws {
        let directory = "/tmp/loom-notify-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let daemon = try DaemonHarness(
            config: #"{"notifier": ["sh", "-c", "cat > \#(directory)/notified-$$.json"], "notifierTimeoutMs": 5000}"#
        )
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "--policy", "full-supervised", "Tides"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        var files: [String] = []
        for _ in 0..<100 where files.isEmpty {
            files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
                $0.hasPrefix("notified-")
            }
            usleep(50_000)
        }
        #expect(files.count == 1, "one gate, one notification: \(files)")
        let payload = try JSONValue.parse(
            try String(contentsOfFile: "\(directory)/\(try #require(files.first))", encoding: .utf8)
        )
        #expect(payload["event"] == "t1.g1" && payload["project"]?.stringValue == project)
        #expect(payload["summary"]?.stringValue?.hasPrefix("Clear this piece for publication?") == true, "\(payload)")
        #expect(payload["card"]?["sections"]?.arrayValue?.isEmpty == false)
        // A status request or another tick does not announce the same gate again.
        _ = daemon.ctl(["status", "t1", "-C", project])
        usleep(300_000)
        #expect(
            ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter {
                $0.hasPrefix("notified-")
            }.count == 1
        )
        #expect(daemon.ctl(["metrics"]).stdout.contains(#"loom_notifications_total{outcome="sent"} 1"#))
    }

    @Test func aFailingNotifierIsLoggedAndCountedAndTheGateStillWaits() throws {
        let daemon = try DaemonHarness(config: #"{"notifier": ["sh", "-c", "echo no mail server >&2; exit 3"]}"#)
        try daemon.start()
        let project = try daemon.makeProject()
        #expect(daemon.ctl(["submit", "-C", project, "--policy", "full-supervised", "Tides"]).status == 0)
        #expect(daemon.waitFor(task: "t1", project: project) { $0 == "parked" } == "parked")
        var metrics = ""
        for _ in 0..<100 where !metrics.contains(#"loom_notifications_total{outcome="failed"} 1"#) {
            usleep(50_000)
            metrics = daemon.ctl(["metrics"]).stdout
        }
        #expect(metrics.contains(#"loom_notifications_total{outcome="failed"} 1"#), "\(metrics)")
        #expect(daemon.log().contains("notifier for gate t1.g1 failed: exited 3: no mail server"), "\(daemon.log())")
        #expect(daemon.ctl(["approve", "t1", "-C", project]).status == 0, "the gate is answered as usual")
    }
}
