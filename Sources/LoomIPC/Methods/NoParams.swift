import LoomValues

/// The params of a method that takes none.
public struct NoParams: IPCParams, Equatable {
    public static let fields: [String] = []
    public init() {}
    public init(json: JSONValue) throws(IPCError) { _ = try IPCCoding.members(of: json, "params") }
    public var json: JSONValue { .object([:]) }
}
