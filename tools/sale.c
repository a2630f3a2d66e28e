/* sale.c -- create, adjust, status, sync, close, archive. See sale.h.
 *
 * Ordering rules, so that neither store ever lets through more than the
 * other allows:
 *   - create: the MySQL row first, then the Redis meta (admission cannot
 *     begin before workers can find the coupon);
 *   - raising a quantity: MySQL first, then Redis (a worker never sees an
 *     event admitted above the total it checks);
 *   - lowering: Redis first (adjust.lua refuses, atomically, to go below
 *     the admitted count), then MySQL;
 *   - close: Redis first (admission stops now), then MySQL;
 *   - archive: final counts into MySQL, then delete the Redis keys. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "coupon.h"
#include "ctlarg.h"
#include "event.h"
#include "kafka_conf.h"
#include "live_use.h"
#include "sale.h"
#include "timearg.h"
#include "use_rows.h"
#include "vendor.h"

#define ADJUST_ATTEMPTS 5

/* ------------------------------------------------------------ helpers */

static void sale_put_row(tool_t *t, const coupon_t *c)
{
    tool_set_str(t, "title", c->title);
    tool_set_str(t, "state", c->state);
    tool_set_total(t, "total", c->total);
    tool_set_int(t, "issued_quantity", c->issued);
    tool_set_time(t, "start", c->start_ms);
    tool_set_time(t, "end", c->end_ms);
}

static void sale_put_use(tool_t *t, const coupon_t *c)
{
    const coupon_use_t *u = &c->use;

    tool_set_int(t, "discount", c->discount);
    tool_set_int(t, "min_amount", c->min_amount);
    tool_set_total(t, "use_limit", u->limit);
    tool_set_int(t, "hold_ttl_ms", u->hold_ttl_ms);
    if (u->until_ms >= 0)
        tool_set_time(t, "use_until", u->until_ms);
    else
        tool_set_str(t, "use_until", "none");
    tool_set_int(t, "vendor_id", u->vendor_id);
    tool_set_int(t, "vendor_share_bps", u->share_bps);
    tool_set_bool(t, "reuse_after_reverse", u->reuse);
}

static const char *window_name(int64_t now, int64_t start, int64_t end)
{
    return now < start ? "upcoming" : now >= end ? "ended" : "running";
}

/* ------------------------------------------------------------ create */

static const cfg_opt_t create_opts[] = {
    TOOL_OPTS_COMMON,
    { "title", NULL, CFG_STR, 0, 0, NULL, "title of the sale (required)" },
    { "quantity", NULL, CFG_STR, 0, 0, NULL,
      "coupons to issue: N >= 1 or \"unlimited\" (required)" },
    { "start", NULL, CFG_STR, 0, 0, "now",
      "admission opens: RFC 3339, now, +10m, @unix-ms" },
    { "end", NULL, CFG_STR, 0, 0, NULL, "admission ends (required)" },
    /* use.lua takes amounts up to 2^31-1 (exact products in doubles). */
    { "discount", NULL, CFG_INT, 0, 2147483647LL, "0",
      "discount amount (minor units)" },
    { "min-amount", NULL, CFG_INT, 0, 2147483647LL, "0",
      "minimum order amount for a redemption" },
    { "id", NULL, CFG_INT, 0, INT64_MAX, "0",
      "coupon id to use (0 = the next AUTO_INCREMENT id; below 2^48)" },
    { "use-limit", NULL, CFG_STR, 0, 0, "unlimited",
      "redemptions that may be confirmed: N or \"unlimited\" (only "
      "ownership bounds use)" },
    { "hold-ttl", NULL, CFG_STR, 0, 0, "10m",
      "how long a hold lasts before it expires (1s .. 30d)" },
    { "use-until", NULL, CFG_STR, 0, 0, NULL,
      "no new holds from this time on (default: none)" },
    { "vendor", NULL, CFG_INT, 0, INT64_MAX, "0",
      "the vendor funding the discount (0 = the platform)" },
    { "vendor-share-bps", NULL, CFG_INT, 0, 10000, "10000",
      "the vendor's share of each discount, in basis points" },
    { "reuse", NULL, CFG_BOOL, 0, 0, "true",
      "a fully reversed redemption gives the use back (--no-reuse: never)" },
};

