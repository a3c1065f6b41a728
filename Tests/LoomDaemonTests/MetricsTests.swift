import Dispatch
import Foundation
import Testing

@testable import LoomDaemon

/// PrometheusText and Histogram, checked against the text-format rules and then by a real
/// parser: prometheus_client's (Python), which rejects malformed lines, bad escapes and
/// duplicate families.
@Suite("Metrics")
struct MetricsTests {
    /// How long the Python parser may take before the test gives up on it.
    static let parserTimeoutSeconds = 30.0

    /// Prints the family count, then one JSON object per family with its samples.
    static let parserScript = """
        import sys, json
        from prometheus_client.parser import text_string_to_metric_families as p
        fams = list(p(sys.stdin.read()))
        print(len(fams))
        for f in fams:
            print(json.dumps({"name": f.name, "type": f.type, "help": f.documentation,
                              "samples": [{"name": s.name, "labels": s.labels, "value": repr(s.value)}
                                          for s in f.samples]}))
        """

    static let awkwardPath = #"C:\loom "quoted"\#nsecond line"#

    static func exposition() -> (text: String, histogram: Histogram) {
        let histogram = Histogram.secondsDefault()
        for value in [0.0001, 0.0007, 0.003, 0.003, 0.2, 1.5, 45, 120] { histogram.observe(value) }
        var text = PrometheusText()
        text.counter(
            "loom_test_spawns_total",
            help: "Spawns by outcome.",
            [
                (labels: [("outcome", "ok")], value: 12),
                (labels: [("outcome", "timeout")], value: 3),
            ]
        )
        text.gauge(
            "loom_test_queue_depth",
            help: "Queued tasks per project.\nSecond line with a \\ backslash.",
            [
                (labels: [("project", awkwardPath), ("state", "queued")], value: 4),
                (labels: [("project", "/srv/loom/é")], value: 0.25),
                (labels: [], value: .infinity),
            ]
        )
        text.histogram(
            "loom_test_tick_duration_seconds",
            help: "Time to commit one tick.",
            histogram,
            labels: [("project", "/srv/loom/app")]
        )
        return (text.text, histogram)
    }

