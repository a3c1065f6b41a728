import LoomValues

/// `/models`: the fallback chains from models.json in loomd's state directory. secrets.json,
/// beside it, is never opened; any value under a secret-sounding key is masked anyway.
public enum ModelsPage {
    public static func render(path: String, models: JSONValue?, problem: String?) -> String {
        var body =
            "<h1>Models</h1><p class=\"muted\">\(HTML.escape(path)) — change with <code>loomctl models set ROLE provider:model,…</code>; loomd reads it at each spawn.</p>"
        if let problem { body += "<p class=\"problem\">\(HTML.escape(problem))</p>" }
        if let models {
            let masked = mask(models)
            if let object = masked.objectValue {
                body += "<table id=\"models\"><tr><th>name</th><th>chain or value</th></tr>"
                for key in object.keys.sorted() {
                    if let inner = object[key]?.objectValue {
                        for innerKey in inner.keys.sorted() {
                            body +=
                                "<tr><td>\(HTML.escape(key)) \(HTML.escape(innerKey))</td><td>\(HTML.escape(chain(inner[innerKey]!)))</td></tr>"
                        }
                    } else {
                        body += "<tr><td>\(HTML.escape(key))</td><td>\(HTML.escape(chain(object[key]!)))</td></tr>"
                    }
                }
                body += "</table>"
            }
            body +=
                "<details><summary>models.json</summary><pre>\(HTML.escape(Redactor.redact(masked.canonicalText)))</pre></details>"
        }
        return Layout.page("models", body: body)
    }

    static func chain(_ value: JSONValue) -> String {
        if let array = value.arrayValue {
            return array.map { $0.stringValue ?? $0.canonicalText }.joined(separator: " → ")
        }
        return value.stringValue ?? value.canonicalText
    }

    /// Masks every value under a key that names a secret, at any depth.
    static func mask(_ value: JSONValue) -> JSONValue {
        if let object = value.objectValue {
            var out: [String: JSONValue] = [:]
            for (key, inner) in object { out[key] = Redactor.isSecretName(key) ? .string(Redactor.mask) : mask(inner) }
            return .object(out)
        }
        if let array = value.arrayValue { return .array(array.map(mask)) }
        if let text = value.stringValue { return .string(Redactor.redact(text)) }
        return value
    }
}
