/* redemption.c -- use.lua calls and their answers. See redemption.h.
 *
 * Each call carries a context with its own copy of every argument, so a
 * NOSCRIPT retry sends the very same command.
 *
 * Batches. The calls (hold, confirm, cancel, reverse, get) of one coupon
 * made during one loop iteration go as one EVALSHA in use.lua's batch form,
 * at most USE_BATCH_MAX to a call: the script's fixed cost per call (its
 * top-level chunk, the key checks, INFO replication for the fence, the
 * meta/use read, TIME) is then paid once per batch, and a hot coupon's
 * checkouts all run on the one Redis thread. As admission.c does for
 * admit.lua, the Redis connection's flush hook sends the open batches at
 * the end of the iteration, right before its write, so batching adds no
 * wait: at low load a batch holds one call. In flight: with
 * redemption_set_inflight (the api's --redemption-inflight, 2), while that
 * many batches are out, the flush hook leaves the open batches open and
 * they take in every call made meanwhile; the answer of one asks for the
 * flush again (a full batch, or one pushed out by OPEN_BATCHES other
 * coupons, still leaves at once). Why: with a batch per loop iteration
 * alone, half of a hot coupon's max rate made small batches (3-4 calls
 * each, bench/ab-checkout RATE=4128 1024 16) whose fixed cost (about 70 us
 * on that VM, 23 of it the top-level chunk) made Redis spend 184-200 us
 * per checkout, more than at the full rate; with 2 out, 173 (README
 * "Kafka batching" has the figures). The script answers each call
 * as if alone, an invalid one with its own error element (it ran under its
 * own pcall and wrote nothing), so every call keeps its own answer. undo
 * (redemption_undo.c) and finish are single calls (the plain form); those
 * of unknown outcome are kept for the next connection (redemption_kept.c).
 *
 * With min_replicas set, one WAIT follows the batch's EVALSHA in the same
 * write (when a call in it wants one: not for get): the answers are
 * recorded, and the calls complete on the WAIT's reply with
 * ans->replicated saying whether enough replicas acknowledged. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "embedded.h"
#include "fmt.h"
#include "log.h"
#include "redemption_internal.h"
#include "userec.h"

#define USE_BATCH_MAX 64 /* calls in one EVALSHA */
#define BATCH_ARGS    (HEAD + 1 + USE_BATCH_MAX * (1 + MAX_ARGS - HEAD))

/* The calls of one coupon sent as one EVALSHA batch (each call's own
 * arguments are argv[HEAD..argc) of its ucall). */
struct ubatch {
    redemption_t *r;
    int64_t coupon_id;
    int n;
    int retried;
    int nwait;   /* WAITs sent after its EVALSHA, not answered yet */
    int replied; /* the EVALSHA's reply is in: each call's rc and *ans */
    int sent;    /* counted in r->sent */
    ucall_t *c[USE_BATCH_MAX];
};

static const char *const op_names[USE_NOPS] = {
    "hold", "confirm", "cancel", "reverse", "get",
};

static const char *const code_names[USE_NCODES] = {
    "held",
    "replay",
    "order_conflict",
    "already_used",
    "not_owned",
    "not_usable",
    "use_sold_out",
    "below_min_amount",
    "rid_taken",
    "not_found",
    "fenced",
    "forbidden",
    "confirmed",
    "hold_expired",
    "not_held",
    "released",
    "already_confirmed",
    "reversed",
    "partially_reversed",
    "reversal_conflict",
    "not_confirmed",
    "amount_too_large",
    "found",
};

static const char *const states[] = {
    "held",    "confirmed",          "released",
    "expired", "partially_reversed", "reversed",
};

const char *redemption_op_name(use_op_t op)
{
    return (unsigned)op < USE_NOPS ? op_names[op] : "other";
}

const char *redemption_code_name(use_code_t code)
{
    return (unsigned)code < USE_NCODES ? code_names[code] : "other";
}

