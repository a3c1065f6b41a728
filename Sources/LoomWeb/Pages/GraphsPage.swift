/// `/graphs`: every bundle's flows, drawn.
public enum GraphsPage {
    public static func render(bundles: [String]) -> String {
        var body = "<h1>Flows</h1>"
        if bundles.isEmpty {
            body += "<p class=\"muted\">no bundles found in the dashboard's bundles directory (--bundles)</p>"
        }
        for bundle in bundles {
            body +=
                "<h2>\(HTML.escape(bundle))</h2><div class=\"graph\"><img alt=\"flows of \(HTML.escape(bundle))\" src=\"\(HTML.escape(FormFields.link("/bundle/graph.svg", [("bundle", bundle)])))\"></div>"
        }
        return Layout.page("flows", body: body)
    }
}
