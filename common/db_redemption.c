/* db_redemption.c -- decoded redemption events -> one MySQL transaction.
 * See redemption_sink.h for what a call does; this file is how.
 *
 * Per call: events sorted by (coupon, redemption, version, arrival); per
 * coupon, SELECT ... FOR UPDATE (lock, and the limit for a warning); per
 * redemption, its row FOR UPDATE, read once into `row`, which the events
 * then move in memory (judge() decides against it, so several events of
 * one redemption in one batch see each other); per event, the
 * redemption_events INSERT whose affected-rows count (1 new, 0 seen) gates
 * every side effect; at the end of a redemption, one upsert of the row when
 * it moved, and the user's date_used recomputed; at the end of a coupon,
 * one used_quantity update. The session runs READ COMMITTED (as db_sink.c),
 * so each statement sees the latest commits of other workers; the coupon
 * lock orders every writer of a coupon's redemptions, so the row read under
 * it is the row the upsert replaces.
 *
 * Statements are prepared once per connection, and every parameter and
 * result lives in the sink (struct rs_params, rs_row): binding happens once
 * per preparation, an execution only fills the fields. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_internal.h"
#include "log.h"
#include "redemption_sink.h"

enum {
    ST_COUPON,  /* lock the coupon, read its use limit */
    ST_ROW,     /* lock and read the redemption's row */
    ST_EVENT,   /* record the event: affected 1 = new */
    ST_OUTCOME, /* what a recorded event did */
    ST_UPSERT,  /* the row takes a snapshot */
    ST_LEDGER,  /* a vendor ledger line */
    ST_USED,    /* coupon_issues.date_used from the user's rows */
    ST_COUNT,   /* coupons.used_quantity += delta */
    ST_N
};

static const char *const st_sql[ST_N] = {
    "SELECT use_limit, used_quantity FROM coupons WHERE id = ? FOR UPDATE",
    "SELECT state, version, user_id, order_id, order_amount, discount, "
    "IFNULL(vendor_id, 0), vendor_share_bps, reuse_after_reverse, "
    "reversed_amount, refunded_discount, use_freed FROM coupon_redemptions "
    "WHERE id = ? "
    "FOR UPDATE",
    "INSERT INTO redemption_events (event_id, redemption_id, type, outcome, "
    "payload, occurred_at) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE "
    "event_id = event_id",
    "SELECT outcome FROM redemption_events WHERE event_id = ?",
    "INSERT INTO coupon_redemptions (id, coupon_id, user_id, order_id, "
    "order_amount, discount, state, version, held_at, expires_at, "
    "confirmed_at, reversed_amount, refunded_discount, vendor_id, "
    "vendor_share_bps, reuse_after_reverse, use_freed) VALUES (?, ?, ?, ?, ?, "
    "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE state = "
    "VALUES(state), version = VALUES(version), confirmed_at = "
    "VALUES(confirmed_at), reversed_amount = VALUES(reversed_amount), "
    "refunded_discount = VALUES(refunded_discount), use_freed = "
    "VALUES(use_freed)",
    "INSERT INTO vendor_ledger (vendor_id, event_id, redemption_id, amount) "
    "VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE id = id",
    DB_SQL_DATE_USED,
    "UPDATE coupons SET used_quantity = used_quantity + ? WHERE id = ?",
};

#define NAME_CAP 48 /* type, state and outcome names */

typedef struct rs_params { /* every statement parameter */
    long long coupon, user, count, version, amount, discount, ra, rd;
    long long vendor, bps, reuse, freed, ledger;
    char eid[ULID_LEN + 1], rid[ULID_LEN + 1];
    char order[REDEMPTION_ID_MAX + 1];
    char type[NAME_CAP], state[NAME_CAP], outcome[NAME_CAP];
    char payload[REDEMPTION_EVENT_MAX_LEN];
    unsigned long eid_len, rid_len, order_len, type_len, state_len;
    unsigned long outcome_len, payload_len;
    MYSQL_TIME held, expires, confirmed, occurred;
    my_bool confirmed_null, vendor_null;
} rs_params_t;