/* ---- building a call ---- */

/* The call's argv[HEAD..): its op and arguments follow; the head is
 * named only when the call is sent (head()). */
ucall_t *redemption_ucall_new(redemption_t *r, int kind, int64_t coupon_id,
                              const char *rid)
{
    ucall_t *c = calloc(1, sizeof(*c));
    size_t n = strlen(rid);

    if (c == NULL)
        return NULL;
    c->r = r;
    c->kind = kind;
    c->coupon_id = coupon_id;
    if (n > RID_LEN)
        n = RID_LEN;
    memcpy(c->rid, rid, n);
    c->rid[n] = '\0';
    c->argc = HEAD;
    return c;
}

/* EVALSHA sha 8 and the coupon's 8 keys: only for a call that is sent
 * itself (undo, finish, the first call of a batch, whose head the batch
 * uses). The calls of a batch are of one coupon, so naming the keys of
 * each (8 snprintfs) was most of what taking a call cost. */
static void head(ucall_t *c)
{
    int64_t id = c->coupon_id;
    int i;

    keys_meta(c->keys[0], KEYS_MAX, id);
    keys_use(c->keys[1], KEYS_MAX, id);
    keys_use_holds(c->keys[2], KEYS_MAX, id);
    keys_use_recs(c->keys[3], KEYS_MAX, id);
    keys_use_orders(c->keys[4], KEYS_MAX, id);
    keys_use_users(c->keys[5], KEYS_MAX, id);
    keys_issued(c->keys[6], KEYS_MAX, id);
    keys_use_revs(c->keys[7], KEYS_MAX, id);
    c->argv[0] = "EVALSHA";
    c->argv[1] = c->r->use.sha;
    c->argv[2] = "8";
    for (i = 0; i < NKEYS; i++)
        c->argv[3 + i] = c->keys[i];
}

void redemption_arg(ucall_t *c, const char *s)
{
    c->argv[c->argc++] = s;
}

const char *redemption_num(ucall_t *c, int i, int64_t v)
{
    fmt_t f;

    fmt_init(&f, c->num[i], sizeof(c->num[i]));
    fmt_i64(&f, v);
    fmt_end(&f); /* 20 digits and a sign fit */
    return c->num[i];
}

/* op rid [event_id] actor [op's own]: the script's ARGV. */
static void call_args(ucall_t *c, const use_call_t *u)
{
    redemption_arg(c, op_names[u->op]);
    redemption_arg(c, c->rid);
    if (u->op != USE_GET) {
        memcpy(c->event_id, u->event_id, sizeof(c->event_id));
        redemption_arg(c, c->event_id);
    }
    redemption_arg(c, redemption_num(c, 0, u->actor));
    if (u->op == USE_HOLD) {
        redemption_arg(c, redemption_num(c, 1, u->user_id));
        memcpy(c->id, u->order_id, sizeof(c->id));
        redemption_arg(c, c->id);
        redemption_arg(c, redemption_num(c, 2, u->order_amount));
    } else if (u->op == USE_REVERSE) {
        memcpy(c->id, u->reversal_id, sizeof(c->id));
        redemption_arg(c, c->id);
        redemption_arg(c, redemption_num(c, 2, u->amount));
    }
}

static void on_finish_reply(redisAsyncContext *ac, void *reply, void *pd);
static void on_batch(redisAsyncContext *ac, void *reply, void *pd);
static void on_wait(redisAsyncContext *ac, void *reply, void *pd);

/* A call that may write a transition (or hand out an event) waits for
 * replicas; GET writes nothing that matters, undo and finish follow a
 * call that did wait. */
static int wants_wait(const ucall_t *c)
{
    return c->kind == K_CALL && c->op != USE_GET && c->r->min_replicas > 0;
}

