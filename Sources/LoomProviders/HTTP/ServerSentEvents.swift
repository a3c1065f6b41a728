/// An incremental parser for `text/event-stream` (the WHATWG server-sent events format),
/// fed one line at a time by a `LineBuffer`.
///
/// `event:` names the event, `data:` lines join with `\n`, a comment starts with `:`, and
/// a blank line dispatches. An event's data is bounded like everything else.
public struct ServerSentEvents: Sendable {
    public struct Event: Sendable, Equatable {
        public var name: String
        public var data: String
    }

    public struct EventTooLarge: Error, Sendable, Equatable {
        public let limitBytes: Int
    }

    public let eventMaxBytes: Int
    private var name = ""
    private var data: [String] = []
    private var dataBytes = 0

    public init(eventMaxBytes: Int) {
        self.eventMaxBytes = eventMaxBytes
    }

    /// Feeds one line; returns the event it completed, if any.
    public mutating func feed(_ line: String) throws(EventTooLarge) -> Event? {
        if line.isEmpty {
            defer {
                name = ""
                data = []
                dataBytes = 0
            }
            guard !data.isEmpty else { return nil }
            return Event(name: name.isEmpty ? "message" : name, data: data.joined(separator: "\n"))
        }
        if line.hasPrefix(":") { return nil }
        let field: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            field = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            field = line[...]
            value = ""
        }
        switch field {
        case "event": name = String(value)
        case "data":
            dataBytes += value.utf8.count + 1
            guard dataBytes <= eventMaxBytes else { throw EventTooLarge(limitBytes: eventMaxBytes) }
            data.append(String(value))
        default: break  // id, retry: nothing a one-shot completion needs
        }
        return nil
    }
}
