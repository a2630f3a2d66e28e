-- use.lua -- coupon use (redemption), atomic: the use budget, the
-- redemption records and their idempotency, one operation per call.
-- schemas/redemption.md is the contract (keys, answers, record, event); this
-- header says why the script is the way it is.
--
-- KEYS, always these 8, all couponq:{c<ID>}:... of one coupon (checked):
--   [1] meta  [2] use  [3] use:holds  [4] use:recs  [5] use:orders
--   [6] use:users  [7] issued  [8] use:revs
-- ARGV[1] the operation, then:
--   hold    rid event_id actor user_id order_id order_amount
--   confirm rid event_id actor
--   cancel  rid event_id actor
--   reverse rid event_id actor reversal_id amount
--   get     rid actor
--   undo    rid version prev prev_user event_id -> 1 (undone) or 0
--   finish  rid version                     -> 1 (finished) or 0
--   adjust  limit [expected]                -> confirmed + live holds
-- hold..get answer {code, new, finish, rid, state, refund_this, rec, prev};
-- hold adds prev_user (9 elements). rec is the record after the call and
-- carries everything else, its latest event included (the api builds it).
-- Or ARGV[1] batch, then per operation a count n and its n strings (the
-- operation and its arguments): an array of their answers, each exactly
-- what that operation answers alone, an invalid one its error (below).
--
-- Why the batch form: a call costs tens of us of Redis time before it does
-- anything (this top-level chunk, the key checks, INFO replication, the
-- meta/use read, TIME), and one hot coupon's checkouts are all on one Redis
-- thread. A batch of one coupon's operations pays that cost once (the api
-- sends those of one event-loop iteration together, api/redemption.c). Each
-- operation runs under its own pcall: Redis does not roll a script back on
-- error, so an error escaping one operation would leave the writes of the
-- operations before it in place with no answer for them; every operation
-- validates before its first write, so one refused changes nothing and the
-- others get their answers. The operations of one call share one clock
-- reading, fence verdict and use read (kept current where an operation
-- changes confirmed or limit): the same as running one after the other
-- within one millisecond.
--
-- Why one script and these keys: the budget (use, use:holds), the record and
-- its idempotency indexes must change together or not at all, and Redis runs
-- a script atomically. All keys carry the coupon's hash tag; the rid carries
-- the coupon id in its low 48 bits, and the script refuses a rid of another
-- coupon, so a record can never land where GET /v1/redemptions/{rid} will
-- not look for it.
--
-- Why validate everything first: a bad argument or a corrupt stored field is
-- a script error ('ERR couponq use: ...') raised before the first write, so a
-- refused call changes nothing. Stored records are read with cjson.decode
-- (numbers below 2^53 decode exactly) and every field is checked; records
-- are written with '%d' (istr) because cjson.encode prints 14
-- significant digits. User ids stay decimal strings throughout:
-- they reach 2^63-1, beyond a double.
--
-- The budget: confirmed + live holds <= limit (-1 = unlimited), live = score
-- > now. The holds are trimmed (ZREMRANGEBYSCORE <= now) before counting in
-- the same atomic step, so there is no cleanup job and a hold stops counting
-- exactly at its expires_ms. Lazy expiry: a record in state held whose x <=
-- now is "expired" in every answer, written or not. The expired transition
-- (a confirm or cancel of such a hold) does not touch use:holds: the member
-- no longer counts, the next trim removes it, and undo has nothing to put
-- back.
--
-- The fence: exactly as admit.lua (see its header): while meta `fence` is
-- not the server's master_replid the dataset is not known complete, and the
-- script answers `fenced` and writes nothing. undo and finish are not
-- fenced: they only complete or take back a transition this very dataset
-- made (the version must match). adjust is fenced (an error reply): its
-- in-use check would be against an unverified dataset.
--
-- Clock: Redis TIME, one reading per call (per batch).
--
-- Decisions the contract left open (a payments engineer's choices):
-- * Undo only reverts a transition whose event nobody else may have
--   produced. Every answer without a transition hands out the record's
--   latest event (the api re-produces it), so such an answer marks the
--   record `ep` 1, and undo of that version answers 0: the event may be in
--   Kafka, and reverting Redis under it would put Kafka ahead of Redis (the
--   next transition would reuse the version and the worker would drop it).
--   Redis ahead of Kafka is the recoverable direction: events are full
--   snapshots, a retry re-produces, reconcile --repair too. For the same
--   reason undo of a transition whose finish already ran answers 0.
-- * Undo names the transition by its event id too, not only its version:
--   the api keeps an undo whose outcome it does not know (the connection
--   dropped, its WAIT said fewer replicas) and sends it again to the next
--   primary. Between the two, the first undo may have run and a retry of
--   the request made a new transition of the same version (a new event id,
--   acknowledged by Kafka); the re-sent undo must leave that one alone, and
--   the record's `e` tells them apart.
-- * Answers without a transition carry finish = the record's `p`: whoever
--   re-produced the event may complete a finish that an earlier, killed api
--   never ran (GET answers it too, for reconcile; the api does not act on
--   GET's finish because it produces nothing for GET).
-- * A released hold keeps the user's use while its finish is pending and it
--   has not expired (p = 1 and x > now): an undo of the cancel would
--   otherwise give the user a second live hold next to one taken meanwhile.
--   Once finished (or expired) the user is free again.
-- * A hold never outlives use_until: x = min(now + ttl_ms, until_ms).
-- * hold with a non-zero actor other than user_id answers `forbidden` (the
--   api checks it too); order_conflict describes the existing redemption only
--   to an actor allowed to see it (service actor 0 or its own user), else
--   its fields are 0/"" (no record), so one user learns nothing of another's
--   order.
-- * Records carry `et` (the latest event's occurred_at_ms) and `ep` (above)
--   so the latest event can be rebuilt byte for byte from the record: the
--   answers carry the record, and the api builds the event from it.
-- * Money: refunds floor(d * amount / a) are exact for amounts up to 2^31-1
--   (muldiv below: the product is split so no intermediate reaches 2^53, and
--   each floor of a double division is corrected with an integer check); the
--   reversal that reaches a refunds d - rd, so the refunds sum to d. Vendor
--   lines: confirm +floor(d*bp/10000), each reversal -(floor(rd_after*bp/
--   10000) - floor(rd_before*bp/10000)); they telescope, so a full
--   reversal's lines sum to minus the confirm line exactly.

local MAXAMT = 2147483647   -- amounts: 2^31-1 minor units
local MAXINT = 9007199254740991 -- 2^53-1: times, counters, ids stored as numbers
local MAXLIMIT = 4294967295 -- coupons.use_limit is INT UNSIGNED

local function bad(msg)
  error('ERR couponq use: ' .. msg, 0)
end

-- The arguments of the operation being run: ARGV itself, or in a batch the
-- operation's own slice of it (main below).
local ARG = ARGV

-- What one call reads once, whatever number of operations it runs: the
-- use settings (load_use; kept current by the operations that change
-- them), the fence verdict and the clock.
local USE_READ, USE_U, FENCE, NOW = false, nil, nil, nil

-- Arguments ----------------------------------------------------------------

-- the value of a character is its position in the alphabet: found there
-- (plain find) rather than through a table, because building that table
-- cost more than everything else at the top of the script, and the top runs
-- on every call
local CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'

local function is_ulid(s)
  return type(s) == 'string' and #s == 26 and string.match(s, '^[0-7][0-9A-HJKMNP-TV-Z]+$') ~= nil
end

local COUPON = string.match(KEYS[1] or '', '^couponq:{c([1-9][0-9]*)}:meta$')
local COUPON_N = COUPON and #COUPON <= 15 and tonumber(COUPON)

-- Does a ULID carry COUPON_N in its low 48 bits? Those are its last 9
-- characters (45 bits) and the low 3 bits of the 17th, so the expected
-- tail is spelled once per call and each rid is compared with it, rather
-- than decoded (10 finds per rid). main checks COUPON_N < 2^48 first.
local RID_TAIL, RID_HI
local function rid_carries(rid)
  if RID_TAIL == nil then
    local n, t = COUPON_N % 35184372088832, {} -- 2^45
    for i = 9, 1, -1 do
      local d = n % 32
      t[i] = string.sub(CROCKFORD, d + 1, d + 1)
      n = (n - d) / 32
    end
    RID_TAIL, RID_HI = table.concat(t), math.floor(COUPON_N / 35184372088832)
  end
  return string.sub(rid, 18) == RID_TAIL
      and (string.find(CROCKFORD, string.sub(rid, 17, 17), 1, true) - 1) % 8 == RID_HI
end

local function rid_arg(s, what)
  if not is_ulid(s) then
    bad(what .. ' must be a ULID (26 Crockford base32 characters)')
  end
  if not rid_carries(s) then
    bad(what .. ' ' .. s .. ' does not carry coupon ' .. COUPON)
  end
  return s
end

local function ulid_arg(s, what)
  if not is_ulid(s) then
    bad(what .. ' must be a ULID (26 Crockford base32 characters)')
  end
  return s
end

local function is_uid(s)
  return type(s) == 'string' and #s >= 1 and #s <= 19 and string.match(s, '^[1-9][0-9]*$') ~= nil
      and (#s < 19 or s <= '9223372036854775807')
end

local function uid_arg(s, what, zero_ok)
  if (zero_ok and s == '0') or is_uid(s) then
    return s
  end
  bad(what .. ' must be a decimal integer 1..9223372036854775807' .. (zero_ok and ' or 0' or ''))
end

local function is_id(s)
  return type(s) == 'string' and #s >= 1 and #s <= 64 and string.match(s, '^[A-Za-z0-9._:%-]+$') ~= nil
end

local function id_arg(s, what)
  if not is_id(s) then
    bad(what .. ' must be 1 to 64 of [A-Za-z0-9._:-]')
  end
  return s
end

-- a canonical decimal integer string (no leading zeros, no "-0", no sign
-- "+", spaces, exponent, hex or fraction) in lo..hi: tonumber accepts all of
-- those, but only the canonical string prints back as itself (the bounds
-- are below 2^53, so the number is exact and %d prints it whole; a value
-- that is not a string, such as HMGET's false, is no number or not equal)
--
-- istr: string.format('%d', n), remembered for the call. A call formats the
-- same few numbers over and over (the clock reading, the coupon's discount
-- and share, 0 and 1, the amounts of one checkout flow), and each format is
-- a C sprintf that cost more than the rest of the record put together.
local ISTR = {}
local function istr(n)
  local t = ISTR[n]
  if t == nil then
    t = string.format('%d', n)
    ISTR[n] = t
  end
  return t
end

local function parse_int(s, lo, hi)
  local n = tonumber(s)
  if n == nil or not (n >= lo and n <= hi) or istr(n) ~= s then
    return nil
  end
  return n
end

local function int_arg(s, lo, hi, what)
  local n = parse_int(s, lo, hi)
  if n == nil then
    bad(what .. ' must be an integer ' .. string.format('%d..%d', lo, hi))
  end
  return n
end

-- Stored state ---------------------------------------------------------------

-- (v % 1 is NaN for NaN and +-inf, so they fail too)
local function is_int(v, lo, hi)
  return type(v) == 'number' and v % 1 == 0 and v >= lo and v <= hi
end

local STATES = { held = 1, confirmed = 1, released = 1, expired = 1, partially_reversed = 1, reversed = 1 }
local TYPES = { held = 1, confirmed = 1, released = 1, expired = 1, reversed = 1 }

local USE_NAMES = { 'limit', 'ttl_ms', 'until_ms', 'discount', 'min_amount', 'vendor', 'share_bps', 'reuse', 'confirmed' }
local USE_LO = { -1, 1, -1, 0, 0, 0, 0, 0, 0 }
local USE_HI = { MAXLIMIT, MAXINT, MAXINT, MAXAMT, MAXAMT, MAXINT, 10000, 1, MAXINT }

-- meta + use, validated; nil when the coupon has no meta or no use hash
-- (a meta without its state field is corrupt: EXISTS tells the two apart,
-- asked only then)
local function read_use()
  local m = redis.call('HMGET', KEYS[1], 'state', 'fence')
  if m[1] ~= 'open' and m[1] ~= 'closed' then
    if m[1] == false and m[2] == false and redis.call('EXISTS', KEYS[1]) == 0 then
      return nil
    end
    bad('corrupt meta hash ' .. KEYS[1])
  end
  local h = redis.call('HMGET', KEYS[2], unpack(USE_NAMES))
  local any = false
  for i = 1, #USE_NAMES do
    any = any or h[i] ~= false
  end
  if not any then
    return nil
  end
  local u = { state = m[1], fence = m[2] }
  for i = 1, #USE_NAMES do
    local name = USE_NAMES[i]
    u[name] = parse_int(h[i], USE_LO[i], USE_HI[i])
    if u[name] == nil then
      bad('corrupt use hash ' .. KEYS[2] .. ' field ' .. name)
    end
  end
  return u
end

-- read_use, once per call: an operation that changes the use hash changes
-- the returned table with it (confirmed, limit)
local function load_use()
  if not USE_READ then
    USE_U = read_use()
    USE_READ = true
  end
  return USE_U
end

-- once per call: INFO is among the costliest commands a call sends
local function fenced(u)
  if FENCE == nil then
    local replid = string.match(redis.call('INFO', 'replication'), 'master_replid:(%x+)')
    FENCE = replid == nil or u.fence ~= replid
  end
  return FENCE
end

-- The record field the checks of a record refuse first, or nil.
local function fault(r)
  if not is_uid(r.u) then return 'u' end
  if not is_id(r.o) then return 'o' end
  if not is_int(r.a, 0, MAXAMT) then return 'a' end
  if not is_int(r.d, 0, r.a) then return 'd' end
  if STATES[r.s] == nil then return 's' end
  if not is_int(r.h, 0, MAXINT) then return 'h' end
  if not is_int(r.x, r.h, MAXINT) then return 'x' end
  if not is_int(r.c, 0, MAXINT) then return 'c' end
  if not is_int(r.ra, 0, r.a) then return 'ra' end
  if not is_int(r.rd, 0, r.d) then return 'rd' end
  if not is_int(r.v, 1, MAXINT) then return 'v' end
  if not is_int(r.vd, 0, MAXINT) then return 'vd' end
  if not is_int(r.bp, 0, 10000) then return 'bp' end
  if not is_int(r.ru, 0, 1) then return 'ru' end
  if not is_int(r.p, 0, 1) then return 'p' end
  if not is_int(r.f, 0, 1) then return 'f' end
  if not is_ulid(r.e) then return 'e' end
  if TYPES[r.t] == nil then return 't' end
  if not is_int(r.et, 0, MAXINT) then return 'et' end
  if not is_int(r.ep, 0, 1) then return 'ep' end
  if r.ri ~= '' and not is_id(r.ri) then return 'ri' end
  if not is_int(r.rx, 0, r.a) then return 'rx' end
  if not is_int(r.rf, 0, r.d) then return 'rf' end
  if not is_int(r.rw, -MAXAMT, 0) then return 'rw' end
  return nil
end

-- fault's checks in one expression, without a call per number (a record is
-- read on most operations, and these calls were most of its cost): true
-- only if fault finds nothing. A number field of another type makes an
-- arithmetic or comparison error (a numeric string passes % but not >=),
-- which decode's pcall takes as "not sound"; fault then names the field.
local function sound(r)
  local a, d, h, x, ra, rd, c, v = r.a, r.d, r.h, r.x, r.ra, r.rd, r.c, r.v
  local vd, bp, et, rx, rf, rw = r.vd, r.bp, r.et, r.rx, r.rf, r.rw
  local ru, p, f, ep = r.ru, r.p, r.f, r.ep
  return a % 1 == 0 and a >= 0 and a <= MAXAMT and d % 1 == 0 and d >= 0 and d <= a
    and h % 1 == 0 and h >= 0 and h <= MAXINT and x % 1 == 0 and x >= h and x <= MAXINT
    and c % 1 == 0 and c >= 0 and c <= MAXINT and ra % 1 == 0 and ra >= 0 and ra <= a
    and rd % 1 == 0 and rd >= 0 and rd <= d and v % 1 == 0 and v >= 1 and v <= MAXINT
    and vd % 1 == 0 and vd >= 0 and vd <= MAXINT and bp % 1 == 0 and bp >= 0 and bp <= 10000
    and et % 1 == 0 and et >= 0 and et <= MAXINT and rx % 1 == 0 and rx >= 0 and rx <= a
    and rf % 1 == 0 and rf >= 0 and rf <= d and rw % 1 == 0 and rw >= -MAXAMT and rw <= 0
    and (ru == 0 or ru == 1) and (p == 0 or p == 1) and (f == 0 or f == 1) and (ep == 0 or ep == 1)
    and STATES[r.s] ~= nil and TYPES[r.t] ~= nil
    and is_uid(r.u) and is_id(r.o) and is_ulid(r.e) and (r.ri == '' or is_id(r.ri))
end

-- a record's JSON decoded and every field checked; nil and the reason if not
local function decode(raw)
  local ok, r = pcall(cjson.decode, raw)
  if not ok or type(r) ~= 'table' then
    return nil, 'not a JSON object'
  end
  local ran, fine = pcall(sound, r)
  if not (ran and fine) then
    local why = fault(r)
    if why ~= nil then
      return nil, why
    end
  end
  -- the money fields agree with the state
  local reversing = r.s == 'partially_reversed' or r.s == 'reversed'
  if reversing ~= (r.ra > 0) or (r.s == 'reversed') ~= (r.ra == r.a and r.ra > 0) then
    return nil, 's/ra'
  end
  if (r.p == 1 and r.s ~= 'released' and not (r.s == 'reversed' and r.ru == 1))
      or (r.f == 1 and not (r.s == 'reversed' and r.ru == 1)) or (r.p == 1 and r.f == 1) then
    return nil, 'p/f'
  end
  return r
end

local function load_rec(rid)
  local raw = redis.call('HGET', KEYS[4], rid)
  if raw == false then
    return nil
  end
  local r, why = decode(raw)
  if r == nil then
    bad('corrupt record ' .. rid .. ' in ' .. KEYS[4] .. ' (' .. why .. ')')
  end
  return r, raw
end

-- the record's one stored form (REC below reads it back): one
-- concatenation of strings, the numbers through istr, rather than a
-- string.format of 24 directives, each of which is its own sprintf
local function encode(r)
  return '{"u":"' .. r.u .. '","o":"' .. r.o .. '","a":' .. istr(r.a) .. ',"d":' .. istr(r.d)
    .. ',"s":"' .. r.s .. '","h":' .. istr(r.h) .. ',"x":' .. istr(r.x) .. ',"c":' .. istr(r.c)
    .. ',"ra":' .. istr(r.ra) .. ',"rd":' .. istr(r.rd) .. ',"v":' .. istr(r.v)
    .. ',"vd":' .. istr(r.vd) .. ',"bp":' .. istr(r.bp) .. ',"ru":' .. istr(r.ru)
    .. ',"p":' .. istr(r.p) .. ',"f":' .. istr(r.f) .. ',"e":"' .. r.e .. '","t":"' .. r.t
    .. '","et":' .. istr(r.et) .. ',"ep":' .. istr(r.ep) .. ',"ri":"' .. r.ri
    .. '","rx":' .. istr(r.rx) .. ',"rf":' .. istr(r.rf) .. ',"rw":' .. istr(r.rw) .. '}'
end

-- Money ----------------------------------------------------------------------

-- floor(n / z) for integers 0 <= n < 2^53, 1 <= z < 2^53: the double quotient
-- may round across an integer, so the floor is checked with exact products
local function divfloor(n, z)
  local q = math.floor(n / z)
  if q * z > n then
    q = q - 1
  elseif (q + 1) * z <= n then
    q = q + 1
  end
  return q
end

-- floor(x * y / z) exactly for 0 <= x, y <= 2^31-1, 1 <= z <= 2^31-1:
-- y = yh * 2^16 + yl, so x*yh and x*yl stay below 2^47 and the remainder
-- carried into the low part keeps the sum below 2^48
local function muldiv(x, y, z)
  local yh = math.floor(y / 65536)
  local yl = y - yh * 65536
  local q1 = divfloor(x * yh, z)
  local r1 = x * yh - q1 * z
  return q1 * 65536 + divfloor(r1 * 65536 + x * yl, z)
end

-- the vendor's share of a discount amount (0 when platform-funded)
local function share(r, amount)
  if r.vd == 0 then
    return 0
  end
  return muldiv(amount, r.bp, 10000)
end

-- Answers --------------------------------------------------------------------

local function view(r, now)
  if r.s == 'held' and r.x <= now then
    return 'expired'
  end
  return r.s
end

-- does this redemption still take its user's use (see the header)?
local function takes_use(r, now)
  if r.s == 'held' then
    return r.x > now
  elseif r.s == 'confirmed' or r.s == 'partially_reversed' then
    return true
  elseif r.s == 'released' then
    return r.p == 1 and r.x > now
  elseif r.s == 'reversed' then
    return r.f == 0
  end
  return false
end

-- {code, new, finish, rid, state, refund_this, rec, prev} (schemas/
-- redemption.md): rec is the record as stored after the call, in encode()'s
-- form, from which the api builds the event of its latest transition
-- (common/userec.c): that string, 24 fields long, was the costliest thing
-- the script formatted, and Redis is the one thread every checkout of a
-- coupon shares
local function answer(code, new, fin, rid, r, now, refund, rec, prev)
  if r == nil then
    return { code, 0, 0, '', '', 0, '', '' }
  end
  return { code, new, fin, rid, view(r, now), refund, rec, prev }
end

local function none(code)
  return answer(code)
end

-- an answer about an existing record without a transition: its latest event
-- goes out again, so the record is marked handed out (ep, see the header);
-- rec is encoded anew even when nothing changed, so the api only ever reads
-- encode()'s form
local function replay(code, rid, r, now, refund)
  local first = r.ep == 0
  r.ep = 1
  local rec = encode(r)
  if first then
    redis.call('HSET', KEYS[4], rid, rec)
  end
  return answer(code, 0, r.p, rid, r, now, refund or 0, rec, '')
end

-- a transition: the next version, this event, written; the record's JSON
local function commit(rid, r, t, eid, now)
  r.v = r.v + 1
  r.t = t
  r.e = eid
  r.et = now
  r.ep = 0
  local rec = encode(r)
  redis.call('HSET', KEYS[4], rid, rec)
  return rec
end

-- one reading per call: the operations of a batch happen at the same ms
local function now_ms()
  if NOW == nil then
    local t = redis.call('TIME')
    NOW = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return NOW
end

-- The live holds (score > now), for the budget. The expired ones are
-- trimmed first, once per call: afterwards every member added in this call
-- is live (a hold's x > now: not_usable refuses now >= until_ms) except one
-- an undo of a confirm puts back, which asks for the trim again; so ZCARD
-- counts exactly the live ones.
--
-- CARD mirrors ZCARD of use:holds once read: every change of the set in a
-- call goes through holds_add/holds_rem or the trim, which adjust it by
-- what Redis says they added or removed, so a call asks ZCARD once.
local TRIMMED, CARD = false, nil
local function live_holds(now)
  if not TRIMMED then
    local n = redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', istr(now))
    if CARD ~= nil then
      CARD = CARD - n
    end
    TRIMMED = true
  end
  if CARD == nil then
    CARD = redis.call('ZCARD', KEYS[3])
  end
  return CARD
end

-- scores and increments go to Redis as strings: a Lua number is printed
-- with an snprintf("%.17g") per argument, istr's result is already there
local function holds_add(x, rid)
  local n = redis.call('ZADD', KEYS[3], istr(x), rid)
  if CARD ~= nil then
    CARD = CARD + n
  end
end

local function holds_rem(rid)
  local n = redis.call('ZREM', KEYS[3], rid)
  if CARD ~= nil then
    CARD = CARD - n
  end
end

-- confirms add to use `confirmed` once per call, at its end (main): the
-- call is atomic, so nothing sees the sum in between, and the operations
-- read confirmed from load_use's table, which they keep current
local CONFIRMED = 0

local function argc(n)
  if #ARG ~= n then
    bad(ARG[1] .. ' expects ' .. (n - 1) .. ' arguments')
  end
end

-- Operations -----------------------------------------------------------------

local function op_hold()
  argc(7)
  local rid = rid_arg(ARG[2], 'rid')
  local eid = ulid_arg(ARG[3], 'event id')
  local actor = uid_arg(ARG[4], 'actor', true)
  local user = uid_arg(ARG[5], 'user id', false)
  local order = id_arg(ARG[6], 'order id')
  local amount = int_arg(ARG[7], 0, MAXAMT, 'order amount')
  local u = load_use()
  if u == nil then
    return none('not_found')
  end
  if fenced(u) then
    return none('fenced')
  end
  if actor ~= '0' and actor ~= user then
    return none('forbidden')
  end
  local now = now_ms()
  local orid = redis.call('HGET', KEYS[5], order)
  if orid ~= false then
    local r = load_rec(orid)
    if r == nil then
      bad('corrupt ' .. KEYS[5] .. ': order ' .. order .. ' names a missing record')
    end
    if r.u == user and r.a == amount then
      return replay('replay', orid, r, now)
    end
    if actor ~= '0' and r.u ~= actor then
      return none('order_conflict')
    end
    return replay('order_conflict', orid, r, now)
  end
  if u.state == 'closed' or (u.until_ms ~= -1 and now >= u.until_ms) then
    return none('not_usable')
  end
  if redis.call('SISMEMBER', KEYS[7], user) == 0 then
    return none('not_owned')
  end
  local urid = redis.call('HGET', KEYS[6], user)
  if urid ~= false then
    local r = load_rec(urid)
    if r == nil then
      bad('corrupt ' .. KEYS[6] .. ': user ' .. user .. ' names a missing record')
    end
    if takes_use(r, now) then
      return replay('already_used', urid, r, now)
    end
  end
  if amount < u.min_amount then
    return none('below_min_amount')
  end
  if u.limit >= 0 and u.confirmed + live_holds(now) >= u.limit then
    return none('use_sold_out')
  end
  local x = now + u.ttl_ms
  if u.until_ms ~= -1 and x > u.until_ms then
    x = u.until_ms
  end
  local r = {
    u = user, o = order, a = amount, d = math.min(u.discount, amount), s = 'held',
    h = now, x = x, c = 0, ra = 0, rd = 0, v = 1, vd = u.vendor, bp = u.share_bps,
    ru = u.reuse, p = 0, f = 0, e = eid, t = 'held', et = now, ep = 0,
    ri = '', rx = 0, rf = 0, rw = 0,
  }
  -- the first write, and the rid_taken check: it writes nothing if taken
  local rec = encode(r)
  if redis.call('HSETNX', KEYS[4], rid, rec) == 0 then
    return none('rid_taken')
  end
  holds_add(x, rid)
  redis.call('HSET', KEYS[5], order, rid)
  redis.call('HSET', KEYS[6], user, rid)
  local a = answer('held', 1, 0, rid, r, now, 0, rec, '')
  a[9] = urid or '' -- the user's redemption before this hold
  return a
end

-- every hold answer has 9 elements: prev_user is "" but for a new hold
local function op_hold9()
  local a = op_hold()
  if a[9] == nil then
    a[9] = ''
  end
  return a
end

-- the common start of confirm/cancel/reverse/get: the record, or an answer
local function load_for(rid, actor)
  local u = load_use()
  if u == nil then
    return nil, none('not_found')
  end
  local r, raw = load_rec(rid)
  if r == nil then
    return nil, none('not_found')
  end
  if fenced(u) then
    return nil, none('fenced')
  end
  if actor ~= '0' and actor ~= r.u then
    return nil, none('forbidden')
  end
  return r, raw
end

-- confirm or cancel of a hold that expired unwritten: the expired transition
local function expire(rid, r, raw, eid, now)
  r.s = 'expired'
  local rec = commit(rid, r, 'expired', eid, now)
  return answer('hold_expired', 1, 0, rid, r, now, 0, rec, raw)
end

-- confirm and cancel: their arguments (rid, event id, actor), checked, and
-- the record (nil with the answer to return when there is none to act on)
local function rid_call()
  argc(4)
  local rid = rid_arg(ARG[2], 'rid')
  local eid = ulid_arg(ARG[3], 'event id')
  local actor = uid_arg(ARG[4], 'actor', true)
  local r, raw = load_for(rid, actor)
  return rid, eid, r, raw
end

local function op_confirm()
  local rid, eid, r, raw = rid_call()
  if r == nil then
    return raw
  end
  local now = now_ms()
  if r.s == 'held' and r.x > now then
    r.s = 'confirmed'
    r.c = now
    holds_rem(rid)
    CONFIRMED = CONFIRMED + 1
    local u = load_use()
    u.confirmed = u.confirmed + 1
    local rec = commit(rid, r, 'confirmed', eid, now)
    return answer('confirmed', 1, 0, rid, r, now, 0, rec, raw)
  elseif r.s == 'held' then
    return expire(rid, r, raw, eid, now)
  elseif r.s == 'expired' then
    return replay('hold_expired', rid, r, now)
  elseif r.s == 'released' then
    return replay('not_held', rid, r, now)
  end
  return replay('confirmed', rid, r, now)
end

local function op_cancel()
  local rid, eid, r, raw = rid_call()
  if r == nil then
    return raw
  end
  local now = now_ms()
  if r.s == 'held' and r.x > now then
    -- the holds member stays (and counts) until finish: an undo can then
    -- restore the hold without ever exceeding the limit
    r.s = 'released'
    r.p = 1
    local rec = commit(rid, r, 'released', eid, now)
    return answer('released', 1, 1, rid, r, now, 0, rec, raw)
  elseif r.s == 'held' then
    return expire(rid, r, raw, eid, now)
  elseif r.s == 'expired' then
    return replay('hold_expired', rid, r, now)
  elseif r.s == 'released' then
    return replay('released', rid, r, now)
  end
  return replay('already_confirmed', rid, r, now)
end

local function decode_rev(raw, key)
  local ok, e = pcall(cjson.decode, raw)
  if not ok or type(e) ~= 'table' or not is_int(e.a, 1, MAXAMT) or not is_int(e.r, 0, MAXAMT)
      or not is_int(e.w, -MAXAMT, 0) or not is_ulid(e.e) then
    bad('corrupt reversal ' .. key .. ' in ' .. KEYS[8])
  end
  return e
end

local function op_reverse()
  argc(6)
  local rid = rid_arg(ARG[2], 'rid')
  local eid = ulid_arg(ARG[3], 'event id')
  local actor = uid_arg(ARG[4], 'actor', true)
  local revid = id_arg(ARG[5], 'reversal id')
  local amount = int_arg(ARG[6], 1, MAXAMT, 'reversal amount')
  local r, raw = load_for(rid, actor)
  if r == nil then
    return raw
  end
  local now = now_ms()
  if r.s ~= 'confirmed' and r.s ~= 'partially_reversed' and r.s ~= 'reversed' then
    return replay('not_confirmed', rid, r, now)
  end
  local key = rid .. '/' .. revid
  local old = redis.call('HGET', KEYS[8], key)
  if old ~= false then
    local e = decode_rev(old, key)
    if e.a == amount then
      return replay(r.s, rid, r, now, e.r)
    end
    return replay('reversal_conflict', rid, r, now)
  end
  local left = r.a - r.ra
  if left == 0 or amount > left then
    return replay('amount_too_large', rid, r, now)
  end
  local refund
  if amount == left then
    refund = r.d - r.rd
  else
    refund = muldiv(r.d, amount, r.a)
  end
  local vendor = share(r, r.rd) - share(r, r.rd + refund)
  r.ra = r.ra + amount
  r.rd = r.rd + refund
  r.ri, r.rx, r.rf, r.rw = revid, amount, refund, vendor
  if r.ra == r.a then
    r.s = 'reversed'
    if r.ru == 1 then
      r.p = 1 -- finish gives the use back once the event is in Kafka
    end
  else
    r.s = 'partially_reversed'
  end
  local rec = commit(rid, r, 'reversed', eid, now)
  redis.call('HSET', KEYS[8], key,
    string.format('{"a":%d,"r":%d,"w":%d,"e":"%s"}', amount, refund, vendor, eid))
  return answer(r.s, 1, r.p, rid, r, now, refund, rec, raw)
end

local function op_get()
  argc(3)
  local rid = rid_arg(ARG[2], 'rid')
  local actor = uid_arg(ARG[3], 'actor', true)
  local r, raw = load_for(rid, actor)
  if r == nil then
    return raw
  end
  return replay('found', rid, r, now_ms())
end

-- did the transition that made r wait for a finish (cancel, give-back)?
local function frees(r)
  return r.t == 'released' or (r.t == 'reversed' and r.ra == r.a and r.ru == 1)
end

-- prev must be the record r came from: the same redemption one version
-- earlier, in a state the transition r.t starts from
local function check_prev(p, r)
  for _, k in ipairs({ 'u', 'o', 'a', 'd', 'h', 'x', 'vd', 'bp', 'ru' }) do
    if p[k] ~= r[k] then
      return false
    end
  end
  if p.v ~= r.v - 1 then
    return false
  end
  if r.t == 'confirmed' or r.t == 'released' or r.t == 'expired' then
    return p.s == 'held'
  elseif r.t == 'reversed' then
    return (p.s == 'confirmed' or p.s == 'partially_reversed') and p.ra == r.ra - r.rx and p.rd == r.rd - r.rf
  end
  return false
end

local function op_undo()
  argc(6)
  local rid = rid_arg(ARG[2], 'rid')
  local version = int_arg(ARG[3], 1, MAXINT, 'version')
  local prev, prev_user = ARG[4], ARG[5]
  local eid = ulid_arg(ARG[6], 'event id')
  local p
  if version == 1 then
    if prev ~= '' then
      bad('undo of version 1 (a hold) takes prev ""')
    end
    if prev_user ~= '' then
      rid_arg(prev_user, 'prev_user')
    end
  else
    if prev_user ~= '' then
      bad('prev_user is only for the undo of a hold (version 1)')
    end
    if #prev > 4096 then
      bad('prev is not a record')
    end
    local why
    p, why = decode(prev)
    if p == nil then
      bad('prev is not a record (' .. why .. ')')
    end
  end
  local u = load_use()
  if u == nil then
    return 0
  end
  local r = load_rec(rid)
  if r == nil or r.v ~= version or r.e ~= eid or r.ep == 1 or (frees(r) and r.p == 0) then
    return 0
  end
  if version == 1 then
    if r.t ~= 'held' then
      bad('corrupt record ' .. rid .. ' (version 1 is not a hold)')
    end
    redis.call('HDEL', KEYS[4], rid)
    if redis.call('HGET', KEYS[5], r.o) == rid then
      redis.call('HDEL', KEYS[5], r.o)
    end
    holds_rem(rid)
    -- prev_user may itself have been undone since (a hold that expired
    -- before its own undo): then the user has no redemption left
    if redis.call('HGET', KEYS[6], r.u) == rid then
      if prev_user ~= '' and redis.call('HEXISTS', KEYS[4], prev_user) == 1 then
        redis.call('HSET', KEYS[6], r.u, prev_user)
      else
        redis.call('HDEL', KEYS[6], r.u)
      end
    end
    return 1
  end
  if not check_prev(p, r) then
    bad('prev is not the record before version ' .. version .. ' of ' .. rid)
  end
  if r.t == 'confirmed' then
    if u.confirmed < 1 then
      bad('corrupt use hash ' .. KEYS[2] .. ': confirmed 0 under a confirmed record')
    end
    redis.call('HINCRBY', KEYS[2], 'confirmed', -1)
    u.confirmed = u.confirmed - 1
    holds_add(r.x, rid)
    TRIMMED = false -- r.x may be <= now: trim again before counting
  elseif r.t == 'reversed' then
    redis.call('HDEL', KEYS[8], rid .. '/' .. r.ri)
  end
  redis.call('HSET', KEYS[4], rid, prev)
  return 1
end

local function op_finish()
  argc(3)
  local rid = rid_arg(ARG[2], 'rid')
  local version = int_arg(ARG[3], 1, MAXINT, 'version')
  local u = load_use()
  if u == nil then
    return 0
  end
  local r = load_rec(rid)
  if r == nil or r.v ~= version or r.p ~= 1 then
    return 0
  end
  if r.s == 'released' then
    holds_rem(rid)
  else -- reversed with reuse (decode allows p = 1 only there)
    if u.confirmed < 1 then
      bad('corrupt use hash ' .. KEYS[2] .. ': confirmed 0 under a reversed record')
    end
    redis.call('HINCRBY', KEYS[2], 'confirmed', -1)
    u.confirmed = u.confirmed - 1
    r.f = 1
  end
  r.p = 0
  redis.call('HSET', KEYS[4], rid, encode(r))
  return 1
end

-- with expected, a compare-and-set: refused (limit_changed <limit>) unless
-- the limit is still the one the caller read, so two concurrent adjusts
-- cannot interleave their reads and writes
local function op_adjust()
  if #ARG ~= 2 and #ARG ~= 3 then
    bad('adjust expects 1 or 2 arguments')
  end
  local limit = int_arg(ARG[2], -1, MAXLIMIT, 'limit')
  local expected = ARG[3] and int_arg(ARG[3], -1, MAXLIMIT, 'expected limit')
  local u = load_use()
  if u == nil then
    bad('not_found')
  end
  if fenced(u) then
    bad('fenced')
  end
  if expected and u.limit ~= expected then
    bad(string.format('limit_changed %d', u.limit))
  end
  local in_use = u.confirmed + live_holds(now_ms())
  if limit ~= -1 and limit < in_use then
    bad(string.format('below_in_use %d', in_use))
  end
  redis.call('HSET', KEYS[2], 'limit', ARG[2])
  u.limit = limit
  return in_use
end

local OPS = {
  hold = op_hold9, confirm = op_confirm, cancel = op_cancel, reverse = op_reverse,
  get = op_get, undo = op_undo, finish = op_finish, adjust = op_adjust,
}

-- one operation with its arguments in ARG: its answer, or its error as an
-- error reply (an operation refused before its first write changed nothing)
local function run(op)
  local ok, res = pcall(op)
  if not ok then
    return redis.error_reply(type(res) == 'string' and res or 'ERR couponq use: internal error')
  end
  return res
end

local UNKNOWN = 'unknown operation (hold confirm cancel reverse get undo finish adjust)'

local function find_op(name)
  local op = OPS[name or '']
  if op == nil then
    bad(UNKNOWN)
  end
  return op
end

-- the batch form: ARGV = batch, then per operation n, op, its n-1 arguments.
-- The framing is checked whole before any operation runs; then each runs
-- as if alone, in order, and its answer (or error) is the element of the
-- answer array.
local function batch()
  local first, last, i, nargv = {}, {}, 2, #ARGV
  while i <= nargv do
    local hi = math.min(7, nargv - i) -- hold, the longest, has 7
    local n = parse_int(ARGV[i], 1, hi)
    if n == nil then
      bad('batch: argument ' .. i .. ' must count the operation and its arguments that follow (1..' .. hi .. ')')
    end
    first[#first + 1], last[#last + 1] = i + 1, i + n
    i = i + n + 1
  end
  if #first == 0 then
    bad('batch: no operation')
  end
  local answers = {}
  for k = 1, #first do
    ARG = { unpack(ARGV, first[k], last[k]) }
    local op = OPS[ARG[1]]
    answers[k] = op and run(op) or redis.error_reply('ERR couponq use: ' .. UNKNOWN)
  end
  return answers
end

local function main()
  local suffixes = { 'meta', 'use', 'use:holds', 'use:recs', 'use:orders', 'use:users', 'issued', 'use:revs' }
  if #KEYS ~= 8 or not COUPON_N or COUPON_N > 281474976710655 then
    bad('expects the 8 keys couponq:{c<ID>}:meta, use, use:holds, use:recs, use:orders, use:users, issued, use:revs')
  end
  for i = 2, 8 do
    if KEYS[i] ~= 'couponq:{c' .. COUPON .. '}:' .. suffixes[i] then
      bad('key ' .. i .. ' must be couponq:{c' .. COUPON .. '}:' .. suffixes[i])
    end
  end
  if ARGV[1] == 'batch' then
    return batch()
  end
  return find_op(ARGV[1])()
end

-- the confirms' sum goes to the hash whatever main answered: an operation
-- that failed after its confirm counted (as the old direct HINCRBY did)
-- still leaves it counted
local res = run(main)
if CONFIRMED ~= 0 then
  redis.call('HINCRBY', KEYS[2], 'confirmed', istr(CONFIRMED))
end
return res
