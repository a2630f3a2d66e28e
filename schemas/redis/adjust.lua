-- adjust.lua -- changes a running sale's quantity, atomically with the gate.
--
-- KEYS[1] couponq:{c<ID>}:meta    HASH total(-1 = unlimited) ...
-- KEYS[2] couponq:{c<ID>}:issued  SET of admitted user ids
-- ARGV[1] the total the caller read (compare-and-set: the caller computed
--         the new total from it, e.g. for --add/--sub)
-- ARGV[2] the new total (-1 = unlimited, else an integer >= 0)
--
-- A decrease below the number already admitted is refused: those users got
-- a 202 and were promised their coupon. Doing the check and the write in one
-- script means no admission can slip in between them. Answers:
--   {"not_found",0}              no meta hash
--   {"changed",<current total>}  meta total is not ARGV[1] (retry)
--   {"below_admitted",<admitted>} nothing written
--   {"ok",<admitted>}            total written
if #KEYS ~= 2 or #ARGV ~= 2 then
  return redis.error_reply('ERR couponq adjust: expects 2 keys and 2 arguments')
end
local new_total = tonumber(ARGV[2])
if new_total == nil or new_total < -1 or new_total ~= math.floor(new_total)
    or not string.match(ARGV[2], '^%-?[0-9]+$') then
  return redis.error_reply('ERR couponq adjust: new total must be an integer >= -1')
end
local cur = redis.call('HGET', KEYS[1], 'total')
if cur == false then
  return {'not_found', 0}
end
if cur ~= ARGV[1] then
  return {'changed', tonumber(cur) or 0}
end
local admitted = redis.call('SCARD', KEYS[2])
if new_total >= 0 and admitted > new_total then
  return {'below_admitted', admitted}
end
redis.call('HSET', KEYS[1], 'total', ARGV[2])
return {'ok', admitted}
