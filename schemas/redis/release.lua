-- release.lua -- compensation for admit.lua: frees a user's slot when the
-- event could not be handed to Kafka, so the user may try again and the
-- quantity is not lost.
--
-- KEYS[1] couponq:{c<ID>}:issued
-- KEYS[2] couponq:{c<ID>}:owner   (see admit.lua)
-- ARGV[1] user id (decimal, 1 .. 2^63-1)
-- ARGV[2] optional tag: remove the member only if this request admitted it
--         (the owner hash holds the tag). The api passes it when the
--         answer of admit.lua was lost and the member may be another
--         request's; without it the caller knows the admission is its own.
-- Answers 1 when the member was removed, 0 when it was not there (or, with
-- a tag, belongs to another request). The owner entry goes with the member.
if #KEYS ~= 2 or #ARGV < 1 or #ARGV > 2 then
  return redis.error_reply('ERR couponq release: expects 2 keys and 1 or 2 arguments')
end
local uid = ARGV[1]
if #uid < 1 or #uid > 19 or not string.match(uid, '^[1-9][0-9]*$') then
  return redis.error_reply('ERR couponq release: user id must be a decimal integer > 0')
end
if ARGV[2] ~= nil and redis.call('HGET', KEYS[2], uid) ~= ARGV[2] then
  return 0
end
redis.call('HDEL', KEYS[2], uid)
return redis.call('SREM', KEYS[1], uid)
