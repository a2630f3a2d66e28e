/* redeem.c -- vendor create/show, settle, use adjust. See redeem.h.
 *
 * Money moves through the vendor ledger only (the workers write a line per
 * confirmed or reversed redemption of a vendor-funded coupon); these
 * commands read it and close periods of it into settlements. A settlement
 * is one MySQL transaction (common/db_vendor.c), so a crash leaves no half
 * settlement, and (vendor, until) is UNIQUE, so settling again answers the
 * same settlement. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coupon.h"
#include "ctlarg.h"
#include "live_use.h"
#include "redeem.h"
#include "timearg.h"
#include "vendor.h"

#define NOPTS(a)         (sizeof(a) / sizeof((a)[0]))
#define ER_DUP_ENTRY_NUM 1062
#define DB_NOW_MS_SQL                                                          \
    "SELECT CAST(ROUND(UNIX_TIMESTAMP(NOW(3)) * 1000) AS SIGNED)"

/* ------------------------------------------------------------ vendor */

static const cfg_opt_t vendor_opts[] = {
    TOOL_OPTS_COMMON,
    { "name", NULL, CFG_STR, 0, 0, NULL, "create: the vendor's name" },
};

/* The ID after a subcommand word, e.g. `vendor show ID`. */
static int sub_id(tool_t *t, const char *what, int64_t *id)
{
    const config_t *cfg = tool_cfg(t);
    char err[256];

    if (config_npos(cfg) != 2)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s expects exactly one id", what);
    if (ctlarg_id(config_pos(cfg, 1), id, err, sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s: %s", what, err);
    return TOOL_EXIT_OK;
}

static int vendor_create(tool_t *t)
{
    const char *name = config_str(tool_cfg(t), "name");
    db_t *db;
    int64_t id;

    if (config_npos(tool_cfg(t)) != 1)
        return tool_fail(t, TOOL_EXIT_USAGE, "vendor create takes no id");
    if (name == NULL || name[0] == '\0' || strlen(name) > VENDOR_NAME_MAX)
        return tool_fail(t, TOOL_EXIT_USAGE, "--name: 1 to %d characters",
                         VENDOR_NAME_MAX);
    if ((db = tool_db(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if (db_vendor_create(db, name, &id) != 0) {
        if (db_errno(db) == ER_DUP_ENTRY_NUM)
            return tool_fail(t, TOOL_EXIT_REFUSED,
                             "a vendor named \"%s\" exists already", name);
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    }
    tool_set_int(t, "vendor_id", id);
    tool_set_str(t, "name", name);
    tool_quiet(t, "vendor_id");
    return TOOL_EXIT_OK;
}

static void put_settlement(tool_t *t, const char *list,
                           const vendor_settlement_t *s)
{
    tool_item_int(t, list, "id", s->id);
    tool_item_time(t, list, "until", s->until_ms);
    tool_item_int(t, list, "total", s->total);
    tool_item_int(t, list, "line_count", s->line_count);
    tool_item_time(t, list, "created", s->created_ms);
}

static int vendor_lists(tool_t *t, db_t *db, int64_t id)
{
    vendor_settlement_t *s = NULL;
    vendor_line_t *l = NULL;
    size_t ns = 0, nl = 0, i;
    int rc = TOOL_EXIT_ERROR;

    if (db_vendor_settlements(db, id, &s, &ns) != 0 ||
        db_vendor_open_lines(db, id, &l, &nl) != 0) {
        rc = tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
        goto out;
    }
    tool_set_int(t, "settlement_count", (int64_t)ns);
    for (i = 0; i < ns; i++) {
        tool_add_item(t, "settlements");
        put_settlement(t, "settlements", &s[i]);
    }
    for (i = 0; i < nl; i++) {
        tool_add_item(t, "open_lines");
        tool_item_int(t, "open_lines", "id", l[i].id);
        tool_item_str(t, "open_lines", "redemption_id", l[i].redemption_id);
        tool_item_str(t, "open_lines", "event_id", l[i].event_id);
        tool_item_int(t, "open_lines", "amount", l[i].amount);
        tool_item_time(t, "open_lines", "created", l[i].created_ms);
    }
    rc = TOOL_EXIT_OK;
out:
    free(s);
    free(l);
    return rc;
}

static int vendor_show(tool_t *t)
{
    int64_t id = 0, balance, open_sum, open_count;
    char name[VENDOR_NAME_MAX * 4 + 1];
    db_t *db;
    int rc, found;

    if ((rc = sub_id(t, "vendor show", &id)) != TOOL_EXIT_OK)
        return rc;
    if ((db = tool_db(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if (db_vendor_get(db, id, name, sizeof(name), &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    if (!found)
        return tool_fail(t, TOOL_EXIT_NOT_FOUND, "no vendor %" PRId64, id);
    if (db_vendor_balance(db, id, &balance, &open_sum, &open_count) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    tool_set_int(t, "vendor_id", id);
    tool_set_str(t, "name", name);
    tool_set_int(t, "balance", balance);
    tool_set_int(t, "open_total", open_sum);
    tool_set_int(t, "open_line_count", open_count);
    return vendor_lists(t, db, id);
}

static int cmd_vendor(tool_t *t)
{
    const char *sub =
        config_npos(tool_cfg(t)) > 0 ? config_pos(tool_cfg(t), 0) : "";

    if (strcmp(sub, "create") == 0)
        return vendor_create(t);
    if (strcmp(sub, "show") == 0)
        return vendor_show(t);
    return tool_fail(t, TOOL_EXIT_USAGE,
                     "expects `vendor create --name NAME` or `vendor show "
                     "ID`");
}

/* ------------------------------------------------------------ settle */

static const cfg_opt_t settle_opts[] = {
    TOOL_OPTS_COMMON,
    { "vendor", NULL, CFG_INT, 1, INT64_MAX, NULL, "the vendor (required)" },
    { "until", NULL, CFG_STR, 0, 0, NULL,
      "settle the lines dated up to this time (required; not in the "
      "future)" },
};

/* The test hook: a crash between moving the lines and COMMIT must leave
 * nothing (the server rolls the transaction back when we vanish). */
static void settle_crash_hook(void *arg)
{
    const char *v = getenv(REDEEM_CRASH_ENV);

    (void)arg;
    if (v != NULL && strcmp(v, "after_lines") == 0) {
        fprintf(stderr,
                "couponqctl settle: %s=after_lines: exiting before "
                "COMMIT (test hook)\n",
                REDEEM_CRASH_ENV);
        _exit(REDEEM_CRASH_EXIT);
    }
}

static int cmd_settle(tool_t *t)
{
    const config_t *cfg = tool_cfg(t);
    const char *until_s = config_str(cfg, "until");
    vendor_settlement_t s;
    db_settle_t res;
    int64_t until, now;
    char err[256];
    db_t *db;
    int found;

    if (config_npos(cfg) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "takes no arguments, only flags");
    if (!config_is_set(cfg, "vendor") || until_s == NULL)
        return tool_fail(t, TOOL_EXIT_USAGE,
                         "--vendor and --until are required");
    if ((db = tool_db(t)) == NULL)
        return TOOL_EXIT_ERROR;
    /* "now" and relative times count from the database's clock, the one
     * the lines are dated by and --until is checked against. */
    if (db_query_int(db, DB_NOW_MS_SQL, &now, &found) != 0 || !found)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    if (timearg_parse(until_s, now, &until, err, sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "--until: %s", err);
    if (db_vendor_settle(db, config_int(cfg, "vendor"), until,
                         settle_crash_hook, NULL, &s, &res) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    if (res == DB_SETTLE_NO_VENDOR)
        return tool_fail(t, TOOL_EXIT_NOT_FOUND, "no vendor %lld",
                         config_int(cfg, "vendor"));
    if (res == DB_SETTLE_FUTURE)
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "--until lies in the future by the database clock: "
                         "lines dated before it may still arrive");
    tool_set_int(t, "settlement_id", s.id);
    tool_set_int(t, "vendor_id", s.vendor_id);
    tool_set_time(t, "until", s.until_ms);
    tool_set_int(t, "total", s.total);
    tool_set_int(t, "line_count", s.line_count);
    tool_set_time(t, "created", s.created_ms);
    tool_set_bool(t, "existing", res == DB_SETTLE_EXISTING);
    return TOOL_EXIT_OK;
}

/* ------------------------------------------------------------ use */

static const cfg_opt_t use_opts[] = {
    TOOL_OPTS_COMMON,
    { "limit", NULL, CFG_STR, 0, 0, NULL,
      "adjust: the new use limit, N or \"unlimited\" (required)" },
};

#define ADJUST_RACED  (-1) /* a store's limit changed since it was read */
#define ADJUST_TRIES  3
#define ADJUST_LOCK_S 30 /* waiting for another adjust of the coupon */

/* MySQL's use_limit from expected to limit, a compare-and-set. */
static int use_mysql(tool_t *t, int64_t id, int64_t expected, int64_t limit)
{
    db_t *db = tool_db(t);
    int swapped;

    if (db_coupon_cas_use_limit(db, id, expected, limit, &swapped) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    return swapped ? TOOL_EXIT_OK : ADJUST_RACED;
}

/* use.lua's adjust from expected to limit (compare-and-set); the refusals
 * are exit 3 with the reason. */
static int use_redis(tool_t *t, int64_t id, int64_t expected, int64_t limit,
                     int64_t *in_use)
{
    live_t *live = tool_live(t);
    live_use_res_t res;

    if (live_use_adjust(live, id, limit, expected, &res, in_use) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(live));
    if (res == LIVE_USE_BELOW) {
        tool_set_int(t, "in_use", *in_use);
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "refused: %" PRId64 " uses are confirmed or held; "
                         "the limit cannot go below %" PRId64
                         " (asked for %" PRId64 ")",
                         *in_use, *in_use, limit);
    }
    if (res == LIVE_USE_CHANGED)
        return ADJUST_RACED;
    if (res != LIVE_USE_OK)
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "coupon %" PRId64 " %s; nothing changed", id,
                         res == LIVE_USE_FENCED
                             ? "is fenced (its Redis dataset is not verified "
                               "yet: the fence guard lifts it)"
                             : "has no use hash in Redis (rebuild it)");
    return TOOL_EXIT_OK;
}

/* One attempt: TOOL_EXIT_OK (*cur = the limit Redis had), ADJUST_RACED
 * (nothing changed: our first write, if any, taken back), or a reported
 * failure.
 *
 * Raising: MySQL first, so a worker never counts a confirm above the
 * limit MySQL's CHECK holds it to. Lowering: Redis first (use.lua refuses,
 * atomically, to go below confirmed + live holds), then MySQL. Both writes
 * are compare-and-sets from the limits read at the start (MySQL's row,
 * Redis's use hash), so two adjusts at once never interleave into Redis
 * with one limit and MySQL with the other: the one that finds its store
 * changed takes back its own first write -- a compare-and-set too, so it
 * never overwrites the other's -- and tries again. */
static int adjust_once(tool_t *t, int64_t id, int64_t next, int64_t *cur,
                       int64_t *in_use)
{
    int64_t confirmed, holds, ignored;
    live_use_res_t res;
    coupon_t c;
    int rc, found, raise, swapped;

    if ((rc = tool_coupon(t, id, &c)) != TOOL_EXIT_OK)
        return rc;
    if (live_use_budget(tool_live(t), id, cur, &confirmed, &holds, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", live_error(tool_live(t)));
    if (!found)
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "coupon %" PRId64 " has no use hash in Redis "
                         "(rebuild it); nothing changed",
                         id);
    raise = next < 0 || (*cur >= 0 && next >= *cur);
    if (raise && (rc = use_mysql(t, id, c.use.limit, next)) != TOOL_EXIT_OK)
        return rc;
    if ((rc = use_redis(t, id, *cur, next, in_use)) != TOOL_EXIT_OK) {
        if (raise) /* both stores as before */
            db_coupon_cas_use_limit(tool_db(t), id, next, c.use.limit,
                                    &swapped);
        return rc;
    }
    if (!raise && (rc = use_mysql(t, id, c.use.limit, next)) != TOOL_EXIT_OK)
        live_use_adjust(tool_live(t), id, *cur, next, &res, &ignored);
    return rc;
}

static int use_adjust(tool_t *t)
{
    const char *text = config_str(tool_cfg(t), "limit");
    int64_t id = 0, next, cur = 0, in_use = 0;
    char err[256];
    int rc, i, locked;
    db_t *db;

    if ((rc = sub_id(t, "use adjust", &id)) != TOOL_EXIT_OK)
        return rc;
    if (text == NULL)
        return tool_fail(t, TOOL_EXIT_USAGE, "--limit is required");
    if (ctlarg_quantity("--limit", text, &next, err, sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
    if (tool_live(t) == NULL)
        return TOOL_EXIT_ERROR;
    /* One adjust at a time per coupon. The compare-and-sets alone let
     * several adjusts at once leave the stores apart: a take-back restores
     * the value it replaced, which may be another adjust's that was itself
     * taken back meanwhile (seen: Redis -1, MySQL 12 after 8 at once in
     * tools_redemption.sh). They stay, for writers that take no lock. */
    if ((db = tool_db(t)) == NULL)
        return TOOL_EXIT_ERROR;
    if (db_coupon_lock_use_limit(db, id, ADJUST_LOCK_S, &locked) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    if (!locked)
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "refused: another use adjust of coupon %" PRId64
                         " held its lock for %d s; nothing changed, run it "
                         "again",
                         id, ADJUST_LOCK_S);
    rc = ADJUST_RACED;
    for (i = 0; i < ADJUST_TRIES && rc == ADJUST_RACED; i++)
        rc = adjust_once(t, id, next, &cur, &in_use);
    /* a lock not released here goes with the session, at exit */
    db_coupon_unlock_use_limit(db, id);
    if (rc == ADJUST_RACED)
        return tool_fail(t, TOOL_EXIT_REFUSED,
                         "refused: coupon %" PRId64 "'s use limit changed "
                         "while this adjust ran, %d times (other adjusts at "
                         "once?); nothing changed, run it again",
                         id, ADJUST_TRIES);
    if (rc != TOOL_EXIT_OK)
        return rc;
    tool_set_int(t, "coupon_id", id);
    tool_set_total(t, "old_use_limit", cur);
    tool_set_total(t, "use_limit", next);
    tool_set_int(t, "in_use", in_use);
    return TOOL_EXIT_OK;
}

static int cmd_use(tool_t *t)
{
    const char *sub =
        config_npos(tool_cfg(t)) > 0 ? config_pos(tool_cfg(t), 0) : "";

    if (strcmp(sub, "adjust") == 0)
        return use_adjust(t);
    return tool_fail(t, TOOL_EXIT_USAGE,
                     "expects `use adjust ID --limit N|unlimited`");
}

/* ------------------------------------------------------------ table */

const tool_cmd_t redeem_cmds[] = {
    { "vendor", "create --name NAME | show ID",
      "create: adds a vendor (the funder of a coupon's discounts: create\n"
      "--vendor ID) and prints its id. show: the vendor's balance (the sum\n"
      "of all its ledger lines), its settlements, and the lines no\n"
      "settlement took yet with their sum.",
      vendor_opts, NOPTS(vendor_opts), cmd_vendor },
    { "settle", "--vendor ID --until TIME",
      "In one MySQL transaction: a settlement of the vendor's open ledger\n"
      "lines dated up to --until (its total and line count). Settling the\n"
      "same --until again prints the same settlement and changes nothing;\n"
      "lines dated later, e.g. a reversal after a settlement (a negative\n"
      "line), go to the next one. A settled line is never edited. --until\n"
      "must not lie in the future by the database clock (exit 3); now and\n"
      "relative times (-1h) count from that clock too.\n"
      "Test hook: " REDEEM_CRASH_ENV "=after_lines exits (code 86) just\n"
      "before COMMIT, to show a crash leaves nothing.",
      settle_opts, NOPTS(settle_opts), cmd_settle },
    { "use", "adjust ID --limit N|unlimited",
      "Changes a coupon's use limit in MySQL and Redis (use.lua's adjust).\n"
      "Lowering below the uses confirmed plus the live holds is refused\n"
      "(exit 3) with that number, and nothing changes. Each store changes\n"
      "only from the limit it had when the command read it: an adjust that\n"
      "races another takes back what it wrote and tries again; after 3\n"
      "tries it is refused (exit 3).",
      use_opts, NOPTS(use_opts), cmd_use },
};

const size_t redeem_ncmds = NOPTS(redeem_cmds);
