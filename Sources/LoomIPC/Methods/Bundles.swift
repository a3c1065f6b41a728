import LoomValues

/// `bundles`: the names of the bundles loomd has loaded, and the default one.
public enum Bundles: IPCMethod {
    public static let name = "bundles"
    public typealias Params = NoParams

    public struct Result: IPCMessage, Equatable {
        public var bundles: [String]
        /// What a submission that names no bundle runs.
        public var defaultBundle: String

        public init(bundles: [String], defaultBundle: String) {
            self.bundles = bundles
            self.defaultBundle = defaultBundle
        }

        public init(json: JSONValue) throws(IPCError) {
            let fields = try IPCFields(json, "result")
            bundles = try fields.required("bundles", fields.strings)
            defaultBundle = try fields.required("default", fields.string)
        }

        public var json: JSONValue { .object(["bundles": .array(bundles.map(JSONValue.string)), "default": .string(defaultBundle)]) }
    }
}
