import CSQLite
import LoomValues

/// Every commit-time rule in force: the kernel's, each bundle version's (keyed by digest, so
/// a task is checked by the rules of the version it runs), and any an operator added
/// (replay with `--rules`). Rules are prepared once, against the real schema, so a
/// rule that does not compile or that would write is refused when the engine starts, not
/// in the middle of a tick.
final class RuleBook {
    private let kernel: [SQLRule]
    private var byBundle: [String: [SQLRule]] = [:]
    private let extra: [SQLRule]
    private var floors: [String: [String: SQLRule]] = [:]
    private let store: Store

    init(bundles: [LoomBundle], extraRules: [SQLRule], store: Store) throws(LoomError) {
        kernel = KernelRules.all
        extra = extraRules
        self.store = store
        try Self.compile(kernel + extraRules, store: store)
        for bundle in bundles { try add(bundle) }
    }

    /// Takes in a bundle version's rules (at start, or when a stored version is loaded).
    func add(_ bundle: LoomBundle) throws(LoomError) {
        guard byBundle[bundle.digest] == nil else { return }
        try Self.compile(bundle.rules + bundle.safetyFloor, store: store)
        byBundle[bundle.digest] = bundle.rules
        var named: [String: SQLRule] = [:]
        for rule in bundle.safetyFloor { named[rule.name] = rule }
        floors[bundle.digest] = named
    }

    /// Prepares each rule once against the real schema: it must compile, only read, and
    /// bind nothing but :task and :tick.
    private static func compile(_ rules: [SQLRule], store: Store) throws(LoomError) {
        for rule in rules {
            let statement: SQLiteStatement
            do {
                statement = try store.connection.prepareUncached(rule.sql)
            } catch {
                throw LoomError(
                    .bundle,
                    "rule \(rule.name) (\(rule.file)) does not compile: \(error.message)",
                    context: "loading rules"
                )
            }
            guard sqlite3_stmt_readonly(statement.handle) != 0 else {
                throw LoomError(
                    .bundle,
                    "rule \(rule.name) (\(rule.file)) would write; rules may only read",
                    context: "loading rules"
                )
            }
            for index in Int32(1)...max(1, statement.parameterCount) where index <= statement.parameterCount {
                let name = statement.parameterName(index) ?? "?"
                guard name == ":task" || name == ":tick" else {
                    throw LoomError(
                        .bundle,
                        "rule \(rule.name) (\(rule.file)) uses parameter \(name); only :task and :tick are bound",
                        context: "loading rules"
                    )
                }
            }
        }
    }

    /// The rules a task of `bundle` is checked against, with a key for the caches below.
    private func rules(bundle: String?, onlyAdded: Bool) -> (key: String, rules: [SQLRule]) {
        let key = (onlyAdded ? "+" : "*") + (bundle ?? "")
        if let rules = selected[key] { return (key, rules) }
        let inForce = kernel + (bundle.flatMap { byBundle[$0] } ?? [])
        // An operator's rule with the name and SQL of one in force is that rule, not a new one.
        let added = extra.filter { rule in !inForce.contains { $0.name == rule.name && $0.sql == rule.sql } }
        let rules = onlyAdded ? added : inForce + extra
        selected[key] = rules
        return (key, rules)
    }

    private var selected: [String: [SQLRule]] = [:]

    /// One statement per set of rules that asks every rule at once whether it has a row: the
    /// common case (nothing violated) costs one statement instead of one per rule.
    private var anyViolationSQL: [String: String] = [:]

    private func anyViolation(key: String, rules: [SQLRule]) -> String {
        if let sql = anyViolationSQL[key] { return sql }
        let sql = "SELECT " + rules.map { "EXISTS (\n\($0.sql)\n)" }.joined(separator: " OR ")
        anyViolationSQL[key] = sql
        return sql
    }

    /// Runs the rules that apply to `task` and returns those that found rows.
    /// - Parameter onlyAdded: only the operator's rules that are not in force for the task's
    ///   bundle version (replay: see `RuleChecking`); false runs every rule.
    func check(
        tx: Transaction,
        task: String,
        tick: Int64,
        bundle: String?,
        rowsMax: Int,
        onlyAdded: Bool = false
    ) throws(LoomError) -> [RuleViolation] {
        let (key, rules) = rules(bundle: bundle, onlyAdded: onlyAdded)
        guard !rules.isEmpty else { return [] }
        let probe = try tx.statement(anyViolation(key: key, rules: rules))
        probe.bindIfPresent(":task", task)
        probe.bindIfPresent(":tick", tick)
        let found = try probe.step() && probe.int64(0) != 0
        probe.reset()
        guard found else { return [] }
        var violations: [RuleViolation] = []
        for rule in rules {
            let rows = try run(rule, tx: tx, task: task, tick: tick, rowsMax: rowsMax)
            if !rows.isEmpty { violations.append(RuleViolation(rule: rule.name, message: rule.message, rows: rows)) }
        }
        return violations
    }

    /// The rows a safety-floor rule returns (nil if the bundle version has no such rule).
    func safetyFloorRows(
        tx: Transaction,
        bundle: String,
        rule name: String,
        task: String,
        tick: Int64
    ) throws(LoomError) -> [JSONValue]? {
        guard let rule = floors[bundle]?[name] else { return nil }
        return try run(rule, tx: tx, task: task, tick: tick, rowsMax: 50)
    }

    private func run(
        _ rule: SQLRule,
        tx: Transaction,
        task: String,
        tick: Int64,
        rowsMax: Int
    ) throws(LoomError) -> [JSONValue] {
        let statement: SQLiteStatement
        do {
            statement = try tx.statement(rule.sql)
        } catch {
            throw LoomError(
                error.code,
                "rule \(rule.name): \(error.message)",
                context: "checking rules at tick \(tick)"
            )
        }
        defer { statement.reset() }
        statement.bindIfPresent(":task", task)
        statement.bindIfPresent(":tick", tick)
        var rows: [JSONValue] = []
        do {
            while try statement.step() {
                rows.append(statement.rowObject())
                if rows.count >= rowsMax { break }
            }
        } catch {
            throw LoomError(
                error.code,
                "rule \(rule.name) failed: \(error.message)",
                context: "checking rules at tick \(tick)"
            )
        }
        return rows
    }
}
