"""Lua scripts of the Redis checkpointer, and the pending-writes record they share with Python.

Every script takes all its keys in KEYS[] (KEYS[1] = the thread's checkpoint hash, KEYS[2] = its
history index), names its KEYS and ARGV as locals in its first lines, and builds field names with the prefixes of keys.py, written into the Lua source
when this module loads, so the keyspace is defined once and a call sends only what varies.
Scripts answer conflicts with a status instead of an error reply, so the client can raise the
typed CheckpointConflict without parsing messages: {1} = done, {0, head, blob, writes} = the head
moved (or its pending writes are not those the caller prepared from), {2, key, head, blob, writes} =
an exclusive write found `key` already written. A conflict carries the current head (id, parent\0blob,
writes record; only the id, '', when the namespace has no checkpoint), so a caller that prepared
from a head it remembered can prepare again without another round trip to read it.

A write may also name the digest (SHA-1 hex) of the pending-writes record it expects on the head
('' = any): a writer that prepared from a remembered head, not one it just read, is only right if
the head's writes are still those it saw.

Pending writes of one checkpoint are one hash field holding a record of length-prefixed entries,
`<len>:<task key><len>:<blob>` repeated, so attaching writes is one HSET and loading them one HGET,
whatever their number, with no key per write.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import keys

# Shared Lua: field names (from keys.py), a writes-record parser giving {key, first byte, last byte}
# per entry, and the TTL refresh of every key of the thread.
_LIB = """
local function field(prefix, ns, id) return prefix .. ns .. @SEP@ .. id end

