/* redemption_internal.h -- what redemption.c shares with
 * redemption_undo.c (undoing a transition) and redemption_kept.c (keeping
 * the undos and finishes whose outcome is unknown for the next
 * connection): the handle, a call's context and the helpers that build and
 * send one. Not part of the api's interface: redemption.h is. */
#ifndef COUPONQ_API_REDEMPTION_INTERNAL_H
#define COUPONQ_API_REDEMPTION_INTERNAL_H

#include <stdint.h>

#include <hiredis/async.h>
#include <uv.h>

#include "keys.h"
#include "redemption.h"
#include "redis_conn.h"
#include "script.h"

#define NKEYS        8
#define HEAD         (3 + NKEYS) /* EVALSHA sha 8 keys... */
#define MAX_ARGS     (HEAD + 7)  /* ...and the op with its arguments */
#define OPEN_BATCHES 8           /* coupons with a batch open at once */
/* Undos and finishes of unknown outcome kept for a re-send
 * (redemption_kept.c): at most this many of each kind, each for at most
 * this long -- admission's KEPT_MAX and KEPT_MS, for the same reasons: a
 * sentinel failover takes seconds, and a kept undo holds its arguments (a
 * prev record up to 4 KiB). A finish is small, but the same limits do: a
 * primary not back within a minute is an outage the fence guard and
 * couponqctl reconcile --repair are for, and a cancelled hold's budget
 * comes back at its expiry anyway. Each kind has its own cap, so a burst
 * of cancels never pushes out the undos. */
#define USE_KEPT_MAX 256
#define USE_KEPT_MS  60000

/* What a finish that never ran leaves behind, for the three places that
 * give one up (refused, out of memory, kept too long): one wording, so a
 * grep of the logs finds them all. */
#define FINISH_LOST_WHY                                                        \
    "the budget stays held: a cancelled hold until its expiry, a "             \
    "given-back use until couponqctl reconcile --repair"

/* The kinds a call may be kept as index r->ks (redemption.h). */
enum {
    K_UNDO = REDEMPTION_KEPT_UNDO,
    K_FINISH = REDEMPTION_KEPT_FINISH,
    K_CALL
};

/* What the answer of an undo or a finish says: 1 or 0 (answered); lost
 * or a Redis error (unknown: it may not have run, kept); the script's
 * refusal or a reply not as agreed (refused: it would refuse again,
 * forgotten). */
enum { KEPT_ANSWERED, KEPT_UNKNOWN, KEPT_REFUSED };

typedef struct ubatch ubatch_t;
typedef struct ucall ucall_t;

struct redemption {
    uv_loop_t *loop;
    redis_conn_t *rc;
    script_t use;
    ubatch_t *open[OPEN_BATCHES]; /* taken, not yet sent */
    int nopen;
    unsigned sent;     /* batches sent, not answered yet */
    unsigned inflight; /* at most this many sent; 0: no limit */
    int min_replicas;  /* WAIT for them after use.lua; 0: no */
    int replica_timeout_ms;
    unsigned finishing;       /* finishes sent, not answered yet */
    uint64_t finish_failures; /* refused, or given up (not kept, forgotten) */
    redemption_finished_fn finished; /* the last finish in flight answered */
    void *finished_ud;
    ucall_t *kept; /* undos and finishes of unknown outcome, next connection */
    redemption_kept_t ks[REDEMPTION_KEPT_KINDS];
};

struct ucall {
    redemption_t *r;
    int kind;
    union {
        redemption_fn call;
        redemption_undo_fn undo; /* NULL once it ran (a kept undo's) */
    } fn;
    void *ud;
    uint64_t tok;
    use_op_t op;
    use_answer_t *ans;
    int64_t coupon_id, version; /* for the logs of finish and undo */
    int retried;
    use_rc_t rc; /* its answer, once in: rc, err and *ans */
    char err[160];
    int argc;
    const char *argv[MAX_ARGS];
    size_t len[MAX_ARGS];
    char keys[NKEYS][KEYS_MAX];
    char rid[RID_LEN + 1], event_id[ULID_LEN + 1];
    char num[3][24]; /* actor, user id, amounts, version */
    char id[USE_ID_MAX + 1];
    char prev_user[RID_LEN + 1];
    char *prev; /* undo: owned copy */
    /* undo and finish (redemption_undo.c, redemption_kept.c) */
    int nwait;        /* undo: WAITs sent after it, not answered yet */
    int replied;      /* undo: its answer is in: fate says what it was */
    int fate;         /* KEPT_ANSWERED, KEPT_UNKNOWN, KEPT_REFUSED */
    unsigned resends; /* sent again on new connections */
    uint64_t kept_ms; /* first kept (0: never) */
    ucall_t *next;    /* on r->kept */
};

/* redemption.c */
/* A call of coupon_id on rid; its argv[HEAD..) follow (redemption_arg). */
ucall_t *redemption_ucall_new(redemption_t *r, int kind, int64_t coupon_id,
                              const char *rid);
void redemption_ucall_free(ucall_t *c); /* NULL is a no-op */
void redemption_arg(ucall_t *c, const char *s);
/* v in decimal, in c's own buffer i (0..2), for redemption_arg. */
const char *redemption_num(ucall_t *c, int i, int64_t v);
/* EVALSHA in the plain form; fn gets c. 0/-1 as redis_conn_command. */
int redemption_ucall_send(ucall_t *c, redisCallbackFn *fn);
/* Connected and use.lua loaded or being loaded. */
int redemption_usable(redemption_t *r);

/* A finish (or a kept one again), counted in flight until answered.
 * 0/-1 as redis_conn_command. */
int redemption_finish_send(ucall_t *c);

/* redemption_undo.c */
/* The undo (or a kept one again), with min_replicas its WAIT. 0/-1. */
int redemption_undo_send(ucall_t *c);

/* redemption_kept.c */
/* The answer rep (NULL: lost) of an undo or a finish: 1 done, 0 not, -1
 * failed (*err says why); c->fate is set. Pure. */
int redemption_kept_outcome(ucall_t *c, const struct redisReply *rep,
                            const char **err);
/* c's outcome is unknown (or not on the replicas): kept for the next
 * connection. Over USE_KEPT_MAX of its kind, the oldest of that kind is
 * forgotten (counted: dropped). */
void redemption_kept_add(redemption_t *r, ucall_t *c);
/* A re-sent one answered (done as redemption_kept_outcome's): counted and
 * logged (nobody else hears it). */
void redemption_kept_answered(ucall_t *c, int done, const char *err);
/* A new connection: every kept call is sent again (after the load). */
void redemption_resend_kept(redemption_t *r);
/* At exit: the kept calls are logged and forgotten. */
void redemption_kept_free(redemption_t *r);

#endif
