/// Builds one exposition in Prometheus text format 0.0.4. Families are written in the order
/// they are added; each with # HELP and # TYPE.
///
/// Names are checked with preconditions: they are constants in loomd's code, so a bad one is
/// a programming error that must show in the first test run, not a malformed scrape that
/// Prometheus drops whole in production. Label *values* and help texts come from run-time
/// data, so they are escaped (and cut at `PrometheusFormat`'s byte limits) instead.
public struct PrometheusText: Sendable {
    /// Most families in one exposition. loomd writes about fifteen; far more means a name is
    /// being built from data, which would make series without bound.
    public static let familyLimit = 256

    private var output = ""
    private var familyNames: Set<String> = []

    public init() {}

    /// A counter family. `name` must end in `_total` (the convention the OpenMetrics-aware
    /// parsers expect); values should only ever grow.
    public mutating func counter(_ name: String, help: String, _ samples: [(labels: [(String, String)], value: Double)])
    {
        precondition(name.hasSuffix("_total"), "PrometheusText: counter \(name) must end in _total")
        begin(name, help: help, type: "counter")
        for sample in samples { line(name, sample.labels, sample.value) }
    }

    /// A gauge family: values that go up and down.
    public mutating func gauge(_ name: String, help: String, _ samples: [(labels: [(String, String)], value: Double)]) {
        begin(name, help: help, type: "gauge")
        for sample in samples { line(name, sample.labels, sample.value) }
    }

    /// A histogram family from one snapshot of `histogram`: cumulative `_bucket` lines ending
    /// with `le="+Inf"`, then `_sum` and `_count`. `labels` go on every line, before `le`.
    public mutating func histogram(
        _ name: String,
        help: String,
        _ histogram: Histogram,
        labels: [(String, String)] = []
    ) {
        precondition(
            !labels.contains { $0.0 == "le" },
            "PrometheusText: histogram \(name) may not have a label named le"
        )
        begin(name, help: help, type: "histogram")
        let snapshot = histogram.snapshot()
        for bucket in snapshot.buckets {
            line(name + "_bucket", labels + [("le", PrometheusFormat.number(bucket.bound))], Double(bucket.count))
        }
        line(name + "_sum", labels, snapshot.sum)
        line(name + "_count", labels, Double(snapshot.count))
    }

    /// The exposition: every line ends in a newline, as the format requires.
    public var text: String { output }

    private mutating func begin(_ name: String, help: String, type: String) {
        precondition(PrometheusFormat.isValidMetricName(name), "PrometheusText: invalid metric name \(name)")
        precondition(familyNames.count < Self.familyLimit, "PrometheusText: more than \(Self.familyLimit) families")
        // A second family of the same name would make the scrape invalid as a whole.
        precondition(familyNames.insert(name).inserted, "PrometheusText: family \(name) added twice")
        output += "# HELP \(name) \(PrometheusFormat.escapeHelp(help))\n"
        output += "# TYPE \(name) \(type)\n"
    }

    private mutating func line(_ name: String, _ labels: [(String, String)], _ value: Double) {
        precondition(
            labels.count <= PrometheusFormat.labelsPerSampleLimit,
            "PrometheusText: more than \(PrometheusFormat.labelsPerSampleLimit) labels on \(name)"
        )
        output += name
        if !labels.isEmpty {
            var seen: Set<String> = []
            output += "{"
            for (index, (label, value)) in labels.enumerated() {
                precondition(
                    PrometheusFormat.isValidLabelName(label),
                    "PrometheusText: invalid label name \(label) on \(name)"
                )
                precondition(seen.insert(label).inserted, "PrometheusText: label \(label) twice on \(name)")
                if index > 0 { output += "," }
                output += "\(label)=\"\(PrometheusFormat.escapeLabelValue(value))\""
            }
            output += "}"
        }
        output += " \(PrometheusFormat.number(value))\n"
    }
}
