-- 003_redemption.sql -- coupon use: the use budget on coupons, redemptions,
-- their append-only event audit, vendors, the vendor ledger and
-- settlements (DESIGN.md "Redemption", schemas/redemption.md).
--
-- Workers write these from couponq.redemptions events; every event is a
-- snapshot with a version, so a row only moves forward (a replayed or
-- out-of-order event changes no row), and every table written per event is
-- keyed by event_id, so a crash or a replay never writes a line twice.

ALTER TABLE coupons
  ADD COLUMN IF NOT EXISTS use_limit           INT UNSIGNED      NULL,      -- NULL = the issued quantity
  ADD COLUMN IF NOT EXISTS used_quantity       INT               NOT NULL DEFAULT 0,
  ADD COLUMN IF NOT EXISTS hold_ttl_ms         INT UNSIGNED      NOT NULL DEFAULT 600000,
  ADD COLUMN IF NOT EXISTS use_until           DATETIME(3)       NULL,      -- NULL = none
  ADD COLUMN IF NOT EXISTS vendor_id           BIGINT UNSIGNED   NULL,      -- NULL = platform-funded
  ADD COLUMN IF NOT EXISTS vendor_share_bps    SMALLINT UNSIGNED NOT NULL DEFAULT 10000,
  ADD COLUMN IF NOT EXISTS reuse_after_reverse TINYINT(1)        NOT NULL DEFAULT 1;

-- used_quantity is signed: workers add +1 per new confirmed event and -1 per
-- new event that gives a use back; an out-of-order pair (a reversal consumed
-- before its confirm, possible after an api re-produce) passes through -1
-- within one batch. The CHECK is the database's own guard on the budget.
ALTER TABLE coupons
  ADD CONSTRAINT IF NOT EXISTS ck_coupons_use
    CHECK (use_limit IS NULL OR used_quantity <= use_limit),
  ADD CONSTRAINT IF NOT EXISTS ck_coupons_share
    CHECK (vendor_share_bps <= 10000);

CREATE TABLE IF NOT EXISTS vendors (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  name         VARCHAR(200)    NOT NULL,
  date_created DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_vendors_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The latest snapshot of each redemption (the event with the highest
-- version). state 'held' with expires_at <= NOW(3) reads as expired.
CREATE TABLE IF NOT EXISTS coupon_redemptions (
  id                  CHAR(26)          NOT NULL,  -- redemption id (ULID)
  coupon_id           BIGINT UNSIGNED   NOT NULL,
  user_id             BIGINT UNSIGNED   NOT NULL,
  order_id            VARCHAR(64)       NOT NULL,
  order_amount        BIGINT UNSIGNED   NOT NULL,
  discount            BIGINT UNSIGNED   NOT NULL,
  state               VARCHAR(20)       NOT NULL,  -- held|confirmed|released|expired|partially_reversed|reversed
  version             INT UNSIGNED      NOT NULL,
  held_at             DATETIME(3)       NOT NULL,
  expires_at          DATETIME(3)       NOT NULL,
  confirmed_at        DATETIME(3)       NULL,
  reversed_amount     BIGINT UNSIGNED   NOT NULL DEFAULT 0,
  refunded_discount   BIGINT UNSIGNED   NOT NULL DEFAULT 0,
  vendor_id           BIGINT UNSIGNED   NULL,
  vendor_share_bps    SMALLINT UNSIGNED NOT NULL,
  reuse_after_reverse TINYINT(1)        NOT NULL,
  use_freed           TINYINT(1)        NOT NULL DEFAULT 0,
  date_created        DATETIME(3)       NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  date_updated        DATETIME(3)       NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                        ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_coupon_redemptions_order (coupon_id, order_id),
  KEY ix_coupon_redemptions_state (coupon_id, state, expires_at),
  KEY ix_coupon_redemptions_user (coupon_id, user_id),
  CONSTRAINT ck_redemptions_discount CHECK (discount <= order_amount),
  CONSTRAINT ck_redemptions_reversed CHECK (reversed_amount <= order_amount),
  CONSTRAINT ck_redemptions_refund CHECK (refunded_discount <= discount)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Append-only: one row per event ever applied (INSERT IGNORE by event_id is
-- what makes a worker's side effects -- counters, ledger -- exactly once).
CREATE TABLE IF NOT EXISTS redemption_events (
  event_id      CHAR(26)     NOT NULL,
  redemption_id CHAR(26)     NOT NULL,
  type          VARCHAR(40)  NOT NULL,  -- coupon.redemption.held|confirmed|...
  payload       JSON         NOT NULL,  -- the event as consumed
  occurred_at   DATETIME(3)  NOT NULL,
  date_created  DATETIME(3)  NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (event_id),
  KEY ix_redemption_events_rid (redemption_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What each vendor is owed: the vendor's share of each discount, + on
-- confirm, - on reversal. A line is written once (UNIQUE event_id) and
-- edited once, when a settlement takes it (settlement_id NULL -> id).
CREATE TABLE IF NOT EXISTS vendor_ledger (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  vendor_id     BIGINT UNSIGNED NOT NULL,
  event_id      CHAR(26)        NOT NULL,
  redemption_id CHAR(26)        NOT NULL,
  amount        BIGINT          NOT NULL,
  settlement_id BIGINT UNSIGNED NULL,
  date_created  DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_vendor_ledger_event (event_id),
  KEY ix_vendor_ledger_open (vendor_id, settlement_id, date_created)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- One settlement per (vendor, until): settle twice, or again after a crash
-- (one transaction, so a crash leaves nothing), and you get the same one.
CREATE TABLE IF NOT EXISTS settlements (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  vendor_id    BIGINT UNSIGNED NOT NULL,
  until        DATETIME(3)     NOT NULL,
  total        BIGINT          NOT NULL,
  line_count   INT UNSIGNED    NOT NULL,
  date_created DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_settlements_vendor_until (vendor_id, until)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
