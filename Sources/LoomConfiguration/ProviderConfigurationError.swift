/// A configuration file (models, secrets, prices) that cannot be used, and why.
///
/// The message names the file and the entry so that a person can fix it; it never
/// contains a secret's value.
public struct ProviderConfigurationError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        case io
        case invalidJSON = "invalid_json"
        case invalidValue = "invalid_value"
        /// The secrets file can be read by someone other than its owner.
        case insecurePermissions = "insecure_permissions"
        case tooLarge = "too_large"
    }

    public let code: Code
    public let message: String
    /// What was being done ("loading /var/lib/loom/models.json").
    public let context: String

    public init(_ code: Code, _ message: String, context: String) {
        self.code = code
        self.message = message
        self.context = context
    }

    public var description: String { "\(message) (\(context))" }
}