/* undo and finish: EVALSHA in the plain form. */
int redemption_ucall_send(ucall_t *c, redisCallbackFn *fn)
{
    redemption_t *r = c->r;
    int i;

    head(c);
    for (i = 0; i < c->argc; i++)
        c->len[i] = strlen(c->argv[i]);
    return redis_conn_command(r->rc, fn, c, c->argc, c->argv, c->len);
}

/* EVALSHA <sha> 8 <keys> batch, then per call its count and its op with
 * the arguments; then (when a call wants it) WAIT in the same write:
 * Redis answers the WAIT once the script's writes reached that many
 * replicas, or at the timeout with how many did. */
static int batch_send(ubatch_t *b)
{
    redemption_t *r = b->r;
    const char *argv[BATCH_ARGS];
    size_t len[BATCH_ARGS];
    char counts[USE_BATCH_MAX][2];
    int i, j, argc = 0, wait = 0;

    head(b->c[0]);
    for (i = 0; i < HEAD; i++)
        argv[argc++] = b->c[0]->argv[i];
    argv[argc++] = "batch";
    for (i = 0; i < b->n; i++) {
        ucall_t *c = b->c[i];

        counts[i][0] = (char)('0' + (c->argc - HEAD)); /* 1..7 */
        counts[i][1] = '\0';
        argv[argc++] = counts[i];
        for (j = HEAD; j < c->argc; j++)
            argv[argc++] = c->argv[j];
        wait |= wants_wait(c);
    }
    for (i = 0; i < argc; i++)
        len[i] = strlen(argv[i]);
    if (redis_conn_command(r->rc, on_batch, b, argc, argv, len) != 0)
        return -1;
    if (!wait)
        return 0;
    if (redis_conn_wait(r->rc, r->min_replicas, r->replica_timeout_ms, on_wait,
                        b) == 0)
        b->nwait++;
    return 0; /* a WAIT not sent: the connection is gone, on_batch hears */
}

void redemption_ucall_free(ucall_t *c)
{
    if (c == NULL)
        return;
    free(c->prev);
    free(c);
}

int redemption_usable(redemption_t *r)
{
    return script_usable(&r->use, r->rc) && redis_conn_up(r->rc);
}

/* ---- the answer ---- */

/* An integer element: a Redis integer, or a decimal string ("" is 0). */
static int get_int(const redisReply *e, int64_t *out)
{
    char *end;

    if (e->type == REDIS_REPLY_INTEGER) {
        *out = e->integer;
        return 0;
    }
    if (e->type != REDIS_REPLY_STRING)
        return -1;
    if (e->len == 0) {
        *out = 0;
        return 0;
    }
    *out = strtoll(e->str, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* A string element of at most n - 1 bytes ("" for nil or the integer 0). */
static int get_str(const redisReply *e, char *out, size_t n)
{
    if ((e->type == REDIS_REPLY_INTEGER && e->integer == 0) ||
        e->type == REDIS_REPLY_NIL) {
        out[0] = '\0';
        return 0;
    }
    if ((e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS) ||
        e->len >= n || memchr(e->str, '\0', e->len) != NULL)
        return -1;
    memcpy(out, e->str, e->len + 1);
    return 0;
}

static int id_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == ':' ||
              *s == '-'))
            return 0;
    return 1;
}

static int state_ok(const char *s)
{
    size_t i;

    if (s[0] == '\0')
        return 1;
    for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
        if (strcmp(s, states[i]) == 0)
            return 1;
    return 0;
}

static int code_of(const redisReply *e, use_code_t *code)
{
    int i;

    if (e->type != REDIS_REPLY_STRING && e->type != REDIS_REPLY_STATUS)
        return -1;
    for (i = 0; i < USE_NCODES; i++)
        if (strcmp(e->str, code_names[i]) == 0) {
            *code = (use_code_t)i;
            return 0;
        }
    return -1;
}

