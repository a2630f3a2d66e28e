-- 004_redemption_sink.sql -- what the workers' redemption sink
-- (common/db_redemption.c) needs beyond 003_redemption.sql. A new file, not
-- an edit of 003: stacks that applied 003 get these on their next start.

-- What each event did when it was first consumed: applied (the row took its
-- snapshot), stale (a lower version: counters and ledger only) or
-- illegal_transition (nothing but this row; sent to the DLQ). A replayed
-- event is a duplicate and changes nothing -- but a worker killed between
-- its MySQL commit and the DLQ ack replays its batch, and an illegal event
-- must then reach the DLQ again: the replay reads it here.
ALTER TABLE redemption_events
  ADD COLUMN IF NOT EXISTS outcome VARCHAR(20) NOT NULL DEFAULT 'applied' AFTER type;

-- ck_coupons_use (used_quantity <= use_limit) goes. used_quantity is the sum
-- of per-event deltas (+1 confirm, -1 use given back) consumed from a topic
-- keyed by redemption, so events of two redemptions are not consumed in
-- Redis's order: a use given back by A and taken by B (Redis: +1 A, -1 A,
-- +1 B, never over the limit) may be consumed +1 A, +1 B, -1 A and pass
-- through limit + 1. The CHECK would refuse B's valid confirm (a permanent
-- error, DLQ db_error, a lost use). Redis guards the budget atomically
-- (use.lua); MySQL's count is exact once the topic is consumed, and the
-- worker logs a coupon whose count passes its limit.
ALTER TABLE coupons DROP CONSTRAINT IF EXISTS ck_coupons_use;
