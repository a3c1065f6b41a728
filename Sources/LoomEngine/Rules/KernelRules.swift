/// The kernel's own commit-time rules, as SQL data like any bundle's.
///
/// Each query returns the rows that violate it; any row rolls the tick back. They are scoped
/// with `:task` (every task the tick touched) and `:tick` so that each is an index lookup,
/// and their cost does not grow with history. A tick journals exactly one entry, so "this
/// tick's entry" is the journal's last row (a rowid lookup, no index on `tick` needed).
/// A list of three or more constants after IN makes SQLite build a temporary table on every
/// run, so a rule that tests a column against several values spells them out with OR.
enum KernelRules {
    static let file = "<kernel>"

    static let all: [SQLRule] = [
        SQLRule(
            name: "accepted_without_open_blocker",
            sql: """
                SELECT f.id AS finding, f.summary FROM tasks t JOIN findings f ON f.task_id = t.id
                WHERE t.id = :task AND t.status = 'done' AND f.status = 'open' AND f.severity = 'blocking'
                """,
            message: "an accepted task has no open blocking finding",
            file: file
        ),
        SQLRule(
            name: "human_gate_answered_by_human",
            sql: """
                SELECT event_id, decided_by FROM gates
                WHERE task_id = :task AND decided_tick = :tick AND requires_human = 1
                  AND (status = 'approved' OR status = 'changes_requested' OR status = 'abandoned') AND json_extract(decided_by, '$.kind') <> 'human'
                """,
            message: "a gate that needs a human is answered by a human principal",
            file: file
        ),
        SQLRule(
            name: "human_answer_names_its_gate",
            sql: """
                SELECT g.event_id FROM gates g
                WHERE g.task_id = :task AND g.decided_tick = :tick AND json_extract(g.decided_by, '$.kind') = 'human'
                  AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.seq = (SELECT max(seq) FROM journal) AND j.tick = :tick
                                  AND j.kind = 'gate_answered' AND json_extract(j.payload, '$.gate') = g.event_id)
                """,
            message: "a human answer names the gate event id it answers",
            file: file
        ),
        SQLRule(
            name: "no_self_approval",
            sql: """
                SELECT g.event_id, json_extract(g.decided_by, '$.id') AS principal FROM gates g, json_each(g.authors) a
                WHERE g.task_id = :task AND g.decided_tick = :tick AND g.status = 'approved'
                  AND a.value = json_extract(g.decided_by, '$.id')
                """,
            message: "no principal approves work it authored",
            file: file
        ),
        SQLRule(
            name: "finished_without_pending_effects",
            sql: """
                SELECT e.key FROM tasks t JOIN effects e ON e.task_id = t.id
                WHERE t.id = :task AND (t.status = 'done' OR t.status = 'abandoned' OR t.status = 'cancelled' OR t.status = 'failed') AND e.status = 'pending'
                """,
            message: "a finished task has no pending effects",
            file: file
        ),
        SQLRule(
            name: "spawns_within_cap",
            sql: """
                SELECT t.id, t.spawn_cap, count(*) AS spawns FROM tasks t JOIN effects e ON e.task_id = t.id AND e.kind = 'spawn'
                WHERE t.id = :task GROUP BY t.id HAVING count(*) > t.spawn_cap
                """,
            message: "a task's spawns never exceed its cap",
            file: file
        ),
        // Every in-flight task after the first: one index range read, stopping at the second,
        // where counting them first read the range twice.
        SQLRule(
            name: "one_task_in_flight",
            sql: """
                SELECT id, status FROM (SELECT id, status FROM tasks WHERE status = 'running'
                                        UNION ALL SELECT id, status FROM tasks WHERE status = 'parked')
                LIMIT -1 OFFSET 1
                """,
            message: "at most one task per project is in flight",
            file: file
        ),
        SQLRule(
            name: "journal_chain_linked",
            sql: """
                SELECT j.seq FROM journal j LEFT JOIN journal p ON p.seq = j.seq - 1
                WHERE j.seq = (SELECT max(seq) FROM journal) AND (j.tick <> :tick OR j.prev_hash IS NOT (CASE WHEN j.seq = 1 THEN zeroblob(32) ELSE p.hash END))
                """,
            message: "every journal entry links to the hash of the entry before it",
            file: file
        ),
    ]
}
