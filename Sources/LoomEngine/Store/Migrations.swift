/// The schema, as named, append-only migrations registered in one place.
///
/// Never edit or reorder a shipped migration: a database records the names it applied and
/// the store refuses a file whose history does not match (`schema_mismatch`). Add a new
/// entry at the end instead. `PRAGMA user_version` holds the count applied, so a file written
/// by a newer loom is recognised before anything is written to it.
enum Migrations {
    struct Migration {
        let name: String
        let sql: String
    }

    /// `PRAGMA application_id` of a loom database: "LOOM" in ASCII.
    static let applicationID: Int64 = 0x4C4F_4F4D

    static let all: [Migration] = [
        Migration(name: "0001_kernel", sql: kernelV1),
        Migration(name: "0002_bundle_versions", sql: bundleVersions),
        Migration(name: "0003_gates_by_decision", sql: gatesByDecision),
        Migration(name: "0004_chain_checkpoints", sql: chainCheckpoints),
    ]

    static var latestVersion: Int64 { Int64(all.count) }

    /// Tables every kernel rule and bundle rule may read. Vocabularies are closed with
    /// CHECK IN-lists and every JSON column is checked with `json_valid`, so a bug (or a
    /// hand edit through the kernel's own connection) cannot store a value the replayer
    /// could not reproduce.
    static let kernelV1 = """
        CREATE TABLE schema_migrations(
            version INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE
        ) STRICT;

        -- One row per durable tick: its single time token and the journal chain head after it.
        CREATE TABLE ticks(
            tick INTEGER PRIMARY KEY CHECK (tick >= 1),
            time_ms INTEGER NOT NULL,
            task_id TEXT NOT NULL,
            first_seq INTEGER NOT NULL,
            last_seq INTEGER NOT NULL CHECK (last_seq >= first_seq),
            chain_head BLOB NOT NULL CHECK (length(chain_head) = 32)
        ) STRICT;

        -- Every input to the machine, hash-chained (see docs/journal.md).
        CREATE TABLE journal(
            seq INTEGER PRIMARY KEY CHECK (seq >= 1),
            tick INTEGER NOT NULL,
            task_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('submitted', 'effect_result', 'gate_answered', 'timer_fired', 'cancelled', 'effect_retry', 'violation', 'refused')),
            actor TEXT NOT NULL CHECK (json_valid(actor)),
            payload TEXT NOT NULL CHECK (json_valid(payload)),
            prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
            hash BLOB NOT NULL CHECK (length(hash) = 32)
        ) STRICT;
        CREATE INDEX journal_by_task ON journal(task_id, seq);
        CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;
        CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, 'the journal is append-only'); END;

        CREATE TABLE tasks(
            id TEXT PRIMARY KEY,
            seq INTEGER NOT NULL UNIQUE,
            bundle TEXT NOT NULL,
            bundle_digest TEXT NOT NULL,
            flow TEXT NOT NULL,
            input TEXT NOT NULL,
            policy TEXT NOT NULL CHECK (json_valid(policy)),
            idempotency_key TEXT UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'parked', 'done', 'abandoned', 'cancelled', 'failed')),
            step_index INTEGER NOT NULL CHECK (step_index >= 0),
            step TEXT NOT NULL,
            iteration INTEGER NOT NULL CHECK (iteration >= 0),
            spawn_count INTEGER NOT NULL CHECK (spawn_count >= 0),
            spawn_cap INTEGER NOT NULL CHECK (spawn_cap >= 1),
            feedback TEXT NOT NULL,
            last_blockers TEXT NOT NULL CHECK (json_valid(last_blockers)),
            stalled INTEGER NOT NULL CHECK (stalled IN (0, 1)),
            submitted_by TEXT NOT NULL CHECK (json_valid(submitted_by)),
            outcome TEXT NOT NULL,
            created_tick INTEGER NOT NULL,
            updated_tick INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX tasks_by_status ON tasks(status, seq);

        -- The idempotency ledger: an effect's intent is committed with the state change that
        -- asked for it, its result with the state change that consumed it.
        CREATE TABLE effects(
            key TEXT PRIMARY KEY,
            task_id TEXT NOT NULL,
            step TEXT NOT NULL,
            unit TEXT NOT NULL,
            iteration INTEGER NOT NULL,
            attempt INTEGER NOT NULL CHECK (attempt >= 1),
            kind TEXT NOT NULL CHECK (kind IN ('spawn', 'command', 'timer', 'notify')),
            request TEXT NOT NULL CHECK (json_valid(request)),
            status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'cancelled')),
            result TEXT CHECK (result IS NULL OR json_valid(result)),
            intent_tick INTEGER NOT NULL,
            result_tick INTEGER,
            CHECK ((status = 'done') = (result IS NOT NULL))
        ) STRICT;
        CREATE INDEX effects_pending ON effects(task_id) WHERE status = 'pending';
        CREATE INDEX effects_by_step ON effects(task_id, step, iteration);
        CREATE INDEX effects_by_kind ON effects(task_id, kind);

        CREATE TABLE gates(
            event_id TEXT PRIMARY KEY,
            task_id TEXT NOT NULL,
            step TEXT NOT NULL,
            role TEXT NOT NULL,
            policy TEXT NOT NULL CHECK (policy IN ('human', 'on-blockers', 'auto')),
            requires_human INTEGER NOT NULL CHECK (requires_human IN (0, 1)),
            reasons TEXT NOT NULL CHECK (json_valid(reasons)),
            authors TEXT NOT NULL CHECK (json_valid(authors)),
            status TEXT NOT NULL CHECK (status IN ('waiting', 'approved', 'changes_requested', 'abandoned', 'cancelled')),
            decided_by TEXT CHECK (decided_by IS NULL OR json_valid(decided_by)),
            message TEXT NOT NULL,
            opened_tick INTEGER NOT NULL,
            decided_tick INTEGER,
            CHECK ((status = 'waiting') = (decided_by IS NULL))
        ) STRICT;
        CREATE INDEX gates_by_task ON gates(task_id, status);

        CREATE TABLE findings(
            id TEXT PRIMARY KEY,
            task_id TEXT NOT NULL,
            step TEXT NOT NULL,
            agent TEXT NOT NULL,
            iteration INTEGER NOT NULL,
            severity TEXT NOT NULL CHECK (severity IN ('blocking', 'warn', 'info')),
            status TEXT NOT NULL CHECK (status IN ('open', 'fixed', 'accepted_by_human', 'dismissed')),
            origin TEXT NOT NULL CHECK (origin IN ('agent', 'harness')),
            summary TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            details TEXT NOT NULL CHECK (json_valid(details)),
            created_tick INTEGER NOT NULL,
            updated_tick INTEGER NOT NULL
        ) STRICT;
        CREATE INDEX findings_by_task ON findings(task_id, step, agent);
        CREATE INDEX findings_open ON findings(task_id, severity) WHERE status = 'open';

        -- What each step produced; later prompts read it, bundle rules query it.
        CREATE TABLE step_outputs(
            task_id TEXT NOT NULL,
            step TEXT NOT NULL,
            unit TEXT NOT NULL,
            iteration INTEGER NOT NULL,
            attempt INTEGER NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('spawn', 'command')),
            valid INTEGER NOT NULL CHECK (valid IN (0, 1)),
            output TEXT NOT NULL CHECK (json_valid(output)),
            author TEXT NOT NULL,
            tick INTEGER NOT NULL,
            PRIMARY KEY (task_id, step, unit, iteration, attempt)
        ) STRICT;

        -- Rolled-back ticks, recorded in their own transaction.
        CREATE TABLE violations(
            tick INTEGER NOT NULL,
            task_id TEXT NOT NULL,
            rule TEXT NOT NULL,
            message TEXT NOT NULL,
            rows TEXT NOT NULL CHECK (json_valid(rows)),
            actor TEXT NOT NULL CHECK (json_valid(actor)),
            PRIMARY KEY (tick, rule)
        ) STRICT;
        """

