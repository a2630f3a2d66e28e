-- release.lua -- compensation for admit.lua: frees a user's slot when the
-- event could not be handed to Kafka, so the user may try again and the
-- quantity is not lost.
--
-- KEYS[1] couponq:{c<ID>}:issued
-- ARGV[1] user id (decimal, 1 .. 2^63-1)
-- Answers 1 when the member was removed, 0 when it was not there.
if #KEYS ~= 1 or #ARGV ~= 1 then
  return redis.error_reply('ERR couponq release: expects 1 key and 1 argument')
end
local uid = ARGV[1]
if type(uid) ~= 'string' or #uid < 1 or #uid > 19 or not string.match(uid, '^[1-9][0-9]*$') then
  return redis.error_reply('ERR couponq release: user id must be a decimal integer > 0')
end
return redis.call('SREM', KEYS[1], uid)
