"""The Lua scripts of `bot.slack.store.RedisPauseStore`: each runs as one step on the pause's keys.

Each script names its KEYS and ARGV in its first lines; KEYS are always `RedisPauseStore._keys(...)`
(current, pause, decided, and the thread's pause set for `OPEN`).
"""

# Lua shared by the scripts that take a resume's claim (`DECIDE` here, the claims of
# `bot.slack.resumption`): one place for the claim's rules. `prefix` names the claim's fields: '' for
# the whole pause's, 'g<n>:' for a group's. Returns the attempt it claims, or nil while another
# token's claim is live.
TAKE_CLAIM = """
local function take_claim(pause, token, hold_ms, prefix)
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local holder = redis.call('HGET', pause, prefix .. 'claim')
  local until_ms = tonumber(redis.call('HGET', pause, prefix .. 'claim_until') or '0')
  if holder and holder ~= token and until_ms > now then return nil end
  redis.call('HSET', pause, prefix .. 'claim', token, prefix .. 'claim_until', now + hold_ms)
  return tonumber(redis.call('HGET', pause, prefix .. 'attempt') or '0')
end
"""

# Records one slot's decision if the pause is current, pending and the slot undecided; says whether
# that completed the whole pause, or the slot's group (ARGV after the claim's: the group's slots). A
# decision that completes the pause takes its resume's claim too when given a token, as the claim
# script of `bot.slack.resumption` does (`TAKE_CLAIM`; a live claim of another token is left).
DECIDE = TAKE_CLAIM + """
local current, pause, decided = KEYS[1], KEYS[2], KEYS[3]
local checkpoint_id, slot, decision_json, slots_needed, ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local call = ARGV[6]  -- unique to this call: a retry of it (after a lost answer) gets the same answer
local token, hold_ms = ARGV[7], tonumber(ARGV[8])  -- the resume's claim ('' for none) and how long it holds
-- ARGV[9..]: the slots of the slot's group.
-- Returns {outcome, the pause's decisions (HGETALL), the claim's attempt or -1 when not claimed}.
local function answer(outcome, attempt) return {outcome, redis.call('HGETALL', decided), attempt or -1} end
local function of_group()
  for i = 9, #ARGV do
    if redis.call('HEXISTS', decided, ARGV[i]) == 0 then return answer('recorded') end
  end
  return answer('group')
end
local function complete()
  if token == '' then return answer('complete') end
  return answer('complete', take_claim(pause, token, hold_ms, ''))  -- nil (another's live claim): -1
end
if redis.call('EXISTS', pause) == 0 then return answer('unknown') end
if redis.call('GET', current) ~= checkpoint_id then return answer('stale') end
local status = redis.call('HGET', pause, 'status')
if redis.call('HGET', pause, 'call:' .. slot) == call and (status == 'pending' or status == 'resuming') then
  if status == 'resuming' then return complete() end
  return of_group()
end
if status ~= 'pending' then return answer('closed') end
if redis.call('HSETNX', decided, slot, decision_json) == 0 then return answer('taken') end
redis.call('HSET', pause, 'call:' .. slot, call)
redis.call('EXPIRE', decided, ttl)
if redis.call('HLEN', decided) >= tonumber(slots_needed) then
  redis.call('HSET', pause, 'status', 'resuming')
  return complete()
end
return of_group()
"""

# Stores a pending pause (once) and makes it current. Returns {created, previous id or ''}.
OPEN = """
local current, pause, pauses = KEYS[1], KEYS[2], KEYS[4]
local checkpoint_id, pause_json, ttl, call = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
redis.call('SADD', pauses, checkpoint_id)  -- so deleting the thread finds every pause it had
redis.call('EXPIRE', pauses, ttl)
local previous = redis.call('GET', current)
local created = redis.call('HSETNX', pause, 'data', pause_json)
if created == 0 and redis.call('HGET', pause, 'opened_by') == call then
  -- this very call again (the client retried it after a lost answer): the same answer
  return {1, redis.call('HGET', pause, 'previous') or ''}
end
redis.call('HSETNX', pause, 'status', 'pending')
redis.call('EXPIRE', pause, ttl)
redis.call('SET', current, checkpoint_id, 'EX', ttl)
if previous == checkpoint_id then previous = '' end
if created == 1 then redis.call('HSET', pause, 'previous', previous or '', 'opened_by', call) end
return {created, previous or ''}
"""

# A deadline decides: if the pause is current and pending, its undecided slots get the given
# decisions (ARGV after checkpoint_id, ttl: slot, decision JSON pairs) and it is `resuming`.
SETTLE = """
local current, pause, decided = KEYS[1], KEYS[2], KEYS[3]
local checkpoint_id, ttl = ARGV[1], ARGV[2]
if redis.call('GET', current) ~= checkpoint_id then return 0 end
if redis.call('HGET', pause, 'status') ~= 'pending' then return 0 end
for i = 3, #ARGV, 2 do redis.call('HSETNX', decided, ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', decided, ttl)
redis.call('HSET', pause, 'status', 'resuming')
return 1
"""

# Gives the slot back after a resume that failed, and reopens the pause.
UNDO = """
local pause, decided = KEYS[2], KEYS[3]
local slot = ARGV[1]
redis.call('HDEL', decided, slot)
redis.call('HSET', pause, 'status', 'pending')
return 1
"""
