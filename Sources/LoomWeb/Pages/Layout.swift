/// The frame around every page: navigation, the stylesheet and the script, and the
/// security headers' counterpart in markup (no inline script, so the CSP can forbid it).
public enum Layout {
    public static func page(_ title: String, body: String, bodyAttributes: String = "") -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="referrer" content="no-referrer">
        <title>\(HTML.escape(title)) · loom</title>
        <link rel="stylesheet" href="/static/dashboard.css">
        <script src="/static/dashboard.js" defer></script>
        </head><body \(bodyAttributes)>
        <nav><b>loom</b> <a href="/">fleet</a> <a href="/submit">submit</a> <a href="/graphs">flows</a> <a href="/models">models</a> <a href="/metrics">metrics</a></nav>
        <main>
        \(body)
        </main></body></html>
        """
    }

    /// The hidden field every form carries.
    public static func csrfField(_ token: String) -> String {
        "<input type=\"hidden\" name=\"\(AccessGuard.csrfField)\" value=\"\(HTML.escape(token))\">"
    }

    public static func errorPage(_ error: DashboardError) -> String {
        page(
            "error",
            body:
                "<h1>\(error.httpStatus) \(HTML.escape(error.code.rawValue))</h1><p class=\"problem\">\(HTML.escape(Redactor.redact(error.description)))</p><p><a href=\"/\">back to the fleet</a></p>"
        )
    }
}