    /// Every bundle version a task of the project ran, stored by the submission's tick: a
    /// project's database can then drive, replay and prove its tasks on its own, after the
    /// bundle on disk has moved on. Written once per digest; `task_id` is its first task.
    static let bundleVersions = """
        CREATE TABLE bundle_versions(
            digest TEXT PRIMARY KEY CHECK (length(digest) = 64),
            name TEXT NOT NULL,
            version TEXT NOT NULL,
            files TEXT NOT NULL CHECK (json_valid(files)),
            task_id TEXT NOT NULL,
            created_tick INTEGER NOT NULL
        ) STRICT;
        CREATE TRIGGER bundle_versions_no_update BEFORE UPDATE ON bundle_versions BEGIN SELECT RAISE(ABORT, 'a stored bundle version never changes'); END;
        CREATE TRIGGER bundle_versions_no_delete BEFORE DELETE ON bundle_versions BEGIN SELECT RAISE(ABORT, 'a stored bundle version never changes'); END;
        """

    /// Three kernel rules check the gates a tick decided (`decided_tick = :tick`); without
    /// this index each read every gate row of the task on every tick.
    static let gatesByDecision = """
        CREATE INDEX gates_by_decision ON gates(task_id, decided_tick);
        """

    /// Signed chain heads (docs/journal.md, "Checkpoints"). The kernel stores them as opaque
    /// bytes and never signs or checks a signature: the host holds the key, and the
    /// verifier checks it. Not part of a project's state (`TableDump.tables` leaves it out):
    /// replay reproduces the journal, and a signature is made with a key, not by the journal.
    /// One checkpoint per entry at most; append-only like the journal.
    static let chainCheckpoints = """
        CREATE TABLE chain_checkpoints(
            seq INTEGER PRIMARY KEY CHECK (seq >= 1),
            head BLOB NOT NULL CHECK (length(head) = 32),
            public_key BLOB NOT NULL CHECK (length(public_key) = 32),
            signature BLOB NOT NULL CHECK (length(signature) = 64)
        ) STRICT;
        CREATE TRIGGER chain_checkpoints_no_update BEFORE UPDATE ON chain_checkpoints BEGIN SELECT RAISE(ABORT, 'chain checkpoints are append-only'); END;
        CREATE TRIGGER chain_checkpoints_no_delete BEFORE DELETE ON chain_checkpoints BEGIN SELECT RAISE(ABORT, 'chain checkpoints are append-only'); END;
        """
}
