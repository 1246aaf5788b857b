"""The Lua scripts of the Redis record store (bot.runs.store_redis): one script per queue step, so
each step is atomic on the thread's slot (every key carries its hash tag) and works on Redis Cluster.
"""

# Each script names its KEYS and ARGV in its first lines; the callers pass them in that order.

# Stores the run, queues it and marks the thread, or changes nothing. A run that finds the queue
# empty holds the thread at once: with start_json given, that record (the run as it starts) is
# stored instead and the answer is 'started', so its first turn costs no round trip.
# Returns 'started', 'queued', 'exists' (a run with this id is stored), 'no_thread' or 'busy'
# (reject given and the thread has a run).
SUBMIT = """
local queue, lease, thread, runs = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local lease_ms, run_id, reject, run_json, start_json = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
-- start_json: '' when the caller does not start the run itself; ARGV[6..]: thread field, JSON value, ... to set
if redis.call('EXISTS', thread) == 0 then return 'no_thread' end
local stored = redis.call('HGET', runs, run_id)
if stored then
  -- the same submission again (the client retried after a lost answer) is done already;
  -- another one with this run id (a resume submitted twice) finds it: 'exists'
  if start_json ~= '' and stored == start_json and redis.call('GET', lease) == run_id then return 'started' end
  if stored == run_json then return 'queued' end
  return 'exists'
end
if reject == '1' and redis.call('LLEN', queue) > 0 then return 'busy' end
if #ARGV > 5 then redis.call('HSET', thread, unpack(ARGV, 6)) end
if redis.call('RPUSH', queue, run_id) == 1 then
  redis.call('SET', lease, run_id, 'PX', lease_ms)
  if start_json ~= '' then
    redis.call('HSET', runs, run_id, start_json)
    return 'started'
  end
end
redis.call('HSET', runs, run_id, run_json)
return 'queued'
"""

# Whether the run holds the thread; if so renews its lease and stores its starting record.
TURN = """
local queue, lease, runs = KEYS[1], KEYS[2], KEYS[3]
local lease_ms, run_id, start_json = ARGV[1], ARGV[2], ARGV[3]  -- start_json is optional
if redis.call('GET', lease) == run_id then
  redis.call('PEXPIRE', lease, lease_ms)
  if start_json then redis.call('HSET', runs, run_id, start_json) end
  return 1
end
return 0
"""

# Ends a run: stores (or deletes) its record, applies thread changes, leaves the queue and hands
# the lease to the next run. A thread with runs left stays busy; one left without that is still
# marked busy gets idle_status; a deleted thread is not recreated. Returns how many runs remain queued.
RELEASE = """
local queue, lease, thread, runs = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local lease_ms, run_id, final_json, stamp, idle_status = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
-- final_json: '' keeps the record, '-' deletes the run; stamp, idle_status: JSON values
-- ARGV[6..]: thread field, JSON value, ... to set
local exists = redis.call('EXISTS', thread) == 1
if final_json == '-' then
  redis.call('HDEL', runs, run_id)
elseif final_json ~= '' and exists then  -- a deleted thread keeps no runs
  redis.call('HSET', runs, run_id, final_json)
end
if exists and #ARGV > 5 then redis.call('HSET', thread, unpack(ARGV, 6)) end
local head = redis.call('LINDEX', queue, 0)
redis.call('LREM', queue, 0, run_id)
if head == run_id then
  local nxt = redis.call('LINDEX', queue, 0)
  if nxt then redis.call('SET', lease, nxt, 'PX', lease_ms) else redis.call('DEL', lease) end
end
local left = redis.call('LLEN', queue)
if exists and left > 0 then
  redis.call('HSET', thread, 'status', '"busy"')
elseif exists and redis.call('HGET', thread, 'status') == '"busy"' then
  redis.call('HSET', thread, 'status', idle_status, 'updated_at', stamp)
end
return left
"""

# The head run whose lease lapsed, leased to the caller; '' when the queue is empty (nothing
# to adopt there), false when the head run still holds its lease.
ADOPT = """
local queue, lease = KEYS[1], KEYS[2]
local lease_ms = ARGV[1]
local head = redis.call('LINDEX', queue, 0)
if not head then return '' end
if redis.call('EXISTS', lease) == 1 then return false end
redis.call('SET', lease, head, 'PX', lease_ms)
return head
"""

# Drops from the lease index the threads named whose deadline is still at or before `cutoff`
# (a run submitted since moved it later: that entry stays). One key: fine on a Cluster.
UNINDEX = """
local index = KEYS[1]
local cutoff = tonumber(ARGV[1])
-- ARGV[2..]: thread ids
local dropped = 0
for i = 2, #ARGV do
  local due = redis.call('ZSCORE', index, ARGV[i])
  if due and tonumber(due) <= cutoff then dropped = dropped + redis.call('ZREM', index, ARGV[i]) end
end
return dropped
"""