typedef struct rs_row { /* the locked row, as this call moves it */
    int found, dirty;
    redemption_state_t state;
    long long version, user, amount, discount, vendor, bps, reuse, ra, rd;
    long long freed;
    char order[REDEMPTION_ID_MAX + 1];
    const redemption_event_t *snap; /* the event whose snapshot it took */
} rs_row_t;

typedef struct rs_results { /* what the SELECTs write */
    char state[NAME_CAP], order[REDEMPTION_ID_MAX + 1], outcome[NAME_CAP];
    unsigned long state_len, order_len, outcome_len;
    long long limit, used;
    my_bool limit_null;
} rs_results_t;

struct redemption_sink {
    db_t *db;
    int dry_run;
    unsigned long gen; /* db->gen the statements belong to */
    MYSQL_STMT *st[ST_N];
    rs_params_t p;
    rs_row_t row;
    rs_results_t r;
    size_t cap;
    size_t *ord;
};

static const char *const outcome_names[REDEMPTION_SINK_NOUTCOMES] = {
    "applied", "stale", "duplicate", "illegal_transition", "unknown_coupon"
};

const char *redemption_outcome_name(redemption_outcome_t o)
{
    return (unsigned)o < REDEMPTION_SINK_NOUTCOMES ? outcome_names[o]
                                                   : "unknown";
}

/* ------------------------------------------------------------ binding */

static void bind_str(MYSQL_BIND *b, char *buf, size_t cap, unsigned long *len)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_STRING;
    b->buffer = buf;
    b->buffer_length = (unsigned long)cap;
    b->length = len;
}

static void bind_time(MYSQL_BIND *b, MYSQL_TIME *t, my_bool *is_null)
{
    memset(b, 0, sizeof(*b));
    b->buffer_type = MYSQL_TYPE_DATETIME;
    b->buffer = t;
    b->is_null = is_null;
}

#define STR(b, f)  bind_str((b), s->p.f, sizeof(s->p.f), &s->p.f##_len)
#define RSTR(b, f) bind_str((b), s->r.f, sizeof(s->r.f) - 1, &s->r.f##_len)

static int bind_params(redemption_sink_t *s, int st, MYSQL_BIND *b)
{
    if (mysql_stmt_bind_param(s->st[st], b) != 0)
        return db_stmt_fail(s->db, s->st[st]);
    return 0;
}

static int bind_results(redemption_sink_t *s, int st, MYSQL_BIND *b)
{
    if (mysql_stmt_bind_result(s->st[st], b) != 0)
        return db_stmt_fail(s->db, s->st[st]);
    return 0;
}

/* The reads: coupon lock, row, stored outcome. */
static int bind_reads(redemption_sink_t *s)
{
    rs_row_t *w = &s->row;
    MYSQL_BIND b[12];

    db_bind_ll(&b[0], &s->p.coupon);
    if (bind_params(s, ST_COUPON, b) != 0)
        return -1;
    db_bind_ll(&b[0], &s->r.limit);
    b[0].is_null = &s->r.limit_null;
    db_bind_ll(&b[1], &s->r.used);
    if (bind_results(s, ST_COUPON, b) != 0)
        return -1;
    STR(&b[0], rid);
    if (bind_params(s, ST_ROW, b) != 0)
        return -1;
    RSTR(&b[0], state);
    db_bind_ll(&b[1], &w->version);
    db_bind_ll(&b[2], &w->user);
    RSTR(&b[3], order);
    db_bind_ll(&b[4], &w->amount);
    db_bind_ll(&b[5], &w->discount);
    db_bind_ll(&b[6], &w->vendor);
    db_bind_ll(&b[7], &w->bps);
    db_bind_ll(&b[8], &w->reuse);
    db_bind_ll(&b[9], &w->ra);
    db_bind_ll(&b[10], &w->rd);
    db_bind_ll(&b[11], &w->freed);
    if (bind_results(s, ST_ROW, b) != 0)
        return -1;
    STR(&b[0], eid);
    if (bind_params(s, ST_OUTCOME, b) != 0)
        return -1;
    RSTR(&b[0], outcome);
    return bind_results(s, ST_OUTCOME, b);
}