local function entries(rec)
  local out, pos, n = {}, 1, #rec
  while pos <= n do
    local c = string.find(rec, ':', pos, true)
    local klen = tonumber(string.sub(rec, pos, c - 1))
    local key = string.sub(rec, c + 1, c + klen)
    local c2 = string.find(rec, ':', c + klen + 1, true)
    local stop = c2 + tonumber(string.sub(rec, c + klen + 1, c2 - 1))
    out[#out + 1] = {key, pos, stop}
    pos = stop + 1
  end
  return out
end

-- A conflict reply: status, detail, then the current head (id, parent\0blob, writes record), or only
-- '' when the namespace has none; `writes`: the head's record when the caller has already read it.
local function conflict(cp, ns, status, detail, head, writes)
  if head == '' then return {status, detail, ''} end
  if writes then
    return {status, detail, head, redis.call('HGET', cp, field(@BLOB@, ns, head)) or '', writes}
  end
  local got = redis.call('HMGET', cp, field(@BLOB@, ns, head), field(@WRITES@, ns, head))
  return {status, detail, head, got[1] or '', got[2] or ''}
end

local function refresh(ttl)
  ttl = tonumber(ttl)
  if ttl > 0 then
    for i = 1, 2 do redis.call('EXPIRE', KEYS[i], ttl) end  -- the thread's own keys, not a rider's
  end
end
"""

# ARGV: ns, expected head ('' = none), digest of its expected writes ('' = any), new id, parent\0blob, ttl
# [, then id, parent\0blob]. The optional `then` checkpoint follows the first in the same write and
# becomes the head. A head already equal to the last new id is this very write, retried by the client
# after a lost reply.
SAVE = """
local cp, hist = KEYS[1], KEYS[2]
local ns, expected, digest, id, blob, ttl, then_id, then_blob = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local last = then_id or id
local got = redis.call('HMGET', cp, @HEAD@ .. ns, field(@WRITES@, ns, expected))
local head = got[1] or ''
if head == last then return {1} end
if head ~= expected or (digest ~= '' and redis.sha1hex(got[2] or '') ~= digest) then
  return conflict(cp, ns, 0, head, head, head == expected and (got[2] or '') or nil)
end
if then_id then
  redis.call('HSET', cp, field(@BLOB@, ns, id), blob, field(@BLOB@, ns, last), then_blob, @HEAD@ .. ns, last)
  redis.call('ZADD', hist, 0, ns .. @SEP@ .. id, 0, ns .. @SEP@ .. last)
else
  redis.call('HSET', cp, field(@BLOB@, ns, id), blob, @HEAD@ .. ns, id)
  redis.call('ZADD', hist, 0, ns .. @SEP@ .. id)
end
refresh(ttl)
return {1}
"""

# ARGV: ns, checkpoint id, exclusive ('1' / '0'), ttl, record of new entries, claim token,
# record of entries to discard (keys only; their blobs are empty), digest of the expected writes ('' = any)
# [, riders]. An exclusive write stores its call's token: when the client retries it after a lost
# reply, finding its own token means the claim is already ours, not someone else's.
# Riders (a claim's only): commands that land with the write or not at all (the audit entry of a
# resume), each as ARGV `n, name, n args` with its key in KEYS[3], KEYS[4]...; they run after every
# check and before the write, so a rider that fails leaves nothing written, and never twice (a retried
# claim that finds its token is done).
SAVE_WRITES = """
local cp = KEYS[1]
local ns, id, exclusive, ttl, new_entries, token, discarded, digest = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local wfield, claim = field(@WRITES@, ns, id), field(@CLAIM@, ns, id)
local got = redis.call('HMGET', cp, @HEAD@ .. ns, wfield)
if got[1] ~= id then return conflict(cp, ns, 0, got[1] or '', got[1] or '') end
local incoming, dropped = {}, {}
for _, e in ipairs(entries(new_entries)) do incoming[e[1]] = true end
for _, e in ipairs(entries(discarded or '')) do dropped[e[1]] = true end
local old, kept = got[2] or '', {}
for _, e in ipairs(entries(old)) do
  if dropped[e[1]] and not incoming[e[1]] then
    -- removed: an answer its interrupt refused
  elseif incoming[e[1]] then
    if exclusive == '1' then
      if redis.call('HGET', cp, claim) == token then return {1} end
      return conflict(cp, ns, 2, e[1], id, old)
    end
  else
    kept[#kept + 1] = string.sub(old, e[2], e[3])
  end
end
if digest ~= '' and redis.sha1hex(old) ~= digest then return conflict(cp, ns, 0, id, id, old) end
kept[#kept + 1] = new_entries
local at, key = 9, 3
while ARGV[at] do
  local n = tonumber(ARGV[at])
  redis.call(ARGV[at + 1], KEYS[key], unpack(ARGV, at + 2, at + 1 + n))
  at, key = at + 2 + n, key + 1
end
if exclusive == '1' then
  redis.call('HSET', cp, wfield, table.concat(kept), claim, token)
else
  redis.call('HSET', cp, wfield, table.concat(kept))
end
refresh(ttl)
return {1}
"""

# ARGV: ns. Returns {id, parent\0blob, writes} of the head, or nil.
LOAD_HEAD = """
local cp = KEYS[1]
local ns = ARGV[1]
local id = redis.call('HGET', cp, @HEAD@ .. ns)
if not id then return false end
local got = redis.call('HMGET', cp, field(@BLOB@, ns, id), field(@WRITES@, ns, id))
if not got[1] then return false end
return {id, got[1], got[2] or ''}
"""

# ARGV: max, min (ZREVRANGEBYLEX bounds), limit (-1 = all).
# Returns member, parent\0blob, writes, ... newest first; reads only the page asked for.
HISTORY = """
local cp, hist = KEYS[1], KEYS[2]
local max, min, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local members
if limit >= 0 then
  members = redis.call('ZREVRANGEBYLEX', hist, max, min, 'LIMIT', 0, limit)
else
  members = redis.call('ZREVRANGEBYLEX', hist, max, min)
end
local out, batch = {}, 500
for first = 1, #members, batch do
  local fields = {}
  local last = math.min(first + batch - 1, #members)
  for i = first, last do
    fields[#fields + 1] = @BLOB@ .. members[i]
    fields[#fields + 1] = @WRITES@ .. members[i]
  end
  local got = redis.call('HMGET', cp, unpack(fields))
  for i = first, last do
    local j = 2 * (i - first)
    if got[j + 1] then
      out[#out + 1] = members[i]
      out[#out + 1] = got[j + 1]
      out[#out + 1] = got[j + 2] or ''
    end
  end
end
return out
"""


def _lua_string(text: str) -> str:
    """A Lua literal: punctuation and NUL as three-digit decimal escapes ('h\\058' is 'h:')."""
    return "'" + "".join(c if c.isalnum() else f"\\{ord(c):03d}" for c in text) + "'"


def _render(body: str) -> str:
    """The script with the keyspace's field prefixes (keys.py) written in as Lua strings."""
    names = {"HEAD": keys.HEAD, "BLOB": keys.BLOB, "WRITES": keys.WRITES, "CLAIM": keys.CLAIM, "SEP": keys.SEP}
    source = _LIB + body
    for name, value in names.items():
        source = source.replace(f"@{name}@", _lua_string(value))
    return source


SAVE, SAVE_WRITES, LOAD_HEAD, HISTORY = (_render(s) for s in (SAVE, SAVE_WRITES, LOAD_HEAD, HISTORY))


def encode_writes(writes: Mapping[str, bytes]) -> bytes:
    parts: list[bytes] = []
    for key, blob in writes.items():
        raw = key.encode()
        parts += [b"%d:" % len(raw), raw, b"%d:" % len(blob), blob]
    return b"".join(parts)


def decode_writes(record: bytes) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    pos = 0
    while pos < len(record):
        colon = record.index(b":", pos)
        end = colon + 1 + int(record[pos:colon])
        key = record[colon + 1 : end].decode()
        colon = record.index(b":", end)
        pos = colon + 1 + int(record[end:colon])
        out[key] = record[colon + 1 : pos]
    return out
