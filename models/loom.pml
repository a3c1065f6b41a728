/*
 * loom's protocol at the level of the design (docs/ARCHITECTURE.md, "The model"):
 * tasks whose effects have an intent and a result in a durable ledger, gates with event
 * ids, answers from people and from agents, a daemon that may crash at any step and
 * recovers by re-issuing intents without results, and deliveries that may come late,
 * twice, or after the effect's task was cancelled.
 *
 * Each task runs two rounds: an effect, then a gate; the second approval ends it. Effect
 * keys are (task, round). State that lives in SQLite survives a crash; the daemon's memory
 * (what it is running) does not; messages in flight (deliveries from executions and hosts,
 * answers from people and agents) outlive the daemon that caused them, which is harsher
 * than the real loomd, whose executions die with it.
 *
 * Properties: assertions (no result applied twice, no gate decided by an agent, a stale
 * answer never applies, no acknowledged answer lost) and the LTL formula `progress`
 * (every running task eventually parks at a gate or ends, under weak fairness).
 * -DBROKEN drops the ledger's "already has a result" check: its counterexample is a
 * result applied twice.
 */

#ifndef N
#define N 3          /* tasks */
#endif
#ifndef CRASHES
#define CRASHES 2    /* daemon crashes */
#endif
#ifndef POOL
#define POOL 2       /* effects running at once */
#endif
#define ROUNDS 2
#define HUMAN 0
#define AGENT 1

mtype = { RUNNING, PARKED, DONE, CANCELLED };

/* Durable: the project database. */
mtype status[N];
bool intent[N];          /* the current round's effect has an intent */
bool result[N];          /* ... and a result */
byte round[N];
byte applied[N * ROUNDS];/* times each key's result was applied */
byte gid[N];             /* the last gate event id minted (0: none) */
bool waiting[N];
byte decided[N];         /* the last gate event id decided */
bit decidedBy[N];        /* who decided it */

/* Outside: what clients were told. */
byte acked[N];           /* the last gate event id whose answer was acknowledged */

/* The daemon's memory: lost at a crash. */
bool inflight[N];
byte running;
byte crashes;

/* Budgets for the adversary, so the state space is finite and the model exhaustive. */
byte duplicates, staleAnswers, agentAnswers, cancels;
byte asked[N];           /* the gate event id a person last answered (one answer per gate) */

chan deliveries = [2] of { byte, byte };   /* task, round */
chan answers = [2] of { byte, byte, bit };  /* task, gate event id, who */

inline applyResult(t, r) {
    if
    :: status[t] == CANCELLED -> skip                       /* discarded: its task ended */
#ifndef BROKEN
    :: status[t] != CANCELLED && (r != round[t] || result[t]) -> skip /* duplicate: the recorded outcome */
    :: status[t] != CANCELLED && r == round[t] && !result[t] ->
#else
    :: status[t] != CANCELLED && r != round[t] -> skip
    :: status[t] != CANCELLED && r == round[t] ->
#endif
        result[t] = 1;
        applied[t * ROUNDS + r]++;
        assert(applied[t * ROUNDS + r] == 1);               /* no result applied twice */
        status[t] = PARKED;
        gid[t]++;
        waiting[t] = 1
    fi
}

inline applyAnswer(t, g, who) {
    if
    :: who == AGENT -> skip                                  /* refused on record: a human gate */
    :: who == HUMAN && (!waiting[t] || g != gid[t] || status[t] != PARKED) -> skip /* stale: refused */
    :: who == HUMAN && waiting[t] && g == gid[t] && status[t] == PARKED ->
        assert(g == gid[t] && g > decided[t]);              /* a stale answer never applies */
        waiting[t] = 0;
        decided[t] = g;
        decidedBy[t] = who;
        assert(decidedBy[t] == HUMAN);                      /* no gate decided by an agent */
        acked[t] = g;
        if
        :: round[t] + 1 < ROUNDS -> round[t]++; result[t] = 0; intent[t] = 1; status[t] = RUNNING
        :: round[t] + 1 >= ROUNDS -> intent[t] = 0; status[t] = DONE
        fi
    fi
}

/* An execution of task i's current effect: start (on the pool), then finish (its result on the
 * way, sometimes twice). Recovery after a crash is the same start: an intent without a result
 * and not running. */
#define START(i)  :: atomic { status[i] == RUNNING && intent[i] && !result[i] && !inflight[i] && running < POOL -> inflight[i] = 1; running++ }
#define FINISH(i) :: atomic { inflight[i] && nfull(deliveries) -> deliveries!i,round[i]; inflight[i] = 0; running--; \
                      if :: duplicates < 1 && nfull(deliveries) -> deliveries!i,round[i]; duplicates++ :: true -> skip fi }

active proctype daemon() {
    byte t, r, g;
    bit who;
end:
    do
    START(0)
    START(1)
    START(2)
    FINISH(0)
    FINISH(1)
    FINISH(2)
    :: atomic { deliveries?t,r -> applyResult(t, r); t = 0; r = 0 }
    :: atomic { answers?t,g,who -> applyAnswer(t, g, who); t = 0; g = 0; who = 0 }
    :: atomic { crashes < CRASHES -> crashes++; inflight[0] = 0; inflight[1] = 0; inflight[2] = 0; running = 0 }
    od
}

/* People answer the gate they see (the answer may arrive after the gate moved on: stale);
 * a person may send an old page's id; an agent tries to answer; a person cancels. */
#define LOOK(i)   :: atomic { waiting[i] && asked[i] != gid[i] && nfull(answers) -> answers!i,gid[i],HUMAN; asked[i] = gid[i] }
#define STALE(i)  :: atomic { staleAnswers < 1 && gid[i] > 1 && nfull(answers) -> answers!i,gid[i] - 1,HUMAN; staleAnswers++ }
#define AGENTS(i) :: atomic { agentAnswers < 1 && waiting[i] && nfull(answers) -> answers!i,gid[i],AGENT; agentAnswers++ }
#define CANCEL(i) :: atomic { cancels < 1 && (status[i] == RUNNING || status[i] == PARKED) -> \
                      status[i] = CANCELLED; intent[i] = 0; waiting[i] = 0; cancels++ }

active proctype people() {
end:
    do
    LOOK(0)
    LOOK(1)
    LOOK(2)
    STALE(0)
    STALE(1)
    STALE(2)
    AGENTS(0)
    AGENTS(1)
    CANCEL(2)
    od
}

init {
    atomic {
        byte i;
        for (i : 0 .. N - 1) { status[i] = RUNNING; intent[i] = 1 }
    }
}

/* An acknowledged answer is never lost: what clients were told is in the database. */
active proctype acknowledgements() {
end:
    do
    :: atomic { !(acked[0] <= decided[0] && acked[1] <= decided[1] && acked[2] <= decided[2]) -> assert(false) }
    od
}

#define settled(i) (status[i] == PARKED || status[i] == DONE || status[i] == CANCELLED)
ltl progress { [] ((status[0] == RUNNING -> <> settled(0)) && (status[1] == RUNNING -> <> settled(1)) && (status[2] == RUNNING -> <> settled(2))) }
