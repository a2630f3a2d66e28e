/* test_api_admit_reply.c -- api/admit_reply: admit.lua's reply to one
 * call of several users read into one result and seq per user, a
 * malformed reply refused whole, Redis's refusals told from the script's,
 * and the fate of the call: delivered, failed, or settled when lost or not
 * replicated. Replies are built by hand (no Redis). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "unit.h"

#include "admit_reply.h"

#define MAXN 8

typedef struct fake {
    redisReply top;
    redisReply el[2 * MAXN];
    redisReply *ptr[2 * MAXN];
} fake_t;

/* An array of n (name, seq) pairs; a NULL name makes that element an
 * integer instead of a string (malformed). */
static const redisReply *pairs(fake_t *f, int n, const char *const *names,
                               const long long *seqs)
{
    int i;

    memset(f, 0, sizeof(*f));
    f->top.type = REDIS_REPLY_ARRAY;
    f->top.elements = (size_t)n * 2;
    f->top.element = f->ptr;
    for (i = 0; i < n; i++) {
        redisReply *name = &f->el[2 * i], *seq = &f->el[2 * i + 1];

        name->type = names[i] ? REDIS_REPLY_STRING : REDIS_REPLY_INTEGER;
        name->str = (char *)(names[i] ? names[i] : "");
        name->len = strlen(name->str);
        seq->type = REDIS_REPLY_INTEGER;
        seq->integer = seqs[i];
        f->ptr[2 * i] = name;
        f->ptr[2 * i + 1] = seq;
    }
    return &f->top;
}

static void error_reply(redisReply *r, const char *text)
{
    memset(r, 0, sizeof(*r));
    r->type = REDIS_REPLY_ERROR;
    r->str = (char *)text;
    r->len = strlen(text);
}

typedef struct got {
    admit_result_t res[MAXN], fail;
    int64_t seq[MAXN];
    char err[128];
} got_t;

static admit_reply_t read_into(const redisReply *rep, int n, got_t *g)
{
    int i;

    for (i = 0; i < MAXN; i++) { /* sentinels: untouched unless answered */
        g->res[i] = ADMIT_UNAVAILABLE;
        g->seq[i] = -1;
    }
    g->fail = ADMIT_ACCEPTED;
    g->err[0] = '\0';
    return admit_reply_read(rep, n, g->res, g->seq, &g->fail, g->err,
                            sizeof(g->err));
}

static void test_answered_in_order(void **state)
{
    static const char *const names[] = { "accepted",  "duplicate", "sold_out",
                                         "not_open",  "ended",     "closed",
                                         "not_found", "fenced" };
    static const long long seqs[] = { 17, 0, 0, 0, 0, 0, 0, 0 };
    fake_t f;
    got_t g;
    int i;

    (void)state;
    assert_int_equal(read_into(pairs(&f, 8, names, seqs), 8, &g),
                     ADMIT_REPLY_ANSWERED);
    for (i = 0; i < 8; i++)
        assert_int_equal(g.res[i], (admit_result_t)i); /* the enum's order */
    assert_int_equal(g.seq[0], 17);
    assert_int_equal(g.seq[1], 0);
    /* A status reply holds a name as well as a string does. */
    f.el[0].type = REDIS_REPLY_STATUS;
    assert_int_equal(read_into(&f.top, 8, &g), ADMIT_REPLY_ANSWERED);
    assert_int_equal(g.res[0], ADMIT_ACCEPTED);
}

/* A malformed reply answers nobody from it: every user gets "error". */
static void expect_malformed(const redisReply *rep, int n)
{
    got_t g;
    int i;

    assert_int_equal(read_into(rep, n, &g), ADMIT_REPLY_FAILED);
    assert_int_equal(g.fail, ADMIT_ERROR);
    assert_string_equal(g.err, "unexpected reply from admit.lua");
    for (i = 0; i < MAXN; i++)
        assert_int_equal(g.res[i], ADMIT_UNAVAILABLE);
}