/* The strings go into JSON answers unescaped: each is checked here. */
static int strings_ok(const use_answer_t *a)
{
    if (a->rid[0] != '\0' && !ulid_valid(a->rid, strlen(a->rid)))
        return 0;
    if (a->prev_user[0] != '\0' && !ulid_valid(a->prev_user, RID_LEN))
        return 0;
    return id_ok(a->order_id) && state_ok(a->state);
}

/* The redemption's fields and the event of its latest transition, from
 * the record the answer carries (element rec). */
static int from_record(const redisReply *rec, int64_t coupon_id,
                       use_answer_t *a)
{
    userec_fields_t r;
    int len;

    if (rec->type != REDIS_REPLY_STRING || a->rid[0] == '\0' ||
        a->state[0] == '\0' || userec_decode(rec->str, rec->len, &r) != 0 ||
        (len = userec_event(&r, a->rid, coupon_id, a->event,
                            sizeof(a->event))) < 0)
        return -1;
    a->event_len = (size_t)len;
    a->user_id = r.user_id;
    memcpy(a->order_id, r.order_id, sizeof(a->order_id));
    a->order_amount = r.amount;
    a->discount = r.discount;
    a->expires_ms = r.expires_ms;
    a->reversed_amount = r.reversed;
    a->refunded_discount = r.refunded;
    a->version = r.version;
    memcpy(a->event_id, r.event_id, sizeof(a->event_id));
    return 0;
}

/* {code, new, finish, rid, state, refund_this, rec, prev[, prev_user]} */
int redemption_parse_answer(const redisReply *rep, use_op_t op,
                            int64_t coupon_id, use_answer_t *a)
{
    redisReply *const *e = rep->element;
    int64_t isnew, fin;

    if (rep->type != REDIS_REPLY_ARRAY ||
        rep->elements != (op == USE_HOLD ? 9u : 8u))
        return -1;
    memset(a, 0, sizeof(*a));
    if (code_of(e[0], &a->code) != 0 || get_int(e[1], &isnew) != 0 ||
        get_int(e[2], &fin) != 0 ||
        get_str(e[3], a->rid, sizeof(a->rid)) != 0 ||
        get_str(e[4], a->state, sizeof(a->state)) != 0 ||
        get_int(e[5], &a->refund_this) != 0 ||
        get_str(e[7], a->prev, sizeof(a->prev)) != 0 ||
        (op == USE_HOLD &&
         get_str(e[8], a->prev_user, sizeof(a->prev_user)) != 0))
        return -1;
    /* a record, or none at all: then every field but the code is empty */
    if (e[6]->type == REDIS_REPLY_STRING && e[6]->len > 0) {
        if (from_record(e[6], coupon_id, a) != 0)
            return -1;
    } else if (a->rid[0] != '\0' || a->state[0] != '\0') {
        return -1;
    }
    a->is_new = isnew == 1;
    a->finish = fin == 1;
    return strings_ok(a) ? 0 : -1;
}

/* ---- replies ---- */

/* The script's own refusals start "ERR couponq"; anything else (LOADING,
 * BUSY, READONLY, OOM...) is Redis being unavailable. */
static use_rc_t error_rc(const redisReply *rep)
{
    return strncmp(rep->str, "ERR couponq", 11) == 0 ? USE_RC_ERROR
                                                     : USE_RC_UNAVAILABLE;
}

/* The script's reply, kept until its WAIT (if any) is in. replicated
 * starts at 0 when a WAIT was asked: a WAIT without an answer (the
 * connection dropped) counts as too few replicas. */
static void call_record(ucall_t *c, const redisReply *rep)
{
    c->rc = USE_RC_OK;
    if (rep == NULL) {
        c->rc = USE_RC_UNAVAILABLE;
        snprintf(c->err, sizeof(c->err), "redis connection lost");
    } else if (rep->type == REDIS_REPLY_ERROR) {
        c->rc = error_rc(rep);
        snprintf(c->err, sizeof(c->err), "%s", rep->str);
    } else if (redemption_parse_answer(rep, c->op, c->coupon_id, c->ans) != 0) {
        c->rc = USE_RC_ERROR;
        snprintf(c->err, sizeof(c->err), "unexpected answer from use.lua");
    } else {
        c->ans->replicated = wants_wait(c) ? 0 : -1;
    }
}