static int bind_upsert(redemption_sink_t *s)
{
    MYSQL_BIND b[17];

    STR(&b[0], rid);
    db_bind_ll(&b[1], &s->p.coupon);
    db_bind_ll(&b[2], &s->p.user);
    STR(&b[3], order);
    db_bind_ll(&b[4], &s->p.amount);
    db_bind_ll(&b[5], &s->p.discount);
    STR(&b[6], state);
    db_bind_ll(&b[7], &s->p.version);
    bind_time(&b[8], &s->p.held, NULL);
    bind_time(&b[9], &s->p.expires, NULL);
    bind_time(&b[10], &s->p.confirmed, &s->p.confirmed_null);
    db_bind_ll(&b[11], &s->p.ra);
    db_bind_ll(&b[12], &s->p.rd);
    db_bind_ll(&b[13], &s->p.vendor);
    b[13].is_null = &s->p.vendor_null;
    db_bind_ll(&b[14], &s->p.bps);
    db_bind_ll(&b[15], &s->p.reuse);
    db_bind_ll(&b[16], &s->p.freed);
    return bind_params(s, ST_UPSERT, b);
}

/* The other writes: event, ledger line, date_used, count. */
static int bind_writes(redemption_sink_t *s)
{
    MYSQL_BIND b[6];

    STR(&b[0], eid);
    STR(&b[1], rid);
    STR(&b[2], type);
    STR(&b[3], outcome);
    STR(&b[4], payload);
    bind_time(&b[5], &s->p.occurred, NULL);
    if (bind_params(s, ST_EVENT, b) != 0)
        return -1;
    db_bind_ll(&b[0], &s->p.vendor);
    STR(&b[1], eid);
    STR(&b[2], rid);
    db_bind_ll(&b[3], &s->p.ledger);
    if (bind_params(s, ST_LEDGER, b) != 0)
        return -1;
    db_bind_ll(&b[0], &s->p.coupon);
    db_bind_ll(&b[1], &s->p.user);
    if (bind_params(s, ST_USED, b) != 0)
        return -1;
    db_bind_ll(&b[0], &s->p.count);
    db_bind_ll(&b[1], &s->p.coupon);
    return bind_params(s, ST_COUNT, b);
}

#undef STR
#undef RSTR

/* ------------------------------------------------------------ lifecycle */

static void rs_drop(redemption_sink_t *s)
{
    int i;

    for (i = 0; i < ST_N; i++) {
        if (s->st[i] != NULL)
            mysql_stmt_close(s->st[i]);
        s->st[i] = NULL;
    }
}

