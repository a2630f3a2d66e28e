/* redemption_internal.h -- what redemption.c shares with
 * redemption_undo.c (undoing a transition, and keeping the undos whose
 * outcome is unknown for the next primary): the handle, a call's context
 * and the helpers that build and send one. Not part of the api's
 * interface: redemption.h is. */
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
/* Undos of unknown outcome kept for a re-send (redemption_undo.c): at most
 * this many, for at most this long -- admission's KEPT_MAX and KEPT_MS, for
 * the same reasons: a sentinel failover takes seconds, and a kept undo
 * holds its arguments (a prev record up to 4 KiB). */
#define UNDO_KEPT_MAX 256
#define UNDO_KEPT_MS  60000

enum { K_CALL, K_UNDO, K_FINISH };

/* What an undo's answer says: 1 or 0 (answered); lost or a Redis error
 * (unknown: it may not have run, kept); the script's refusal or a reply
 * not as agreed (refused: it would refuse again, forgotten). */
enum { UNDO_ANSWERED, UNDO_UNKNOWN, UNDO_REFUSED };

typedef struct ubatch ubatch_t;
typedef struct ucall ucall_t;

struct redemption {
    uv_loop_t *loop;
    redis_conn_t *rc;
    script_t use;
    ubatch_t *open[OPEN_BATCHES]; /* taken, not yet sent */
    int nopen;
    int min_replicas; /* WAIT for them after use.lua; 0: no */
    int replica_timeout_ms;
    unsigned finishing;
    uint64_t finish_failures;
    redemption_finished_fn finished; /* the last finish in flight answered */
    void *finished_ud;
    ucall_t *kept; /* undos of unknown outcome, for the next connection */
    redemption_kept_t ks;
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
    /* undo only (redemption_undo.c) */
    int nwait;        /* WAITs sent after it, not answered yet */
    int replied;      /* its answer is in: fate says what it was */
    int fate;         /* UNDO_ANSWERED, UNDO_UNKNOWN, UNDO_REFUSED */
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

/* redemption_undo.c */
/* A new connection: every kept undo is sent again (after the load). */
void redemption_resend_kept(redemption_t *r);
/* At exit: the kept undos are forgotten. */
void redemption_kept_free(redemption_t *r);

#endif