static void call_done(ucall_t *c)
{
    c->fn.call(c->ud, c->tok, c->rc, c->rc == USE_RC_OK ? NULL : c->err);
}

/* A finish's answer is in: logged; kept when its outcome is unknown (a
 * first one's failure, a re-send's by redemption_kept_answered), else
 * freed. */
static void finish_done(ucall_t *c, const redisReply *rep)
{
    redemption_t *r = c->r;
    const char *err;
    int finished = redemption_kept_outcome(c, rep, &err);

    if (c->resends > 0)
        redemption_kept_answered(c, finished, err);
    else if (finished >= 0)
        LOG(finished == 1 ? LL_DEBUG : LL_INFO,
            "msg=\"finish\" coupon_id=%" PRId64 " redemption_id=%s "
            "version=%" PRId64 " finished=%d",
            c->coupon_id, c->rid, c->version, finished);
    else
        LOG(c->fate == KEPT_UNKNOWN ? LL_WARN : LL_ERROR,
            "msg=\"finish failed: %s\" coupon_id=%" PRId64
            " redemption_id=%s version=%" PRId64 " err=\"%s\"",
            c->fate == KEPT_UNKNOWN
                ? "kept, sent again on the next redis connection"
                : "refused by use.lua; " FINISH_LOST_WHY,
            c->coupon_id, c->rid, c->version, err);
    if (c->fate == KEPT_UNKNOWN) {
        redemption_kept_add(r, c);
        return;
    }
    if (c->fate == KEPT_REFUSED)
        r->finish_failures++;
    redemption_ucall_free(c);
}

static void on_finish_reply(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    ucall_t *c = pd;
    redemption_t *r = c->r;

    (void)ac;
    if (script_retry(&r->use, r->rc, rep, &c->retried) &&
        redemption_ucall_send(c, on_finish_reply) == 0)
        return;
    r->finishing--;
    finish_done(c, rep); /* c kept or freed */
    if (r->finishing == 0 && r->finished != NULL)
        r->finished(r->finished_ud);
}

/* Every call of b answered (in order), b freed. */
static void batch_done(ubatch_t *b)
{
    redemption_t *r = b->r;
    int i;

    if (b->sent) {
        r->sent--;
        if (r->nopen > 0) /* held back while this one ran: they go now */
            redis_conn_want_flush(r->rc);
    }
    for (i = 0; i < b->n; i++) {
        call_done(b->c[i]);
        redemption_ucall_free(b->c[i]);
    }
    free(b);
}

/* The batch's answer: one element per call; anything else (the connection
 * lost, Redis refusing the whole call) is every call's answer. */
static void on_batch(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    ubatch_t *b = pd;
    int i;

    (void)ac;
    if (script_retry(&b->r->use, b->r->rc, rep, &b->retried) &&
        batch_send(b) == 0)
        return;
    b->replied = 1;
    for (i = 0; i < b->n; i++) {
        ucall_t *c = b->c[i];

        if (rep != NULL && rep->type == REDIS_REPLY_ARRAY &&
            rep->elements == (size_t)b->n) {
            call_record(c, rep->element[i]);
        } else if (rep != NULL && rep->type != REDIS_REPLY_ERROR) {
            c->rc = USE_RC_ERROR;
            snprintf(c->err, sizeof(c->err), "unexpected answer from use.lua");
        } else {
            call_record(c, rep);
        }
    }
    if (b->nwait > 0)
        return; /* the WAIT sent after it completes the batch */
    batch_done(b);
}