static void test_malformed_refused_whole(void **state)
{
    static const char *const good[] = { "accepted", "duplicate", "accepted" };
    static const char *const odd[] = { "accepted", "maybe" };
    static const char *const ours[] = { "accepted", "unavailable" };
    static const char *const num[] = { "accepted", NULL };
    static const long long seqs[] = { 1, 0, 2 };
    fake_t f;
    redisReply r;

    (void)state;
    expect_malformed(pairs(&f, 3, good, seqs), 2); /* more pairs than users */
    expect_malformed(pairs(&f, 2, good, seqs), 3); /* fewer */
    expect_malformed(pairs(&f, 2, odd, seqs), 2);  /* an unknown name */
    expect_malformed(pairs(&f, 2, ours, seqs), 2); /* not the script's */
    expect_malformed(pairs(&f, 2, num, seqs), 2);  /* a name not a string */
    pairs(&f, 2, good, seqs);
    f.el[3].type = REDIS_REPLY_STRING; /* a seq not an integer */
    f.el[3].str = (char *)"0";
    expect_malformed(&f.top, 2);
    memset(&r, 0, sizeof(r));
    r.type = REDIS_REPLY_INTEGER;
    expect_malformed(&r, 1);
}

static void test_errors_and_lost(void **state)
{
    redisReply r;
    got_t g;

    (void)state;
    error_reply(&r, "ERR couponq: corrupt meta for coupon 7");
    assert_int_equal(read_into(&r, 2, &g), ADMIT_REPLY_FAILED);
    assert_int_equal(g.fail, ADMIT_ERROR);
    assert_string_equal(g.err, "ERR couponq: corrupt meta for coupon 7");
    error_reply(&r, "LOADING Redis is loading the dataset in memory");
    assert_int_equal(read_into(&r, 2, &g), ADMIT_REPLY_FAILED);
    assert_int_equal(g.fail, ADMIT_UNAVAILABLE);
    error_reply(&r, "READONLY You can't write against a read only replica.");
    assert_int_equal(read_into(&r, 2, &g), ADMIT_REPLY_FAILED);
    assert_int_equal(g.fail, ADMIT_UNAVAILABLE);
    /* Only the script's own "ERR couponq" is an error; Redis's ERRs are
     * Redis refusing. */
    error_reply(&r, "ERR max number of clients reached");
    assert_int_equal(read_into(&r, 2, &g), ADMIT_REPLY_FAILED);
    assert_int_equal(g.fail, ADMIT_UNAVAILABLE);
    assert_int_equal(read_into(NULL, 2, &g), ADMIT_REPLY_LOST);
}

static void test_action(void **state)
{
    admit_result_t some[] = { ADMIT_DUPLICATE, ADMIT_ACCEPTED };
    admit_result_t none[] = { ADMIT_DUPLICATE, ADMIT_SOLD_OUT };

    (void)state;
    assert_true(admit_reply_accepted(some, 2));
    assert_false(admit_reply_accepted(none, 2));
    assert_false(admit_reply_accepted(some, 1));
    /* Answered: delivered unless it accepted someone on too few replicas. */
    assert_int_equal(admit_reply_action(ADMIT_REPLY_ANSWERED, -1, some, 2),
                     ADMIT_DELIVER);
    assert_int_equal(admit_reply_action(ADMIT_REPLY_ANSWERED, 1, some, 2),
                     ADMIT_DELIVER);
    assert_int_equal(admit_reply_action(ADMIT_REPLY_ANSWERED, 0, some, 2),
                     ADMIT_SETTLE_UNREPLICATED);
    assert_int_equal(admit_reply_action(ADMIT_REPLY_ANSWERED, 0, none, 2),
                     ADMIT_DELIVER); /* nothing written to lose */
    /* Lost: settled whatever WAIT said; failed: the failure for all. */
    assert_int_equal(admit_reply_action(ADMIT_REPLY_LOST, 1, some, 2),
                     ADMIT_SETTLE_LOST);
    assert_int_equal(admit_reply_action(ADMIT_REPLY_LOST, -1, none, 2),
                     ADMIT_SETTLE_LOST);
    assert_int_equal(admit_reply_action(ADMIT_REPLY_FAILED, 0, some, 2),
                     ADMIT_DELIVER_FAILURE);
}

UNIT_TESTS(cmocka_unit_test(test_answered_in_order),
           cmocka_unit_test(test_malformed_refused_whole),
           cmocka_unit_test(test_errors_and_lost),
           cmocka_unit_test(test_action))
