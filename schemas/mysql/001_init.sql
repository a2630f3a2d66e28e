-- 001_init.sql -- coupons and the rows of issued coupons.
-- Applied idempotently (IF NOT EXISTS) and in file-name order by
-- scripts/stack, and as init scripts by the mysql container.
--
-- The UNIQUE(coupon_id, user_id) key is what makes the worker's inserts
-- idempotent; the CHECK is the last guard against over-issuing even if Redis
-- lost its state and a bug got past the worker's own check.

CREATE TABLE IF NOT EXISTS coupons (
  id                   BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  title                VARCHAR(200)    NOT NULL,
  coupon_type          VARCHAR(32)     NOT NULL DEFAULT 'FIRST_COME_FIRST_SERVED',
  total_quantity       INT UNSIGNED    NULL,     -- NULL = unlimited
  issued_quantity      INT UNSIGNED    NOT NULL DEFAULT 0,
  discount_amount      INT UNSIGNED    NOT NULL DEFAULT 0,
  min_available_amount INT UNSIGNED    NOT NULL DEFAULT 0,
  date_issue_start     DATETIME(3)     NOT NULL,
  date_issue_end       DATETIME(3)     NOT NULL,
  state                VARCHAR(16)     NOT NULL DEFAULT 'open', -- open|closed|archived
  date_created         DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  date_updated         DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                                       ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  KEY ix_coupons_state (state),
  CONSTRAINT ck_coupons_quantity
    CHECK (total_quantity IS NULL OR issued_quantity <= total_quantity),
  CONSTRAINT ck_coupons_window CHECK (date_issue_start < date_issue_end)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- No foreign key to coupons: the worker validates the coupon of every event
-- (unknown coupon -> DLQ) inside the same transaction, and an FK lookup per
-- row would cost drain throughput for no extra guarantee.
CREATE TABLE IF NOT EXISTS coupon_issues (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  coupon_id    BIGINT UNSIGNED NOT NULL,
  user_id      BIGINT UNSIGNED NOT NULL,
  event_id     CHAR(26)        NOT NULL,  -- ULID of the admitting event
  date_issued  DATETIME(3)     NOT NULL,  -- requested_at of the event
  date_used    DATETIME(3)     NULL,
  date_created DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  date_updated DATETIME(3)     NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
                               ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (id),
  UNIQUE KEY uq_coupon_issues_coupon_user (coupon_id, user_id),
  KEY ix_coupon_issues_user (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- Which DDL files have been applied (scripts/stack records them here).
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    VARCHAR(64) NOT NULL,
  applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  PRIMARY KEY (version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
