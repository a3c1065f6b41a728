import LoomValues

/// `metrics`: loomd's metrics in Prometheus' text format 0.0.4.
public enum Metrics: IPCMethod {
    public static let name = "metrics"
    public typealias Params = NoParams

    public struct Result: IPCMessage, Equatable {
        public var text: String
        public init(text: String) { self.text = text }
        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "result")
            text = try fields.required("text", fields.string)
        }
        public var json: JSONValue { .object(["text": .string(text)]) }
    }
}