static void on_wait(redisAsyncContext *ac, void *reply, void *pd)
{
    redisReply *rep = reply;
    ubatch_t *b = pd;
    int i, replicated;

    (void)ac;
    if (--b->nwait > 0 || !b->replied)
        return; /* the WAIT of a batch retried after NOSCRIPT */
    replicated = redis_conn_waited(rep, b->r->min_replicas);
    for (i = 0; i < b->n; i++)
        if (b->c[i]->rc == USE_RC_OK && wants_wait(b->c[i]))
            b->c[i]->ans->replicated = replicated;
    batch_done(b);
}

/* Every call of b answered "unavailable" (why), b freed. */
static void batch_fail(ubatch_t *b, const char *why)
{
    int i;

    for (i = 0; i < b->n; i++) {
        b->c[i]->rc = USE_RC_UNAVAILABLE;
        snprintf(b->c[i]->err, sizeof(b->c[i]->err), "%s", why);
    }
    batch_done(b);
}

/* Sends b; if it cannot be sent (the connection dropped since its calls
 * were taken), every call in it is answered "unavailable" now. */
static void batch_flush(ubatch_t *b)
{
    if (batch_send(b) != 0) {
        batch_fail(b, "redis connection lost");
        return;
    }
    b->sent = 1;
    b->r->sent++;
}

/* The flush hook: every open batch goes out in this iteration's write. */
static void flush_open(void *ud)
{
    redemption_t *r = ud;

    if (r->inflight > 0 && r->sent >= r->inflight)
        return; /* held: batch_done asks again when one is answered */
    while (r->nopen > 0)
        batch_flush(r->open[--r->nopen]);
}

/* c joins the open batch of its coupon (opened if none); a full batch
 * leaves at once. */
static int batch_add(redemption_t *r, ucall_t *c)
{
    ubatch_t *b = NULL;
    int i;

    for (i = 0; i < r->nopen && b == NULL; i++)
        if (r->open[i]->coupon_id == c->coupon_id)
            b = r->open[i];
    if (b == NULL) {
        if (r->nopen == OPEN_BATCHES) /* many coupons at once: make room */
            batch_flush(r->open[--r->nopen]);
        if ((b = calloc(1, sizeof(*b))) == NULL)
            return -1;
        b->r = r;
        b->coupon_id = c->coupon_id;
        r->open[r->nopen++] = b;
        redis_conn_want_flush(r->rc);
    }
    b->c[b->n++] = c;
    if (b->n == USE_BATCH_MAX) { /* full: send now, the next one opens */
        for (i = 0; r->open[i] != b; i++)
            ;
        r->open[i] = r->open[--r->nopen];
        batch_flush(b);
    }
    return 0;
}

/* ---- calls ---- */

int redemption_call(redemption_t *r, const use_call_t *u, use_answer_t *ans,
                    redemption_fn fn, void *ud, uint64_t tok)
{
    ucall_t *c;

    if (!redemption_usable(r) ||
        (c = redemption_ucall_new(r, K_CALL, u->coupon_id, u->rid)) == NULL)
        return -1;
    c->fn.call = fn;
    c->ud = ud;
    c->tok = tok;
    c->op = u->op;
    c->ans = ans;
    call_args(c, u);
    if (batch_add(r, c) != 0) {
        redemption_ucall_free(c);
        return -1;
    }
    return 0;
}

int redemption_finish_send(ucall_t *c)
{
    if (redemption_ucall_send(c, on_finish_reply) != 0)
        return -1;
    c->r->finishing++;
    return 0;
}