# Creates the thread hash only if it does not exist. Returns 1 when created.
CREATE = """
local thread = KEYS[1]
-- ARGV: field, JSON value, ...
if redis.call('EXISTS', thread) == 1 then
  for i = 1, #ARGV, 2 do  -- created by this very call (retried after a lost answer) counts as created
    if redis.call('HGET', thread, ARGV[i]) ~= ARGV[i + 1] then return 0 end
  end
  return 1
end
redis.call('HSET', thread, unpack(ARGV))
return 1
"""

# Changes fields of a thread that still exists. Returns 1 when it existed.
PATCH = """
local thread = KEYS[1]
-- ARGV: field, JSON value, ...
if redis.call('EXISTS', thread) == 0 then return 0 end
redis.call('HSET', thread, unpack(ARGV))
return 1
"""

# Replaces the thread's metadata with `merged` if it still is `expected` (what the caller read
# and merged into); changes no other field and never recreates a deleted thread.
# Returns 'done', 'moved' (read again and retry) or 'gone'.
MERGE_METADATA = """
local thread = KEYS[1]
local expected, merged = ARGV[1], ARGV[2]
if redis.call('EXISTS', thread) == 0 then return 'gone' end
if redis.call('HGET', thread, 'metadata') ~= expected then return 'moved' end
redis.call('HSET', thread, 'metadata', merged)
return 'done'
"""

# Takes an idle thread for a holder that is not a run: it becomes the queue's only entry and
# holds the lease. Returns 'claimed', 'busy' or 'no_thread'.
CLAIM = """
local queue, lease, thread = KEYS[1], KEYS[2], KEYS[3]
local lease_ms, holder = ARGV[1], ARGV[2]
if redis.call('EXISTS', thread) == 0 then return 'no_thread' end
if redis.call('LLEN', queue) > 0 then return 'busy' end
redis.call('RPUSH', queue, holder)
redis.call('SET', lease, holder, 'PX', lease_ms)
return 'claimed'
"""

# Deletes the thread's record, runs, queue and lease, and with them every other key of the thread
# (bot.keys): its audit stream and its Slack pauses, decisions, approval tallies and failure reports.
# Returns 1 when the thread record existed.
DELETE = """
local thread, runs, queue, lease, audit, current, pauses, legacy = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]
local slack_prefix, legacy_prefix = ARGV[1], ARGV[2]
for _, run_id in ipairs(redis.call('HKEYS', runs)) do
  redis.call('DEL', slack_prefix .. 'failure:' .. run_id)
end
for _, run_id in ipairs(redis.call('ZRANGE', legacy, 0, -1)) do  -- runs stored before run_records
  redis.call('DEL', legacy_prefix .. run_id, slack_prefix .. 'failure:' .. run_id)
end
for _, cp in ipairs(redis.call('SMEMBERS', pauses)) do
  redis.call('DEL', slack_prefix .. 'pause:' .. cp, slack_prefix .. 'decided:' .. cp, slack_prefix .. 'approvals:' .. cp)
end
local existed = redis.call('EXISTS', thread)
redis.call('DEL', thread, runs, queue, lease, audit, current, pauses, legacy)
return existed
"""

# Reads a thread's runs: every record (HVALS), or the one of run_id when given (HGET). Runs of a thread
# stored before run_records (a key per run, indexed by a zset) are first moved into its runs hash (a
# run the hash already has, written since, is kept) and their old keys deleted. Safe to run twice.
RUNS = """
local runs, legacy = KEYS[1], KEYS[2]
local legacy_prefix, run_id = ARGV[1], ARGV[2]
for _, id in ipairs(redis.call('ZRANGE', legacy, 0, -1)) do
  local stored = redis.call('GET', legacy_prefix .. id)
  if stored then redis.call('HSETNX', runs, id, stored) end
  redis.call('DEL', legacy_prefix .. id)
end
redis.call('DEL', legacy)
if run_id then return redis.call('HGET', runs, run_id) end
return redis.call('HVALS', runs)
"""

# Refreshes the expiry of a thread's keys to `ttl` seconds (SLUICE_THREAD_TTL), sent after each
# write on the thread: the keys given (record, runs, audit stream, checkpoints), a fixed set, so a
# write costs the same however many runs the thread has had. A key that does not exist is left alone.
# Safe to run twice.
REFRESH = """
local ttl = ARGV[1]
for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
return 1
"""
