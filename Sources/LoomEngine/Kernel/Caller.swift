import LoomValues

/// Who decides: a person, an agent, a policy, or loom itself.
///
/// Principals are what the rules reason about ("no principal approves work it authored",
/// "a human gate is answered by a human"). Their `id` is stable text such as `uid:1000`,
/// `agent:writer` or `policy:auto`.
public struct Principal: Sendable, Hashable {
    public enum Kind: String, Sendable, CaseIterable {
        case human, agent, policy, system
    }

    public let kind: Kind
    public let id: String

    public init(kind: Kind, id: String) {
        self.kind = kind
        self.id = id
    }

    public static func human(uid: UInt32) -> Principal { Principal(kind: .human, id: "uid:\(uid)") }
    public static func agent(_ name: String) -> Principal { Principal(kind: .agent, id: "agent:\(name)") }
    public static let system = Principal(kind: .system, id: "system:loom")

    public var json: JSONValue { .object(["kind": .string(kind.rawValue), "id": .string(id)]) }

    public init?(json: JSONValue) {
        guard let kind = json["kind"]?.stringValue.flatMap(Kind.init(rawValue:)), let id = json["id"]?.stringValue
        else { return nil }
        self.init(kind: kind, id: id)
    }
}

/// The actor of one input: its principal and, when it came through a socket, the peer's
/// process identity. Journaled with every input so the audit trail says who did what.
public struct Caller: Sendable, Hashable {
    public let principal: Principal
    public let uid: UInt32?
    public let gid: UInt32?
    public let pid: Int32?
    public let executable: String?

    public init(
        principal: Principal,
        uid: UInt32? = nil,
        gid: UInt32? = nil,
        pid: Int32? = nil,
        executable: String? = nil
    ) {
        self.principal = principal
        self.uid = uid
        self.gid = gid
        self.pid = pid
        self.executable = executable
    }

    public static let system = Caller(principal: .system)

    public var json: JSONValue {
        var object: [String: JSONValue] = ["principal": principal.json]
        if let uid { object["uid"] = .int(Int64(uid)) }
        if let gid { object["gid"] = .int(Int64(gid)) }
        if let pid { object["pid"] = .int(Int64(pid)) }
        if let executable { object["exe"] = .string(executable) }
        return .object(object)
    }

    /// `json`'s canonical encoding, written in key order (exe, gid, pid, principal, uid)
    /// without building and sorting an object: every tick journals its caller.
    var canonicalBytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + principal.id.utf8.count + (executable?.utf8.count ?? 0))
        var separator: UInt8 = 0x7B  // { before the first member, a comma before the others
        func key(_ name: StaticString) {
            out.append(separator)
            separator = 0x2C
            out.append(0x22)
            out.append(contentsOf: UnsafeBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount))
            out.append(0x22)
            out.append(0x3A)
        }
        if let executable {
            key("exe")
            JSONCanonicalEncoder.appendString(executable, &out)
        }
        if let gid {
            key("gid")
            JSONCanonicalEncoder.appendInt(Int64(gid), &out)
        }
        if let pid {
            key("pid")
            JSONCanonicalEncoder.appendInt(Int64(pid), &out)
        }
        key("principal")
        out += #"{"id":"#.utf8
        JSONCanonicalEncoder.appendString(principal.id, &out)
        out += #","kind":"#.utf8
        JSONCanonicalEncoder.appendString(principal.kind.rawValue, &out)
        out.append(0x7D)
        if let uid {
            key("uid")
            JSONCanonicalEncoder.appendInt(Int64(uid), &out)
        }
        out.append(0x7D)
        return out
    }

    public init?(json: JSONValue) {
        guard let principal = json["principal"].flatMap(Principal.init(json:)) else { return nil }
        self.init(
            principal: principal,
            uid: json["uid"]?.intValue.flatMap { UInt32(exactly: $0) },
            gid: json["gid"]?.intValue.flatMap { UInt32(exactly: $0) },
            pid: json["pid"]?.intValue.flatMap { Int32(exactly: $0) },
            executable: json["exe"]?.stringValue
        )
    }
}