static int rs_prepare(redemption_sink_t *s)
{
    db_t *db = s->db;
    int i;

    if (db->my == NULL)
        return db_exec(db, "SELECT 1"); /* records "not connected" */
    if (s->st[0] != NULL && s->gen == db->gen)
        return 0;
    rs_drop(s);
    if (db_exec(db, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"))
        return -1;
    for (i = 0; i < ST_N; i++) {
        s->st[i] = db_stmt_prepare(db, st_sql[i]);
        if (s->st[i] == NULL)
            break;
    }
    if (i < ST_N || bind_reads(s) != 0 || bind_upsert(s) != 0 ||
        bind_writes(s) != 0) {
        rs_drop(s);
        return -1;
    }
    s->gen = db->gen;
    return 0;
}

redemption_sink_t *redemption_sink_new(db_t *db, int dry_run, char *errstr,
                                       size_t n)
{
    redemption_sink_t *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        snprintf(errstr, n, "redemption sink: out of memory");
        return NULL;
    }
    s->db = db;
    s->dry_run = dry_run;
    return s;
}

void redemption_sink_free(redemption_sink_t *s)
{
    if (s == NULL)
        return;
    rs_drop(s);
    free(s->ord);
    free(s);
}

static int rs_grow(redemption_sink_t *s, size_t n)
{
    size_t cap = s->cap ? s->cap : 256;
    size_t *p;

    if (n <= s->cap)
        return 0;
    while (cap < n)
        cap *= 2;
    p = realloc(s->ord, cap * sizeof(*p));
    if (p == NULL)
        return db_failf(s->db, "redemption sink: out of memory for %zu events",
                        n);
    s->ord = p;
    s->cap = cap;
    return 0;
}

/* ------------------------------------------------------------ execution */

static int exec(redemption_sink_t *s, int st)
{
    if (mysql_stmt_execute(s->st[st]) != 0)
        return db_stmt_fail(s->db, s->st[st]);
    return 0;
}

/* Runs a SELECT of at most one row into the bound results; *found. */
static int fetch_one(redemption_sink_t *s, int st, int *found)
{
    MYSQL_STMT *q = s->st[st];
    int rc;

    if (mysql_stmt_execute(q) != 0 || mysql_stmt_store_result(q) != 0)
        return db_stmt_fail(s->db, q);
    rc = mysql_stmt_fetch(q);
    mysql_stmt_free_result(q);
    if (rc == 1)
        return db_stmt_fail(s->db, q);
    *found = rc != MYSQL_NO_DATA; /* MYSQL_DATA_TRUNCATED: a longer string */
    return 0;
}

static void set_str(char *dst, size_t cap, unsigned long *len, const char *v)
{
    snprintf(dst, cap, "%s", v);
    *len = (unsigned long)strlen(dst);
}

#define SET_STR(f, v) set_str(s->p.f, sizeof(s->p.f), &s->p.f##_len, (v))

/* The parameters of an event's own statements (record, ledger). */
static int fill_event(redemption_sink_t *s, const redemption_event_t *ev,
                      const char *outcome)
{
    int len = redemption_event_encode(ev, s->p.payload, sizeof(s->p.payload));

    if (len < 0) /* decoded events always encode: a caller's bug */
        return db_failf(s->db, "redemption sink: event %s does not encode",
                        ev->event_id);
    s->p.payload_len = (unsigned long)len;
    SET_STR(eid, ev->event_id);
    SET_STR(rid, ev->redemption_id);
    SET_STR(type, redemption_type_name(ev->type));
    SET_STR(outcome, outcome);
    db_time_from_ms(ev->occurred_at_ms, &s->p.occurred);
    s->p.vendor = ev->vendor_id;
    s->p.ledger = ev->vendor_amount;
    return 0;
}

/* The row's parameters from the snapshot of ev. */
static void fill_row(redemption_sink_t *s, const redemption_event_t *ev)
{
    SET_STR(rid, ev->redemption_id);
    SET_STR(order, ev->order_id);
    SET_STR(state, redemption_state_name(ev->state));
    s->p.coupon = ev->coupon_id;
    s->p.user = ev->user_id;
    s->p.amount = ev->order_amount;
    s->p.discount = ev->discount;
    s->p.version = ev->version;
    db_time_from_ms(ev->held_at_ms, &s->p.held);
    db_time_from_ms(ev->expires_at_ms, &s->p.expires);
    db_time_from_ms(ev->confirmed_at_ms, &s->p.confirmed);
    s->p.confirmed_null = (my_bool)(ev->confirmed_at_ms == 0);
    s->p.ra = ev->reversed_amount;
    s->p.rd = ev->refunded_discount;
    s->p.vendor = ev->vendor_id;
    s->p.vendor_null = (my_bool)(ev->vendor_id == 0);
    s->p.bps = ev->vendor_share_bps;
    s->p.reuse = ev->reuse;
    s->p.freed = ev->use_freed;
}

#undef SET_STR

/* ------------------------------------------------------------ judging */

#define BIT(st) (1u << (st))

/* States a row in state i can move to with a higher version, directly or
 * through versions this worker has not seen yet. */
static const unsigned forward[REDEMPTION_NSTATES] = {
    [REDEMPTION_STATE_HELD] = BIT(REDEMPTION_STATE_CONFIRMED) |
                              BIT(REDEMPTION_STATE_RELEASED) |
                              BIT(REDEMPTION_STATE_EXPIRED) |
                              BIT(REDEMPTION_STATE_PARTIALLY_REVERSED) |
                              BIT(REDEMPTION_STATE_REVERSED),
    [REDEMPTION_STATE_CONFIRMED] = BIT(REDEMPTION_STATE_PARTIALLY_REVERSED) |
                                   BIT(REDEMPTION_STATE_REVERSED),
    [REDEMPTION_STATE_PARTIALLY_REVERSED] =
        BIT(REDEMPTION_STATE_PARTIALLY_REVERSED) |
        BIT(REDEMPTION_STATE_REVERSED),
};

/* The terms fixed at hold time: every version must carry the same. */
static int same_terms(const rs_row_t *w, const redemption_event_t *ev)
{
    return w->user == ev->user_id && strcmp(w->order, ev->order_id) == 0 &&
           w->amount == ev->order_amount && w->discount == ev->discount &&
           w->vendor == ev->vendor_id && w->bps == ev->vendor_share_bps &&
           w->reuse == ev->reuse;
}

/* What ev does to the row as it stands; why for an illegal one. */
static redemption_outcome_t
judge(const rs_row_t *w, const redemption_event_t *ev, char *why, size_t n)
{
    const char *es = redemption_state_name(ev->state);
    const char *rs = redemption_state_name(w->state);
    int ok;

    if (!w->found)
        return REDEMPTION_SINK_APPLIED;
    if (!same_terms(w, ev)) {
        snprintf(why, n,
                 "terms differ from the row's (user, order, amount, "
                 "discount, vendor, share or reuse), version %lld",
                 (long long)ev->version);
        return REDEMPTION_SINK_ILLEGAL;
    }
    if (ev->version > w->version)
        ok = (forward[w->state] & BIT(ev->state)) != 0 &&
             ev->reversed_amount >= w->ra && ev->refunded_discount >= w->rd;
    else if (ev->version == w->version)
        ok = ev->state == w->state && ev->reversed_amount == w->ra &&
             ev->refunded_discount == w->rd;
    else
        ok = (ev->state == w->state ||
              (forward[ev->state] & BIT(w->state)) != 0) &&
             ev->reversed_amount <= w->ra && ev->refunded_discount <= w->rd;
    if (!ok) {
        snprintf(why, n, "%s v%lld does not fit the row, %s v%lld", es,
                 (long long)ev->version, rs, w->version);
        return REDEMPTION_SINK_ILLEGAL;
    }
    return ev->version > w->version ? REDEMPTION_SINK_APPLIED
                                    : REDEMPTION_SINK_STALE;
}

/* ------------------------------------------------------------ applying */

static int cmp_i64(int64_t a, int64_t b)
{
    return (a > b) - (a < b);
}

static int cmp_events(const void *a, const void *b, void *ctx)
{
    const redemption_event_t *evs = ctx;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = cmp_i64(evs[i].coupon_id, evs[j].coupon_id);

    if (c == 0)
        c = strcmp(evs[i].redemption_id, evs[j].redemption_id);
    if (c == 0)
        c = cmp_i64(evs[i].version, evs[j].version);
    return c != 0 ? c : (i > j) - (i < j);
}

static int read_row(redemption_sink_t *s, const char *rid)
{
    rs_row_t *w = &s->row;
    int st;

    memset(w, 0, sizeof(*w));
    snprintf(s->p.rid, sizeof(s->p.rid), "%s", rid);
    s->p.rid_len = (unsigned long)strlen(s->p.rid);
    if (fetch_one(s, ST_ROW, &w->found) != 0)
        return -1;
    if (!w->found)
        return 0;
    s->r.state[s->r.state_len < NAME_CAP ? s->r.state_len : 0] = '\0';
    s->r.order[s->r.order_len <= REDEMPTION_ID_MAX ? s->r.order_len : 0] = '\0';
    st = redemption_state_parse(s->r.state, strlen(s->r.state));
    if (st < 0)
        return db_failf(s->db, "redemption sink: row %s has state \"%s\"", rid,
                        s->r.state);
    w->state = (redemption_state_t)st;
    memcpy(w->order, s->r.order, sizeof(w->order));
    return 0;
}

/* A recorded event's stored outcome: ILLEGAL again, or DUPLICATE. */
static int replayed(redemption_sink_t *s, redemption_result_t *res)
{
    int found = 0;

    if (fetch_one(s, ST_OUTCOME, &found) != 0)
        return -1;
    s->r.outcome[s->r.outcome_len < NAME_CAP ? s->r.outcome_len : 0] = '\0';
    if (found &&
        strcmp(s->r.outcome, outcome_names[REDEMPTION_SINK_ILLEGAL]) == 0) {
        res->outcome = REDEMPTION_SINK_ILLEGAL;
        snprintf(res->why, sizeof(res->why),
                 "recorded as illegal_transition when first consumed");
    } else {
        res->outcome = REDEMPTION_SINK_DUPLICATE;
    }
    return 0;
}

static void take_snapshot(rs_row_t *w, const redemption_event_t *ev)
{
    if (!w->found) {
        w->found = 1;
        w->user = ev->user_id;
        snprintf(w->order, sizeof(w->order), "%s", ev->order_id);
        w->amount = ev->order_amount;
        w->discount = ev->discount;
        w->vendor = ev->vendor_id;
        w->bps = ev->vendor_share_bps;
        w->reuse = ev->reuse;
    }
    w->state = ev->state;
    w->version = ev->version;
    w->ra = ev->reversed_amount;
    w->rd = ev->refunded_discount;
    w->freed = ev->use_freed;
    w->dirty = 1;
    w->snap = ev;
}

/* The use a row takes from the budget: 1 from its confirm until a full
 * reversal gives it back. */
static long long row_uses(const rs_row_t *w)
{
    if (!w->found)
        return 0;
    return w->state == REDEMPTION_STATE_CONFIRMED ||
           w->state == REDEMPTION_STATE_PARTIALLY_REVERSED ||
           (w->state == REDEMPTION_STATE_REVERSED && !w->freed);
}

/* What the vendor is owed for a row: its share of the discount once
 * confirmed, minus its share of what was refunded (the same floors as
 * use.lua's vendor amounts, so in order they telescope to the same lines). */
static long long row_owed(const rs_row_t *w)
{
    long long owed = 0;

    if (!w->found || w->vendor == 0)
        return 0;
    if (w->state == REDEMPTION_STATE_CONFIRMED ||
        w->state == REDEMPTION_STATE_PARTIALLY_REVERSED ||
        w->state == REDEMPTION_STATE_REVERSED)
        owed = w->discount * w->bps / 10000;
    return owed - w->rd * w->bps / 10000;
}

/* One event against s->row; *delta collects the coupon's use count.
 *
 * Why the use count and the ledger line follow the row, not the event:
 * an event can be lost for good -- the api killed between use.lua and the
 * produce, the client never retrying, and a later transition of the same
 * redemption (a reversal after a lost confirm) reaching us instead; its
 * snapshot then skips a version. Counting per event would miss the lost
 * confirm's +1 and its ledger line for ever. So an applied event moves the
 * count by what the row's use changed and writes one line (keyed by its
 * event id: once) for what the row's owed amount changed; in order that is
 * exactly the event's own vendor_amount. A stale event (older than the
 * row) changes neither. */
static int apply_event(redemption_sink_t *s, const redemption_event_t *ev,
                       redemption_result_t *res, long long *delta)
{
    redemption_outcome_t o;
    long long uses, owed;

    res->why[0] = '\0';
    o = judge(&s->row, ev, res->why, sizeof(res->why));
    if (fill_event(s, ev, outcome_names[o]) != 0 || exec(s, ST_EVENT) != 0)
        return -1;
    if (mysql_stmt_affected_rows(s->st[ST_EVENT]) == 0)
        return replayed(s, res);
    res->outcome = o;
    if (o == REDEMPTION_SINK_ILLEGAL)
        return 0;
    if (o != REDEMPTION_SINK_APPLIED)
        return 0;
    uses = row_uses(&s->row);
    owed = row_owed(&s->row);
    take_snapshot(&s->row, ev);
    *delta += row_uses(&s->row) - uses;
    s->p.vendor = s->row.vendor;
    s->p.ledger = row_owed(&s->row) - owed;
    if (s->p.ledger != 0 && exec(s, ST_LEDGER) != 0)
        return -1;
    return 0;
}

/* The moved row goes in, and its user's date_used follows it. */
static int store_row(redemption_sink_t *s)
{
    const redemption_event_t *ev = s->row.snap;

    fill_row(s, ev);
    if (exec(s, ST_UPSERT) != 0)
        return -1;
    if (ev->state == REDEMPTION_STATE_HELD ||
        ev->state == REDEMPTION_STATE_RELEASED ||
        ev->state == REDEMPTION_STATE_EXPIRED)
        return 0; /* never held a confirmed use */
    return exec(s, ST_USED);
}

/* One redemption's events (grp: in version order). */
static int apply_redemption(redemption_sink_t *s, const redemption_event_t *evs,
                            const size_t *grp, size_t n,
                            redemption_result_t *out, long long *delta)
{
    size_t k;

    if (read_row(s, evs[grp[0]].redemption_id) != 0)
        return -1;
    for (k = 0; k < n; k++)
        if (apply_event(s, &evs[grp[k]], &out[grp[k]], delta) != 0)
            return -1;
    return s->row.dirty ? store_row(s) : 0;
}

static int count_uses(redemption_sink_t *s, int64_t coupon_id, long long delta)
{
    s->p.coupon = coupon_id;
    s->p.count = delta;
    if (exec(s, ST_COUNT) != 0)
        return -1;
    if (!s->r.limit_null && s->r.used + delta > s->r.limit)
        LOG(LL_WARN,
            "msg=\"used_quantity passes use_limit (events of other "
            "redemptions still in flight?)\" coupon_id=%lld "
            "used_quantity=%lld use_limit=%lld",
            (long long)coupon_id, s->r.used + delta, s->r.limit);
    return 0;
}

/* One coupon's events (grp: sorted by redemption, version). */
static int apply_coupon(redemption_sink_t *s, const redemption_event_t *evs,
                        const size_t *grp, size_t n, redemption_result_t *out)
{
    int64_t cid = evs[grp[0]].coupon_id;
    long long delta = 0;
    size_t a = 0, b, k;
    int found = 0;

    s->p.coupon = cid;
    if (fetch_one(s, ST_COUPON, &found) != 0)
        return -1;
    if (!found) {
        for (k = 0; k < n; k++) {
            out[grp[k]].outcome = REDEMPTION_SINK_UNKNOWN_COUPON;
            snprintf(out[grp[k]].why, sizeof(out[grp[k]].why), "no coupon %lld",
                     (long long)cid);
        }
        return 0;
    }
    while (a < n) {
        b = a + 1;
        while (b < n && strcmp(evs[grp[b]].redemption_id,
                               evs[grp[a]].redemption_id) == 0)
            b++;
        if (apply_redemption(s, evs, grp + a, b - a, out, &delta) != 0)
            return -1;
        a = b;
    }
    return delta != 0 ? count_uses(s, cid, delta) : 0;
}

static int apply_all(redemption_sink_t *s, const redemption_event_t *evs,
                     size_t n, redemption_result_t *out)
{
    size_t a = 0, b, i;

    for (i = 0; i < n; i++)
        s->ord[i] = i;
    qsort_r(s->ord, n, sizeof(*s->ord), cmp_events, (void *)evs);
    if (db_begin(s->db) != 0)
        return -1;
    while (a < n) {
        b = a + 1;
        while (b < n && evs[s->ord[b]].coupon_id == evs[s->ord[a]].coupon_id)
            b++;
        if (apply_coupon(s, evs, s->ord + a, b - a, out) != 0)
            return -1;
        a = b;
    }
    if (s->dry_run) {
        db_rollback(s->db);
        return 0;
    }
    return db_commit(s->db);
}

int redemption_sink_apply(redemption_sink_t *s, const redemption_event_t *evs,
                          size_t n, redemption_result_t *out, char *errstr,
                          size_t errn)
{
    int rc;

    if (n == 0)
        return SINK_OK;
    if (rs_grow(s, n) == 0 && rs_prepare(s) == 0 &&
        apply_all(s, evs, n, out) == 0)
        return SINK_OK;
    rc = db_is_transient(s->db) ? SINK_ERR_TRANSIENT : SINK_ERR_PERMANENT;
    snprintf(errstr, errn, "%s", db_error(s->db));
    db_rollback(s->db);
    /* The connection may be gone or about to be replaced: prepare afresh
     * on the next call rather than trust these statements. */
    rs_drop(s);
    return rc;
}
