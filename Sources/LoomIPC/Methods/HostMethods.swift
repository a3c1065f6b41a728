/// `hosts.attach`: an agent host (an MCP client's session) says it runs steps for loomd.
public enum HostsAttach: IPCMethod {
    public static let name = "hosts.attach"
    public typealias Params = NoParams
    /// `hosts` (the attached host pids) and `principal` (who loomd takes the caller for).
    public typealias Result = Document
}

/// `effects.pending`: the agent steps waiting for a host, oldest first.
public enum EffectsPending: IPCMethod {
    public static let name = "effects.pending"
    /// `project` and `effects` (key, task, step, role, prompt, …).
    public typealias Result = Document

    public struct Params: IPCCodableParams {
        public var project: String?
        public var task: String?
        public var limit: Int64?

        public init(project: String? = nil, task: String? = nil, limit: Int64? = nil) {
            self.project = project
            self.task = task
            self.limit = limit
        }
    }
}

/// `effects.deliver`: a host's result for one pending step (its output, or why it could not
/// be done), with the session that did it.
public enum EffectsDeliver: IPCMethod {
    public static let name = "effects.deliver"

    /// Token counts as the host's model reported them.
    public struct Usage: Codable, Sendable, Equatable {
        public var tokensIn: Int64?
        public var tokensOut: Int64?
        public var tokensCached: Int64?

        private enum CodingKeys: String, CodingKey {
            case tokensIn = "in"
            case tokensOut = "out"
            case tokensCached = "cached"
        }
    }

    public struct Params: IPCCodableParams {
        public var project: String?
        public var key: String?
        public var session: String?
        public var output: String?
        public var error: String?
        public var usage: Usage?
        public var model: String?

        public init(
            project: String?,
            key: String,
            session: String,
            output: String? = nil,
            error: String? = nil,
            model: String? = nil
        ) {
            self.project = project
            self.key = key
            self.session = session
            self.output = output
            self.error = error
            self.model = model
        }
    }

    public struct Result: IPCMessage, Codable, Equatable {
        public var key: String
        public var task: String
        /// What became of the delivery (`applied`, `duplicate`, `discarded`).
        public var outcome: String
        /// Who the journal names as the step's author (`host:<session>`).
        public var author: String

        public init(key: String, task: String, outcome: String, author: String) {
            self.key = key
            self.task = task
            self.outcome = outcome
            self.author = author
        }
    }
}