/* No WAIT follows a finish, unlike an undo: a finish lost at a failover
 * (answered by the old primary, not on the promoted replica) leaves the
 * budget held, which never over-issues, and the new primary's new
 * replication id fences the coupon until the fence guard has finished
 * every record whose release event is in MySQL or the topic
 * (schemas/redemption.md, finish): the guard gives that budget back, the
 * WAIT would only make each cancel hold the connection's pipeline for a
 * replica round trip. What a WAIT cannot help with, an answer lost or a
 * Redis error with no failover, the kept finish covers. An undo lost at a
 * failover is worse (a transition without its event), hence its WAIT.
 *
 * A re-send never frees twice nor touches a later transition: use.lua
 * finishes only the record at that version whose p is 1, and sets p to 0
 * (another run answers 0); any later transition has a higher version (an
 * undo, which could bring the version back, refuses a record whose finish
 * ran, and the api undoes only transitions whose event Kafka refused,
 * never one it finishes). The one record of the same version a re-send
 * may meet is a transition made again after the dataset lost it (a
 * failover without --redis-min-replicas) that is again a release (p is 1
 * only after a cancel or a full give-back reversal): the one use it holds
 * is what its own finish would free, and Kafka has a release of that
 * version already. */
void redemption_finish(redemption_t *r, int64_t coupon_id, const char *rid,
                       int64_t version)
{
    ucall_t *c = redemption_ucall_new(r, K_FINISH, coupon_id, rid);

    if (c == NULL) {
        r->finish_failures++;
        LOG(LL_ERROR,
            "msg=\"finish not sent nor kept: out of memory; " FINISH_LOST_WHY
            "\" coupon_id=%" PRId64 " redemption_id=%s version=%" PRId64,
            coupon_id, rid, version);
        return;
    }
    c->version = version;
    redemption_arg(c, "finish");
    redemption_arg(c, c->rid);
    redemption_arg(c, redemption_num(c, 0, version));
    if (redemption_usable(r) && redemption_finish_send(c) == 0)
        return;
    LOG(LL_WARN,
        "msg=\"finish not sent (redis unavailable): kept for the next "
        "connection\" coupon_id=%" PRId64 " redemption_id=%s "
        "version=%" PRId64,
        coupon_id, rid, version);
    redemption_kept_add(r, c);
}

void redemption_on_finished(redemption_t *r, redemption_finished_fn fn,
                            void *ud)
{
    r->finished = fn;
    r->finished_ud = ud;
}

unsigned redemption_finishing(const redemption_t *r)
{
    return r->finishing;
}

uint64_t redemption_finish_failures(const redemption_t *r)
{
    return r->finish_failures;
}

void redemption_set_inflight(redemption_t *r, unsigned n)
{
    r->inflight = n;
}

void redemption_set_min_replicas(redemption_t *r, int n, int timeout_ms)
{
    r->min_replicas = n;
    r->replica_timeout_ms = timeout_ms;
}

int redemption_ready(const redemption_t *r)
{
    return script_ready(&r->use) && redis_conn_up(r->rc);
}

void redemption_reset(redemption_t *r, const char *why)
{
    redis_conn_reset(r->rc, why);
}

/* ---- life ---- */

static void on_redis_state(void *ud, redis_conn_t *rc, int up)
{
    redemption_t *r = ud;

    if (!up)
        return;
    if (script_load(&r->use, rc) != 0)
        LOG(LL_ERROR, "msg=\"SCRIPT LOAD of use.lua not sent\"");
    redemption_resend_kept(r); /* pipelined after the load */
}

redemption_t *redemption_new(uv_loop_t *loop, const char *redis_url,
                             char *errstr, size_t n)
{
    redemption_t *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        snprintf(errstr, n, "out of memory");
        return NULL;
    }
    r->loop = loop;
    script_init(&r->use, embedded_use_lua);
    r->rc = redis_conn_new(loop, redis_url, on_redis_state, r, errstr, n);
    if (r->rc == NULL) {
        free(r);
        return NULL;
    }
    redis_conn_set_flush(r->rc, flush_open, r);
    return r;
}

void redemption_free(redemption_t *r)
{
    if (r == NULL)
        return;
    while (r->nopen > 0) /* taken, never sent */
        batch_fail(r->open[--r->nopen], "shutting down");
    redis_conn_free(r->rc); /* pending calls come back with NULL */
    redemption_kept_free(r);
    free(r);
}
