-- settle.lua -- an admit.lua call whose answer was lost (the connection
-- broke after the call was sent): removes the users that call admitted, so
-- the 503 their requests got is true and the quantity is not lost.
--
-- KEYS[1] couponq:{c<ID>}:issued
-- KEYS[2] couponq:{c<ID>}:calls   (see admit.lua)
-- ARGV[1] the call id; ARGV[2..N+1] the call's user ids, in the call's order
-- Answers the number of members removed: 0 when the call never ran, or
-- accepted nobody, or was settled already. Only this call's admissions are
-- touched: a user it found already admitted ("-") keeps that admission.
if #KEYS ~= 2 or #ARGV < 2 or #ARGV > 1001 then
  return redis.error_reply('ERR couponq settle: expects 2 keys, a call id and 1 to 1000 user ids')
end
for i = 2, #ARGV do
  if not string.match(ARGV[i], '^[1-9][0-9]*$') or #ARGV[i] > 19 then
    return redis.error_reply('ERR couponq settle: user id must be a decimal integer > 0')
  end
end
local mark = redis.call('HGET', KEYS[2], ARGV[1])
if not mark then
  return 0
end
if #mark ~= #ARGV - 1 then
  return redis.error_reply('ERR couponq settle: the call had ' .. #mark .. ' users')
end
local removed = 0
for i = 1, #mark do
  if string.sub(mark, i, i) == 'a' then
    removed = removed + redis.call('SREM', KEYS[1], ARGV[i + 1])
  end
end
redis.call('HDEL', KEYS[2], ARGV[1])
return removed
