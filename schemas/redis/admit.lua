-- admit.lua -- FCFS admission for one coupon, atomic: dedupe + quantity gate.
--
-- KEYS[1] couponq:{c<ID>}:meta    HASH total(-1 = unlimited) start_ms end_ms state
-- KEYS[2] couponq:{c<ID>}:issued  SET of admitted user ids
-- ARGV[1] user id (decimal, 1 .. 2^63-1)
--
-- Every argument and every meta field is validated before anything is
-- written, so the script either fails with an error and changes nothing, or
-- answers exactly one of, in this order:
--   {"not_found",0} {"not_open",0} {"ended",0} {"closed",0}
--   {"duplicate",0} {"sold_out",0} {"accepted",seq}
-- seq is SCARD after the add: the user's place in line (1-based).
-- Time is the Redis server's clock (TIME), not the caller's.
if #KEYS ~= 2 or #ARGV ~= 1 then
  return redis.error_reply('ERR couponq admit: expects 2 keys and 1 argument')
end
local uid = ARGV[1]
if type(uid) ~= 'string' or #uid < 1 or #uid > 19 or not string.match(uid, '^[1-9][0-9]*$') then
  return redis.error_reply('ERR couponq admit: user id must be a decimal integer > 0')
end
if #uid == 19 and uid > '9223372036854775807' then
  return redis.error_reply('ERR couponq admit: user id out of range')
end

local meta = redis.call('HMGET', KEYS[1], 'total', 'start_ms', 'end_ms', 'state')
if meta[1] == false and meta[2] == false and meta[3] == false and meta[4] == false then
  return {'not_found', 0}
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
  return {'not_open', 0}
end
if now_ms >= end_ms then
  return {'ended', 0}
end
if state == 'closed' then
  return {'closed', 0}
end
if redis.call('SISMEMBER', KEYS[2], uid) == 1 then
  return {'duplicate', 0}
end
if total >= 0 and redis.call('SCARD', KEYS[2]) >= total then
  return {'sold_out', 0}
end
redis.call('SADD', KEYS[2], uid)
return {'accepted', redis.call('SCARD', KEYS[2])}
