-- admit.lua -- FCFS admission for one coupon, atomic: dedupe + quantity gate.
--
-- KEYS[1] couponq:{c<ID>}:meta    HASH total(-1 = unlimited) start_ms end_ms state
--                                 fence (see below)
-- KEYS[2] couponq:{c<ID>}:issued  SET of admitted user ids
-- KEYS[3] couponq:{c<ID>}:calls   HASH call id -> which users of that call
--                                 were accepted ("a" or "-" per user), kept
--                                 until the caller has read the answer
-- ARGV[1] call id: 1..64 of [0-9A-Za-z], unique per call (the api: a ULID)
-- ARGV[2..N+1] user ids (decimal, 1 .. 2^63-1), 1 <= N <= 1000, arrival order
--
-- Why the call record: when the connection breaks after this script ran but
-- before its answer arrived, the api cannot tell from the issued set whether
-- a member is this call's admission or that of another request of the same
-- user (answered 202 earlier, perhaps by another api process). settle.lua
-- reads the record and removes exactly this call's admissions, so the 503
-- the api answered is true. Written only when the call accepted someone;
-- the api deletes it (HDEL, batched) once it has the answer.

-- Why the fence: a Redis dataset can lose acknowledged writes -- a lagging
-- replica promoted, a restart after a crash (AOF everysec), a restore from
-- backup. Its admitted set then misses users who were told 202, and
-- admitting against it would give their coupons away again. Each of those
-- events gives the server a new replication id (master_replid changes on
-- promotion and on every restart; a restore is a restart). The meta field
-- `fence` holds the replication id under which this coupon's admitted set
-- was last known complete: written when the coupon is created, and by the
-- fence guard (`couponqctl fence`) after it verified the set against the
-- event log (MySQL rows + the events in Kafka the workers have not
-- committed). While it differs from the server's current id -- or is
-- missing -- the script admits nobody and answers "fenced" (the api: 503 +
-- Retry-After). The check is here, atomic with the admission, so no api
-- process can admit against an unverified set, however many run and
-- whichever server they reached. INFO replication costs about 1 us per call
-- (one call serves a whole batch of users).

-- Every argument and every meta field is validated before anything is
-- written, so the script either fails with an error and changes nothing, or
-- answers, for each user in ARGV order, exactly one of, in this order:
--   "not_found" "not_open" "ended" "closed" "fenced" "duplicate"
--   "sold_out" "accepted"
-- The reply is flat: {result_1, seq_1, result_2, seq_2, ...}; with one user
-- it is {"accepted", seq} or {"duplicate", 0} and so on. seq is SCARD after
-- the user's add, i.e. the user's place in line (1-based), else 0.
--
-- Why several users per call: the api sends the admissions that arrived in
-- one event-loop iteration for one coupon as one call. The users are still
-- admitted one after the other, in arrival order, exactly as N single calls
-- would be (a repeated user in the same call is "duplicate" the second
-- time), but Redis runs one script instead of N, and the checks that do not
-- depend on the user (meta, clock, state, count) run once.
-- Time is the Redis server's clock (TIME), not the caller's. Needs Redis >= 6.2
-- (SMISMEMBER).
local n = #ARGV - 1
if #KEYS ~= 3 or n < 1 or n > 1000 then
  return redis.error_reply('ERR couponq admit: expects 3 keys, a call id and 1 to 1000 user ids')
end
local call = ARGV[1]
if #call < 1 or #call > 64 or not string.match(call, '^[0-9A-Za-z]+$') then
  return redis.error_reply('ERR couponq admit: call id must be 1 to 64 letters or digits')
end
local uids = {}
for i = 1, n do
  local uid = ARGV[i + 1]
  if #uid < 1 or #uid > 19 or not string.match(uid, '^[1-9][0-9]*$') then
    return redis.error_reply('ERR couponq admit: user id must be a decimal integer > 0')
  end
  if #uid == 19 and uid > '9223372036854775807' then
    return redis.error_reply('ERR couponq admit: user id out of range')
  end
  uids[i] = uid
end

local function all(result)
  local out = {}
  for i = 1, n do
    out[2 * i - 1] = result
    out[2 * i] = 0
  end
  return out
end

local meta = redis.call('HMGET', KEYS[1], 'total', 'start_ms', 'end_ms', 'state', 'fence')
if meta[1] == false and meta[2] == false and meta[3] == false and meta[4] == false then
  return all('not_found')
end
local total = tonumber(meta[1])
local start_ms = tonumber(meta[2])
local end_ms = tonumber(meta[3])
local state = meta[4]
if total == nil or start_ms == nil or end_ms == nil or (state ~= 'open' and state ~= 'closed') then
  return redis.error_reply('ERR couponq admit: corrupt meta hash ' .. KEYS[1])
end

local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
if now_ms < start_ms then
  return all('not_open')
end
if now_ms >= end_ms then
  return all('ended')
end
if state == 'closed' then
  return all('closed')
end
local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
if replid == nil or meta[5] ~= replid then
  return all('fenced')
end

-- From here on the only write is one SADD of the accepted users. Who is
-- already a member comes from one SMISMEMBER; a user repeated inside the
-- call is a member from its first occurrence on. Order per user: duplicate,
-- then sold_out, then accepted (the gate counts the users accepted so far).
local count = redis.call('SCARD', KEYS[2])
local member = redis.call('SMISMEMBER', KEYS[2], unpack(uids))
local seen, add, mark, out = {}, {}, {}, {}
for i = 1, n do
  local uid = uids[i]
  if member[i] == 1 or seen[uid] then
    out[2 * i - 1] = 'duplicate'
    out[2 * i] = 0
    mark[i] = '-'
  elseif total >= 0 and count >= total then
    out[2 * i - 1] = 'sold_out'
    out[2 * i] = 0
    mark[i] = '-'
  else
    seen[uid] = true
    count = count + 1
    add[#add + 1] = uid
    mark[i] = 'a'
    out[2 * i - 1] = 'accepted'
    out[2 * i] = count
  end
end
if #add > 0 then
  redis.call('SADD', KEYS[2], unpack(add))
  redis.call('HSET', KEYS[3], call, table.concat(mark))
end
return out