    @Test func expositionHasTheExactLines() {
        let text = Self.exposition().text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(text.hasSuffix("\n"))
        #expect(
            Array(lines.prefix(13)) == [
                "# HELP loom_test_spawns_total Spawns by outcome.",
                "# TYPE loom_test_spawns_total counter",
                #"loom_test_spawns_total{outcome="ok"} 12"#,
                #"loom_test_spawns_total{outcome="timeout"} 3"#,
                #"# HELP loom_test_queue_depth Queued tasks per project.\nSecond line with a \\ backslash."#,
                "# TYPE loom_test_queue_depth gauge",
                #"loom_test_queue_depth{project="C:\\loom \"quoted\"\nsecond line",state="queued"} 4"#,
                #"loom_test_queue_depth{project="/srv/loom/é"} 0.25"#,
                "loom_test_queue_depth +Inf",
                "# HELP loom_test_tick_duration_seconds Time to commit one tick.",
                "# TYPE loom_test_tick_duration_seconds histogram",
                #"loom_test_tick_duration_seconds_bucket{project="/srv/loom/app",le="0.0005"} 1"#,
                #"loom_test_tick_duration_seconds_bucket{project="/srv/loom/app",le="0.001"} 2"#,
            ]
        )
        #expect(
            lines.suffix(4) == [
                #"loom_test_tick_duration_seconds_bucket{project="/srv/loom/app",le="+Inf"} 8"#,
                #"loom_test_tick_duration_seconds_sum{project="/srv/loom/app"} 166.7068"#,
                #"loom_test_tick_duration_seconds_count{project="/srv/loom/app"} 8"#,
                "",
            ]
        )
    }

    @Test func histogramBucketsAreCumulativeAndEndAtInfEqualToCount() throws {
        let text = Self.exposition().text
        let name = "loom_test_tick_duration_seconds"
        let bucketLines = text.split(separator: "\n").filter { $0.hasPrefix(name + "_bucket") }
        let counts = try bucketLines.map { line in try #require(UInt64(line.split(separator: " ").last ?? "")) }
        #expect(bucketLines.count == Histogram.secondsDefault().bounds.count + 1)
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 <= $1 }, "bucket counts go down: \(counts)")
        let last = try #require(bucketLines.last)
        #expect(last.contains(#"le="+Inf""#))
        let countLine = try #require(text.split(separator: "\n").first { $0.hasPrefix(name + "_count") })
        #expect(last.split(separator: " ").last == countLine.split(separator: " ").last)
    }

    @Test func realParserAcceptsTheExposition() throws {
        let families = try Self.parse(Self.exposition().text)
        try #require(families.count == 3)

        #expect(families[0].name == "loom_test_spawns")  // the parser drops _total from counter families
        #expect(families[0].type == "counter")
        #expect(families[0].samples.map(\.name) == ["loom_test_spawns_total", "loom_test_spawns_total"])
        #expect(families[0].samples.map(\.labels) == [["outcome": "ok"], ["outcome": "timeout"]])
        #expect(families[0].samples.map { Double($0.value) } == [12, 3])

        #expect(families[1].name == "loom_test_queue_depth")
        #expect(families[1].type == "gauge")
        #expect(families[1].help == "Queued tasks per project.\nSecond line with a \\ backslash.")
        // Escaped label values come back as they went in.
        #expect(
            families[1].samples.map(\.labels) == [
                ["project": Self.awkwardPath, "state": "queued"], ["project": "/srv/loom/é"], [:],
            ]
        )
        #expect(families[1].samples.map { Double($0.value) } == [4, 0.25, .infinity])

        let histogram = families[2]
        #expect(histogram.name == "loom_test_tick_duration_seconds")
        #expect(histogram.type == "histogram")
        let buckets = histogram.samples.filter { $0.name.hasSuffix("_bucket") }
        let counts = buckets.compactMap { Double($0.value) }
        #expect(buckets.count == Histogram.secondsDefault().bounds.count + 1)
        #expect(zip(counts, counts.dropFirst()).allSatisfy { $0 <= $1 })
        #expect(buckets.last?.labels == ["project": "/srv/loom/app", "le": "+Inf"])
        let count = histogram.samples.first { $0.name.hasSuffix("_count") }.flatMap { Double($0.value) }
        #expect(counts.last == 8 && count == 8)
        let sum = try #require(histogram.samples.first { $0.name.hasSuffix("_sum") }.flatMap { Double($0.value) })
        #expect(abs(sum - 166.7068) < 1e-9)
    }

    @Test func realParserReadsSpecialValuesAndEmptyFamilies() throws {
        var text = PrometheusText()
        text.gauge(
            "loom_test_specials",
            help: "",
            [
                (labels: [("v", "inf")], value: .infinity),
                (labels: [("v", "-inf")], value: -.infinity),
                (labels: [("v", "nan")], value: .nan),
                (labels: [("v", "tiny")], value: 1e-7),
                (labels: [("v", "huge")], value: 1e300),
                (labels: [("v", "negative")], value: -3),
            ]
        )
        text.counter("loom_test_nothing_yet_total", help: "No samples yet.", [])
        text.histogram("loom_test_empty_seconds", help: "Never observed.", Histogram(bounds: []))
        let families = try Self.parse(text.text)
        try #require(families.count == 3)
        let values = families[0].samples.map { Double($0.value) ?? 0 }
        #expect(values[0] == .infinity && values[1] == -.infinity && values[2].isNaN)
        #expect(values[3] == 1e-7 && values[4] == 1e300 && values[5] == -3)
        #expect(families[1].samples.isEmpty)
        #expect(
            families[2].samples.map(\.name) == [
                "loom_test_empty_seconds_bucket", "loom_test_empty_seconds_sum", "loom_test_empty_seconds_count",
            ]
        )
    }

    @Test(arguments: [
        (0.0, "0"), (3.0, "3"), (-3.0, "-3"), (0.25, "0.25"), (0.0005, "0.0005"), (1e-7, "1e-07"),
        (1e300, "1e+300"), (9_007_199_254_740_991, "9007199254740991"),
        (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"), (Double.nan, "NaN"),
    ])
    func numbers(value: Double, spelled: String) {
        #expect(PrometheusFormat.number(value) == spelled)
    }

    @Test func names() {
        for good in ["a", "_", ":", "loom_x_total", "a:b_c9", "A"] {
            #expect(PrometheusFormat.isValidMetricName(good), "\(good)")
        }
        for bad in [
            "", "9a", "a-b", "a b", "é", "a.b", String(repeating: "a", count: PrometheusFormat.nameByteLimit + 1),
        ] {
            #expect(!PrometheusFormat.isValidMetricName(bad), "\(bad)")
        }
        for good in ["a", "_a", "le", "project_root9"] { #expect(PrometheusFormat.isValidLabelName(good), "\(good)") }
        for bad in ["", "a:b", "9a", "__name__", "a-b"] { #expect(!PrometheusFormat.isValidLabelName(bad), "\(bad)") }
    }

    @Test func escapingAndLimits() {
        #expect(PrometheusFormat.escapeLabelValue(#"a\b"c"# + "\nd") == #"a\\b\"c\nd"#)
        #expect(PrometheusFormat.escapeHelp(#"a\b"c"# + "\nd") == #"a\\b"c\nd"#)
        let long = String(repeating: "é", count: PrometheusFormat.labelValueByteLimit)
        #expect(PrometheusFormat.escapeLabelValue(long).utf8.count == PrometheusFormat.labelValueByteLimit)
        #expect(PrometheusFormat.truncated("aé", toBytes: 2) == "a")
    }

    @Test func histogramCountsFromManyThreads() {
        let histogram = Histogram(bounds: [1, 2])
        let threads = 8, perThread = 10_000
        DispatchQueue.concurrentPerform(iterations: threads) { index in
            for _ in 0..<perThread { histogram.observe(index.isMultiple(of: 2) ? 1 : 3) }
        }
        let snapshot = histogram.snapshot()
        #expect(snapshot.count == UInt64(threads * perThread))
        #expect(snapshot.sum == Double(threads / 2 * perThread) * 4)
        #expect(snapshot.buckets.map(\.count) == [40_000, 40_000, 80_000])
        #expect(snapshot.buckets.map(\.bound) == [1, 2, .infinity])
    }

    @Test func histogramBucketsByUpperBoundInclusive() {
        let histogram = Histogram(bounds: [0.1, 1])
        for value in [0.1, 0.10000001, 1, 1.5, -5, .nan] { histogram.observe(value) }
        let snapshot = histogram.snapshot()
        // 0.1 and -5 in le=0.1; 0.10000001 and 1 add to le=1; 1.5 and NaN only in +Inf.
        #expect(snapshot.buckets.map(\.count) == [2, 4, 6])
        #expect(snapshot.count == 6)
        #expect(snapshot.sum.isNaN)
    }

    @Test func badNamesStopTheProgram() async {
        await #expect(processExitsWith: .failure) {
            var text = PrometheusText()
            text.gauge("loom-bad", help: "", [])
        }
        await #expect(processExitsWith: .failure) {
            var text = PrometheusText()
            text.counter("loom_spawns", help: "", [])
        }
        await #expect(processExitsWith: .failure) {
            var text = PrometheusText()
            text.gauge("loom_a", help: "", [])
            text.gauge("loom_a", help: "", [])
        }
    }

    // MARK: - The real parser

    struct Family: Decodable {
        struct Sample: Decodable {
            var name: String
            var labels: [String: String]
            var value: String  // Python's repr: "12.0", "inf", "nan"
        }
        var name: String
        var type: String
        var help: String
        var samples: [Sample]
    }

    /// Runs prometheus_client's parser on `text`. Fails (never skips) when python3 or the
    /// package is missing: a metrics test that passes without its parser proves nothing.
    static func parse(_ text: String) throws -> [Family] {
        let probe = try run(["python3", "-c", "import prometheus_client"], input: "")
        guard probe.status == 0 else {
            throw ParserFailure(
                description: """
                    python3 cannot import prometheus_client, which this test uses as the reference parser; \
                    install it with `python3 -m pip install prometheus_client` (scripts/test does). \
                    python3 said: \(probe.error)
                    """
            )
        }
        let result = try run(["python3", "-c", parserScript], input: text)
        guard result.status == 0 else {
            throw ParserFailure(
                description: """
                    prometheus_client rejected the exposition:
                    \(result.error)
                    --- exposition ---
                    \(text)
                    """
            )
        }
        var lines = result.output.split(separator: "\n").map(String.init)
        let count = try #require(lines.isEmpty ? nil : Int(lines.removeFirst()))
        let families = try lines.map { try JSONDecoder().decode(Family.self, from: Data($0.utf8)) }
        #expect(families.count == count)
        return families
    }

    struct ParserFailure: Error, CustomStringConvertible {
        var description: String
    }

    static func run(_ arguments: [String], input: String) throws -> (status: Int32, output: String, error: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        let stdin = Pipe(), stdout = Pipe(), stderr = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stderr
        try process.run()
        // A hung interpreter must fail the test, not hang the suite.
        let deadline = DispatchWorkItem { if process.isRunning { process.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + parserTimeoutSeconds, execute: deadline)
        // Read both streams off this thread while writing, so a large input or output can
        // not deadlock on a full pipe.
        let group = DispatchGroup()
        nonisolated(unsafe) var outputData = Data(), errorData = Data()
        DispatchQueue.global().async(group: group) { outputData = stdout.fileHandleForReading.readDataToEndOfFile() }
        DispatchQueue.global().async(group: group) { errorData = stderr.fileHandleForReading.readDataToEndOfFile() }
        try stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        group.wait()
        process.waitUntilExit()
        deadline.cancel()
        return (
            process.terminationStatus,
            String(decoding: outputData, as: UTF8.self),
            String(decoding: errorData, as: UTF8.self)
        )
    }
}