/* The use budget flags into c->use. */
static int create_use_args(tool_t *t, coupon_t *c, int64_t now)
{
    const config_t *cfg = tool_cfg(t);
    coupon_use_t *u = &c->use;
    char err[256];

    if (ctlarg_use(config_str(cfg, "use-limit"), config_str(cfg, "hold-ttl"),
                   config_str(cfg, "use-until"), now, c->start_ms, u, err,
                   sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
    u->vendor_id = config_int(cfg, "vendor");
    u->share_bps = config_int(cfg, "vendor-share-bps");
    u->reuse = config_bool(cfg, "reuse");
    return TOOL_EXIT_OK;
}

/* --vendor names a vendor that exists. */
static int create_check_vendor(tool_t *t, db_t *db, int64_t vendor)
{
    int found;

    if (vendor == 0)
        return TOOL_EXIT_OK;
    if (db_vendor_get(db, vendor, NULL, 0, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    if (!found)
        return tool_fail(t, TOOL_EXIT_USAGE,
                         "--vendor: no vendor %" PRId64
                         " (couponqctl vendor create --name NAME)",
                         vendor);
    return TOOL_EXIT_OK;
}

static int create_args(tool_t *t, coupon_t *c)
{
    const config_t *cfg = tool_cfg(t);
    const char *title = config_str(cfg, "title");
    const char *qty = config_str(cfg, "quantity");
    int64_t now = tool_now_ms();
    char err[256];

    if (config_npos(cfg) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "takes no arguments, only flags");
    if (title == NULL || qty == NULL || config_str(cfg, "end") == NULL)
        return tool_fail(t, TOOL_EXIT_USAGE,
                         "--title, --quantity and --end are required");
    if (title[0] == '\0' || strlen(title) > COUPON_TITLE_MAX)
        return tool_fail(t, TOOL_EXIT_USAGE, "--title: 1 to %d characters",
                         COUPON_TITLE_MAX);
    snprintf(c->title, sizeof(c->title), "%s", title);
    if (ctlarg_quantity("--quantity", qty, &c->total, err, sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
    if (c->total == 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "--quantity: must be >= 1");
    if (timearg_parse(config_str(cfg, "start"), now, &c->start_ms, err,
                      sizeof(err)) != 0 ||
        timearg_parse(config_str(cfg, "end"), now, &c->end_ms, err,
                      sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
    if (c->start_ms >= c->end_ms)
        return tool_fail(t, TOOL_EXIT_USAGE, "--end must be after --start");
    c->id = config_int(cfg, "id");
    if (ctlarg_use_coupon("--id", c->id, err, sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
    c->discount = config_int(cfg, "discount");
    c->min_amount = config_int(cfg, "min-amount");
    snprintf(c->state, sizeof(c->state), "open");
    return create_use_args(t, c, now);
}

static int cmd_create(tool_t *t)
{
    live_use_t u;
    live_meta_t m;
    coupon_t c;
    db_t *db;
    live_t *live;
    int rc;

    memset(&c, 0, sizeof(c));
    if ((rc = create_args(t, &c)) != TOOL_EXIT_OK)
        return rc;
    if ((db = tool_db(t)) == NULL || (live = tool_live(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if ((rc = create_check_vendor(t, db, c.use.vendor_id)) != TOOL_EXIT_OK)
        return rc;
    if (db_coupon_create(db, &c) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    tool_set_int(t, "coupon_id", c.id);
    if (c.id > CTLARG_USE_COUPON_MAX)
        return tool_fail(t, TOOL_EXIT_ERROR,
                         "coupon %" PRId64 " got an id >= 2^48, which a "
                         "redemption id cannot carry; it is in MySQL only",
                         c.id);
    /* The use hash before the meta: every use.lua op needs both, and the
     * meta is what makes the coupon exist for the api. */
    live_use_from_coupon(&c, &u);
    if (live_use_set(live, c.id, &u, 0, NULL) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR,
                         "coupon %" PRId64 " is in MySQL but not in Redis "
                         "(%s): run `couponqctl rebuild %" PRId64 "`",
                         c.id, live_error(live), c.id);
    memset(&m, 0, sizeof(m));
    m.total = c.total;
    m.start_ms = c.start_ms;
    m.end_ms = c.end_ms;
    snprintf(m.state, sizeof(m.state), "open");
    if (live_meta_set(live, c.id, &m) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR,
                         "coupon %" PRId64 " is in MySQL but not in Redis "
                         "(%s): run `couponqctl rebuild %" PRId64 "`",
                         c.id, live_error(live), c.id);
    sale_put_row(t, &c);
    sale_put_use(t, &c);
    return TOOL_EXIT_OK;
}

/* ------------------------------------------------------------ adjust */

static const cfg_opt_t adjust_opts[] = {
    TOOL_OPTS_COMMON,
    { "quantity", NULL, CFG_STR, 0, 0, NULL, "new total: N or \"unlimited\"" },
    { "add", NULL, CFG_STR, 0, 0, NULL, "raise the total by K" },
    { "sub", NULL, CFG_STR, 0, 0, NULL, "lower the total by K" },
};

static int is_raise(int64_t cur, int64_t next)
{
    if (next < 0)
        return 1; /* to unlimited */
    return cur >= 0 && next >= cur;
}

static int adjust_mysql(tool_t *t, int64_t id, int64_t total)
{
    db_t *db = tool_db(t);
    int found;

    if (db == NULL)
        return -1;
    if (db_coupon_set_total(db, id, total, &found) != 0) {
        tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
        return -1;
    }
    return 0;
}

#define ADJUST_RETRY (-1) /* the total changed between read and write */

/* Redis decides (atomically) whether a decrease is allowed; the refusal
 * names the admitted count. */
static int adjust_redis(tool_t *t, int64_t id, const live_meta_t *m,
                        int64_t next, int64_t *admitted)
{
    live_t *live = tool_live(t);
    live_adj_t res;

    if (live_adjust(live, id, m->total_text, next, &res, admitted) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    if (res == LIVE_ADJ_CHANGED || res == LIVE_ADJ_NOT_FOUND)
        return ADJUST_RETRY;
    if (res == LIVE_ADJ_BELOW_ADMITTED) {
        tool_set_int(t, "admitted", *admitted);
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "refused: %" PRId64 " users are already admitted; "
                         "the quantity cannot go below %" PRId64
                         " (asked for %" PRId64 ")",
                         *admitted, *admitted, next);
    }
    return TOOL_EXIT_OK;
}

/* One compare-and-set attempt: an exit code, or ADJUST_RETRY. */
static int adjust_once(tool_t *t, int64_t id, const ctlarg_adjust_t *a)
{
    live_t *live = tool_live(t);
    live_meta_t m;
    int64_t next, admitted = 0, ignored;
    live_adj_t res;
    char err[256], text[24];
    int found, raise, rc;

    if (live_meta_get(live, id, &m, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    if (!found)
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "coupon %" PRId64 " has no live sale in Redis "
                         "(archived, or Redis lost it: rebuild)",
                         id);
    if (ctlarg_adjust_apply(a, m.total, &next, err, sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
    raise = is_raise(m.total, next);
    if (raise && adjust_mysql(t, id, next) != 0)
        return TOOL_EXIT_ERROR;
    if ((rc = adjust_redis(t, id, &m, next, &admitted)) != TOOL_EXIT_OK)
        return rc;
    if (!raise && adjust_mysql(t, id, next) != 0) {
        /* Put Redis back so the two stores agree again. */
        snprintf(text, sizeof(text), "%" PRId64, next);
        live_adjust(live, id, text, m.total, &res, &ignored);
        return TOOL_EXIT_ERROR;
    }
    tool_set_total(t, "old_total", m.total);
    tool_set_total(t, "total", next);
    tool_set_int(t, "admitted", admitted);
    return TOOL_EXIT_OK;
}

static int cmd_adjust(tool_t *t)
{
    const config_t *cfg = tool_cfg(t);
    ctlarg_adjust_t a;
    coupon_t c;
    int64_t id;
    char err[256];
    int rc, i;

    if ((rc = tool_coupon_id(t, &id)) != TOOL_EXIT_OK)
        return rc;
    if (ctlarg_adjust_parse(config_str(cfg, "quantity"), config_str(cfg, "add"),
                            config_str(cfg, "sub"), &a, err, sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
    if ((rc = tool_coupon(t, id, &c)) != TOOL_EXIT_OK)
        return rc;
    if (tool_live(t) == NULL)
        return TOOL_EXIT_ERROR;
    for (i = 0; i < ADJUST_ATTEMPTS; i++)
        if ((rc = adjust_once(t, id, &a)) != ADJUST_RETRY)
            return rc;
    return tool_fail(t, TOOL_EXIT_ERROR,
                     "the quantity kept changing under "
                     "us (another adjust running?); try again");
}

/* ------------------------------------------------------------ status */

static const cfg_opt_t status_opts[] = {
    TOOL_OPTS_COMMON,
    { "live", NULL, CFG_BOOL, 0, 0, "false",
      "add Redis counts, pending, Kafka lag and DLQ size" },
};

/* The group's lag on topic (sum over partitions of high watermark minus
 * committed offset, or minus the low watermark where nothing was committed)
 * and the DLQ's message count. */
static int kafka_figures(tool_t *t, int64_t *lag, int64_t *dlq)
{
    const char *topic = config_str(tool_cfg(t), "topic");
    int64_t lo[TOPIC_MAX_PARTITIONS], hi[TOPIC_MAX_PARTITIONS],
        committed[TOPIC_MAX_PARTITIONS];
    topic_t *k = tool_kafka(t);
    char dlq_topic[256];
    int32_t n, p;

    if (k == NULL)
        return -1;
    if (topic_partitions(k, topic, &n) != 0 ||
        topic_all_watermarks(k, topic, n, lo, hi) != 0 ||
        topic_committed(k, topic, n, committed) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k)), -1;
    for (*lag = 0, p = 0; p < n; p++)
        *lag += hi[p] - (committed[p] >= 0 ? committed[p] : lo[p]);
    kafka_dlq_topic(topic, dlq_topic, sizeof(dlq_topic));
    if (topic_partitions(k, dlq_topic, &n) != 0 ||
        topic_all_watermarks(k, dlq_topic, n, lo, hi) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", topic_error(k)), -1;
    for (*dlq = 0, p = 0; p < n; p++)
        *dlq += hi[p] - lo[p];
    return 0;
}

static int status_live(tool_t *t, int64_t id, int64_t rows)
{
    live_t *live = tool_live(t);
    int64_t admitted, persisted, lag, dlq;
    live_meta_t m;
    int found;

    if (live == NULL)
        return TOOL_EXIT_ERROR;
    if (live_meta_get(live, id, &m, &found) != 0 ||
        live_counts(live, id, &admitted, &persisted) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    tool_set_str(t, "redis_state", found ? m.state : "absent");
    if (found)
        tool_set_total(t, "redis_total", m.total);
    tool_set_int(t, "admitted", admitted);
    tool_set_int(t, "persisted", persisted);
    /* MySQL is the truth about what is persisted; the set is a cache. */
    tool_set_int(t, "pending", admitted > rows ? admitted - rows : 0);
    if (kafka_figures(t, &lag, &dlq) != 0)
        return TOOL_EXIT_ERROR;
    tool_set_str(t, "group", config_str(tool_cfg(t), "group"));
    tool_set_int(t, "consumer_lag", lag);
    tool_set_int(t, "dlq_messages", dlq);
    return TOOL_EXIT_OK;
}

/* The use budget: MySQL's settings, used_quantity and redemptions by
 * state, and Redis's counters (the use hash and ZCOUNT of the live holds:
 * no scan of anything the api touches per request). */
static int status_use(tool_t *t, int64_t id, const coupon_t *c)
{
    int64_t counts[USE_NSTATES], limit, confirmed, holds;
    live_t *live;
    size_t i;
    int found;

    sale_put_use(t, c);
    tool_set_int(t, "used_quantity", c->use.used);
    if (db_use_states(tool_db(t), id, counts) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(tool_db(t)));
    for (i = 0; i < USE_NSTATES; i++)
        tool_set_count(t, "redemptions", use_state_names[i], counts[i]);
    if ((live = tool_live(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if (live_use_budget(live, id, &limit, &confirmed, &holds, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    tool_set_bool(t, "redis_use", found);
    if (found) {
        tool_set_total(t, "redis_use_limit", limit);
        tool_set_int(t, "redis_confirmed", confirmed);
        tool_set_int(t, "redis_live_holds", holds);
    }
    return TOOL_EXIT_OK;
}

static int cmd_status(tool_t *t)
{
    int64_t id, issued, rows;
    coupon_t c;
    int rc, found;

    if ((rc = tool_coupon_id(t, &id)) != TOOL_EXIT_OK ||
        (rc = tool_coupon(t, id, &c)) != TOOL_EXIT_OK)
        return rc;
    if (db_coupon_counts(tool_db(t), id, &issued, &rows, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(tool_db(t)));
    sale_put_row(t, &c);
    tool_set_int(t, "rows", rows);
    tool_set_str(t, "window", window_name(tool_now_ms(), c.start_ms, c.end_ms));
    if ((rc = status_use(t, id, &c)) != TOOL_EXIT_OK)
        return rc;
    if (config_bool(tool_cfg(t), "live"))
        return status_live(t, id, rows);
    return TOOL_EXIT_OK;
}

/* ------------------------------------------------------------ sync */

static const cfg_opt_t plain_opts[] = { TOOL_OPTS_COMMON };

static int cmd_sync(tool_t *t)
{
    int64_t id, admitted, persisted;
    coupon_t c;
    live_t *live;
    int rc;

    if ((rc = tool_coupon_id(t, &id)) != TOOL_EXIT_OK ||
        (rc = tool_coupon(t, id, &c)) != TOOL_EXIT_OK)
        return rc;
    if ((live = tool_live(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if (live_counts(live, id, &admitted, &persisted) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    if (db_coupon_save_live(tool_db(t), id, admitted, persisted) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(tool_db(t)));
    tool_set_int(t, "admitted", admitted);
    tool_set_int(t, "persisted", persisted);
    return TOOL_EXIT_OK;
}

/* ------------------------------------------------------------ close */

static int cmd_close(tool_t *t)
{
    int64_t id;
    coupon_t c;
    live_t *live;
    int rc, in_redis, found;

    if ((rc = tool_coupon_id(t, &id)) != TOOL_EXIT_OK ||
        (rc = tool_coupon(t, id, &c)) != TOOL_EXIT_OK)
        return rc;
    if (strcmp(c.state, "archived") == 0)
        return tool_fail(t, TOOL_EXIT_REFUSED, "coupon %" PRId64 " is archived",
                         id);
    if ((live = tool_live(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if (live_set_state(live, id, "closed", &in_redis) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    if (db_coupon_set_state(tool_db(t), id, "closed", &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(tool_db(t)));
    tool_set_str(t, "state", "closed");
    tool_set_bool(t, "redis_meta", in_redis);
    return TOOL_EXIT_OK;
}

/* ------------------------------------------------------------ archive */

static const cfg_opt_t archive_opts[] = {
    TOOL_OPTS_COMMON,
    { "force", NULL, CFG_BOOL, 0, 0, "false",
      "archive even while admitted users have no row yet" },
};

/* May the sale be archived? Reports why not. */
static int archive_check(tool_t *t, int64_t id, const coupon_t *c,
                         const live_meta_t *m, int in_redis, int64_t pending)
{
    int64_t now = tool_now_ms();
    const char *state = in_redis ? m->state : c->state;
    int64_t end = in_redis ? m->end_ms : c->end_ms;
    char when[40];

    if (strcmp(state, "closed") != 0 && now < end) {
        event_format_time(end, when, sizeof(when));
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "coupon %" PRId64 " is still open (ends %s); close "
                         "it first",
                         id, when);
    }
    if (pending > 0 && !config_bool(tool_cfg(t), "force"))
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "%" PRId64 " admitted users have no row yet (wait "
                         "for the workers, or reconcile; --force archives "
                         "anyway)",
                         pending);
    return TOOL_EXIT_OK;
}

static int archive_mysql(tool_t *t, int64_t id, int64_t admitted,
                         int64_t persisted)
{
    db_t *db = tool_db(t);
    int64_t issued;
    int found;

    if (db_coupon_fix_issued(db, id, &issued) != 0 ||
        db_coupon_save_live(db, id, admitted, persisted) != 0 ||
        db_coupon_set_state(db, id, "archived", &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    tool_set_int(t, "issued_quantity", issued);
    return TOOL_EXIT_OK;
}

static int cmd_archive(tool_t *t)
{
    int64_t id, admitted, persisted, issued, rows, keys, bytes;
    live_meta_t m;
    coupon_t c;
    live_t *live;
    int rc, in_redis, found;

    if ((rc = tool_coupon_id(t, &id)) != TOOL_EXIT_OK ||
        (rc = tool_coupon(t, id, &c)) != TOOL_EXIT_OK)
        return rc;
    if ((live = tool_live(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if (live_meta_get(live, id, &m, &in_redis) != 0 ||
        live_counts(live, id, &admitted, &persisted) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    if (db_coupon_counts(tool_db(t), id, &issued, &rows, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(tool_db(t)));
    tool_set_int(t, "admitted", admitted);
    tool_set_int(t, "rows", rows);
    if (strcmp(c.state, "archived") == 0 && !in_redis && admitted == 0) {
        tool_set_str(t, "state", "archived");
        tool_set_int(t, "freed_keys", 0);
        return TOOL_EXIT_OK; /* already done: archiving is idempotent */
    }
    rc = archive_check(t, id, &c, &m, in_redis,
                       admitted > rows ? admitted - rows : 0);
    if (rc != TOOL_EXIT_OK ||
        (rc = archive_mysql(t, id, admitted, persisted)) != TOOL_EXIT_OK)
        return rc;
    if (live_delete(live, id, &keys, &bytes) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "archived in MySQL, but: %s",
                         live_error(live));
    tool_set_str(t, "state", "archived");
    tool_set_int(t, "freed_keys", keys);
    tool_set_int(t, "freed_bytes", bytes);
    return TOOL_EXIT_OK;
}

/* ------------------------------------------------------------ table */

#define NOPTS(a) (sizeof(a) / sizeof((a)[0]))

const tool_cmd_t sale_cmds[] = {
    { "create",
      "--title T --quantity N|unlimited --end TIME [--start TIME] "
      "[--discount N] [--min-amount N] [--use-limit N] [--hold-ttl DURATION] "
      "[--use-until TIME] [--vendor ID] [--vendor-share-bps N] [--no-reuse]",
      "Creates a sale: the MySQL row, then the Redis use hash (the\n"
      "redemption budget: --use-limit, --hold-ttl, ...) and meta; prints the\n"
      "id. A coupon id must be below 2^48 (a redemption id carries it).\n"
      "TIME is RFC 3339 (2026-11-22T14:00:00Z, offsets allowed), now, a\n"
      "relative time (+10m, +1h30m, -5m; units ms s m h d) or @unix-ms.",
      create_opts, NOPTS(create_opts), cmd_create },
    { "adjust", "ID --quantity N|unlimited | --add K | --sub K",
      "Raises or lowers the quantity of a running sale in MySQL and Redis.\n"
      "Lowering below the number of users already admitted is refused (exit\n"
      "3) with that number: admitted users were promised their coupon.",
      adjust_opts, NOPTS(adjust_opts), cmd_adjust },
    { "status", "ID [--live]",
      "Reads MySQL: total, issued rows, state, window; the use budget\n"
      "(settings, used_quantity, redemptions by state, a held one past its\n"
      "expiry counted as expired) and its Redis counters (limit, confirmed,\n"
      "live holds). --live adds the Redis admitted count, pending (admitted\n"
      "without a row), the workers' consumer lag on --topic and the DLQ's\n"
      "message count.",
      status_opts, NOPTS(status_opts), cmd_status },
    { "sync", "ID",
      "Copies the live Redis counts (admitted, persisted) into MySQL table\n"
      "coupon_live_counts, for dashboards that read MySQL.",
      plain_opts, NOPTS(plain_opts), cmd_sync },
    { "close", "ID",
      "Stops admission now: state closed in Redis, then in MySQL.", plain_opts,
      NOPTS(plain_opts), cmd_close },
    { "archive", "ID [--force]",
      "For an ended or closed sale whose admitted users all have rows:\n"
      "final counts into MySQL, state archived, then the sale's Redis keys\n"
      "deleted. Reports what it freed. Refuses (exit 3) while users are\n"
      "pending, unless --force.",
      archive_opts, NOPTS(archive_opts), cmd_archive },
};

const size_t sale_ncmds = NOPTS(sale_cmds);
