"""Every Redis key of the service, built here and nowhere else (the engine's checkpoint keys are
`engine.checkpoint.keys`). Per-thread keys start with the thread's hash tag, `sluice:{<thread>}`,
so all of a thread's keys (and its checkpoints) live on one cluster slot and each multi-key step
is one Lua script. Global indexes are single keys touched with single-key commands only.

  key                                         type    holds                                     used by
  ------------------------------------------  ------  ----------------------------------------  --------------------
  sluice:threads                              zset    thread id -> created time (s)             bot.runs.store_redis
  sluice:leases                               zset    thread id -> lease deadline (ms)          bot.runs.store_redis
  sluice:{<thread>}:thread                    hash    thread record, one JSON value per field   bot.runs.store_redis
  sluice:{<thread>}:run_records               hash    run id -> run record JSON (every run of   bot.runs.store_redis
                                                      the thread: one key, one expiry)
  sluice:{<thread>}:runs, :run:<run>          zset, string  the runs as stored before run_records:  bot.runs.store_redis
                                                      moved into it when read, deleted with the thread
  sluice:{<thread>}:queue                     list    run ids (or a state update), head runs    bot.runs.store_redis
  sluice:{<thread>}:lease                     string  run id holding the thread, expires (PX)   bot.runs.store_redis
  sluice:ended:<run>                          string  a stateless run's final record JSON, kept bot.runs.store_redis
                                                      ENDED_KEPT_S after its thread went (EX)
  sluice:{<thread>}:slack:current             string  checkpoint id of the pending pause        bot.slack.store
  sluice:{<thread>}:slack:pauses              set     checkpoint ids of every pause opened       bot.slack.store
  sluice:{<thread>}:slack:pause:<checkpoint>  hash    data (Pause JSON), status, previous,   bot.slack.store,
                                                      opened_by, call:<slot> (retry ids)
                                                      claim, claim_until, attempt              bot.slack.resumption
  sluice:{<thread>}:slack:decided:<checkpoint> hash   slot -> SlotDecision JSON                 bot.slack.store
  sluice:slack:pending:<channel>              zset    "<thread> <checkpoint>" -> created time   bot.slack.store
  sluice:slack:channels                       set     channels that have had pending pauses     bot.slack.store
  sluice:slack:message:<channel>:<ts>         string  "<thread> <checkpoint>" of a posted pause bot.slack.store
  sluice:slack:in_thread:<channel>:<ts>       string  thread id whose pauses are posted in that  bot.slack.store
                                                      Slack thread (a reply there answers them)
  sluice:{<thread>}:slack:failure:<run>       hash    data (Failure JSON), retried_by (once)    bot.slack.failures
  sluice:slack:resuming                       zset    "<thread> <checkpoint>" -> due time (ms)  bot.slack.resumption
  sluice:slack:seen:<kind>:<id>               string  "1", expires: a Slack event or command done bot.slack.dedupe
  sluice:{<thread>}:slack:approvals:<checkpoint> hash slot -> tally JSON (N-of-M approvers)  bot.slack.lifecycle.quorum
  sluice:{<thread>}:audit                     stream  one entry per decision (JSON), MAXLEN     bot.audit
  sluice:timers                               zset    "<kind> <thread> <checkpoint>" -> due (ms) bot.slack.lifecycle.timers

With `SLUICE_THREAD_TTL`, the thread's checkpoints, record, runs and audit stream expire once not
written for that long (a record write refreshes them all, a fixed set of keys whatever the thread's run count;
`bot.runs.store_redis`; a checkpoint write its own, `engine.checkpoint.redis`); its queue
empties as runs end and its lease expires on its own. Its Slack keys keep their own 30-day expiry.

Deleting a thread (`bot.runs.store_redis`, one script) deletes every `sluice:{<thread>}` key: its records, its
audit stream and its Slack pauses (found through `slack:pauses`), decisions, tallies and failures. The global
indexes that name it (pending, message, in_thread, resuming, timers) are not on its slot: each reader drops an
entry whose pause is gone.

New kinds of keys (timers, an audit stream, dedupe markers) get a builder and a row here.
"""

from __future__ import annotations

from engine.checkpoint.keys import PREFIX, thread_tag

# -- runs layer: records, queue, leases --------------------------------------------------------
THREAD_INDEX = f"{PREFIX}:threads"
LEASE_INDEX = f"{PREFIX}:leases"


def thread(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:thread"


def run_records(thread_id: str) -> str:
    """Every run of the thread in one hash, so renewing or deleting them is one command however many
    there are. (Before, a run was a key of its own, `:run:<run>`, indexed by the zset `:runs`.)"""
    return f"{thread_tag(thread_id)}:run_records"


def legacy_runs(thread_id: str) -> str:
    """The run index (zset of run ids) of a thread stored before `run_records`; its runs were keys
    `legacy_run_prefix + run id`. Read once, when the thread's runs are next listed or one is missed."""
    return f"{thread_tag(thread_id)}:runs"


def legacy_run_prefix(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:run:"


def queue(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:queue"


def lease(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:lease"


def ended_run(run_id: str) -> str:
    """A stateless run's outcome, outliving its thread: not on the thread's slot (the thread's delete
    leaves it), found by run id alone; readers check the thread id it names."""
    return f"{PREFIX}:ended:{run_id}"


# -- Slack bot: pauses and their decisions -----------------------------------------------------
def slack_current(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:slack:current"


def slack_prefix(thread_id: str) -> str:
    """The start of every Slack key of a thread (the delete script builds pause, decided, approvals and
    failure keys from it: keep the builders below in step)."""
    return f"{thread_tag(thread_id)}:slack:"


def slack_pauses(thread_id: str) -> str:
    """The checkpoint ids of every pause the thread has had (so deleting the thread finds them all)."""
    return slack_prefix(thread_id) + "pauses"


def slack_pause(thread_id: str, checkpoint_id: str) -> str:
    return f"{slack_prefix(thread_id)}pause:{checkpoint_id}"


def slack_decided(thread_id: str, checkpoint_id: str) -> str:
    return f"{slack_prefix(thread_id)}decided:{checkpoint_id}"


SLACK_RESUMING = f"{PREFIX}:slack:resuming"


def slack_seen(kind: str, delivery_id: str) -> str:
    """A Slack event id or request signature already handled (retries and replays are dropped)."""
    return f"{PREFIX}:slack:seen:{kind}:{delivery_id}"


def slack_pending(channel: str) -> str:
    return f"{PREFIX}:slack:pending:{channel}"


SLACK_CHANNELS = f"{PREFIX}:slack:channels"


def slack_message(channel: str, ts: str) -> str:
    return f"{PREFIX}:slack:message:{channel}:{ts}"


def slack_in_thread(channel: str, thread_ts: str) -> str:
    """The thread whose pauses are posted as replies in the Slack thread `thread_ts` (runs started
    from Slack): a reply there, where no pause message has a thread of its own, answers its pause."""
    return f"{PREFIX}:slack:in_thread:{channel}:{thread_ts}"


def slack_failure(thread_id: str, run_id: str) -> str:
    return f"{slack_prefix(thread_id)}failure:{run_id}"


def slack_approvals(thread_id: str, checkpoint_id: str) -> str:
    return f"{slack_prefix(thread_id)}approvals:{checkpoint_id}"


# -- governance: the audit trail and the timers of deadlines and reminders ---------------------
def audit(thread_id: str) -> str:
    return f"{thread_tag(thread_id)}:audit"


TIMERS = f"{PREFIX}:timers"
