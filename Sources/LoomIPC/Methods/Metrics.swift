/// `metrics`: loomd's metrics in Prometheus' text format 0.0.4.
public enum Metrics: IPCMethod {
    public static let name = "metrics"
    public typealias Params = NoParams

    public struct Result: IPCMessage, Codable, Equatable {
        public var text: String

        public init(text: String) {
            self.text = text
        }
    }
}
