/// `bundles`: the names of the bundles loomd has loaded, and the default one.
public enum Bundles: IPCMethod {
    public static let name = "bundles"
    public typealias Params = NoParams

    public struct Result: IPCMessage, Codable, Equatable {
        public var bundles: [String]
        /// What a submission that names no bundle runs.
        public var defaultBundle: String

        private enum CodingKeys: String, CodingKey {
            case bundles
            case defaultBundle = "default"
        }

        public init(bundles: [String], defaultBundle: String) {
            self.bundles = bundles
            self.defaultBundle = defaultBundle
        }
    }
}
