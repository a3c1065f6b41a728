/// `/metrics`: loomd's Prometheus text, as `loomctl metrics` prints it.
public enum MetricsPage {
    public static func render(_ text: String) -> String {
        Layout.page(
            "metrics",
            body:
                "<h1>Metrics</h1><p class=\"muted\">loomd's <code>metrics</code> method, Prometheus text format</p><pre>\(HTML.escape(text))</pre>",
            bodyAttributes: "data-refresh=\"15\""
        )
    }
}
