-- 002_coupon_live_counts.sql -- the live admission counts of a sale, copied
-- from Redis by `couponqctl sync` so dashboards that read MySQL see a running
-- sale in near real time. Kept apart from coupons.issued_quantity, which
-- counts committed rows only (the workers own it; mixing in Redis counts
-- would break the over-quantity CHECK the workers rely on).
CREATE TABLE IF NOT EXISTS coupon_live_counts (
  coupon_id    BIGINT UNSIGNED NOT NULL,
  admitted     INT UNSIGNED    NOT NULL, -- SCARD couponq:{c<ID>}:issued
  persisted    INT UNSIGNED    NOT NULL, -- SCARD couponq:{c<ID>}:persisted
  date_synced  DATETIME(3)     NOT NULL,
  PRIMARY KEY (coupon_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
