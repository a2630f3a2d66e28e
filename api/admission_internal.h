/* admission_internal.h -- what admission.c shares with the two modules cut
 * out of it: admission_settle.c (undoing calls whose answer was lost or not
 * replicated, and keeping those undos for the next primary) and
 * admission_reads.c (the coupon summary, a user's status, PING). Not part
 * of the api's interface: admission.h is. */
#ifndef COUPONQ_API_ADMISSION_INTERNAL_H
#define COUPONQ_API_ADMISSION_INTERNAL_H

#include <stdint.h>

#include <hiredis/async.h>
#include <uv.h>

#include "admission.h"
#include "admit_group.h"
#include "admit_reply.h"
#include "redis_conn.h"
#include "script.h"
#include "ulid.h"

/* Retry of settle.lua calls that failed on a live connection (LOADING). */
#define SETTLE_RETRY_MS 500
/* Call records to delete (HDEL ... :calls) per coupon and iteration. */
#define DONE_MAX 256
/* Settled calls kept for a re-settle (see "kept" below): at most this many,
 * for at most this long (a sentinel failover takes seconds). */
#define KEPT_MAX 256
#define KEPT_MS  60000

enum { SCRIPT_ADMIT = 0, SCRIPT_RELEASE, SCRIPT_SETTLE, NSCRIPTS };

typedef struct call {
    admission_t *a;
    union {
        admission_admit_fn admit;
        admission_release_fn release;
        admission_summary_fn summary;
        admission_status_fn status;
        admission_ping_fn ping;
    } fn;
    void *ud;
    uint64_t tok;
    int64_t coupon_id, user_id;
    int retried;
    int replies; /* still expected */
    int failed;
    char err[128];
    admission_summary_t sum;
    int bits; /* user status: 1 meta exists, 2 persisted, 4 issued */
} call_t;

typedef struct admit_batch admit_batch_t;

typedef struct done { /* call records whose answer arrived, one coupon */
    int64_t coupon_id;
    int n;
    char call[DONE_MAX][ULID_LEN + 1];
} done_t;

struct admission {
    uv_loop_t *loop;
    redis_conn_t *rc;
    script_t script[NSCRIPTS];
    admit_group_t open; /* calls taken, not yet sent */
    done_t done[ADMIT_GROUP_OPEN];
    int ndone;
    admit_batch_t *unsettled; /* sent, answer lost: settle.lua pending */
    int min_replicas;         /* WAIT for them after admit.lua; 0: no */
    int replica_timeout_ms;
    uint64_t not_replicated;
    unsigned nunsettled;
    uint64_t settled;
    uint64_t settle_at_ms; /* next retry by admission_tick */
    admit_batch_t *kept;   /* settled, the settle not on the replicas */
    admission_resettle_t rs;
};
typedef struct pending {
    admission_admit_fn fn;
    void *ud;
    uint64_t tok;
    int64_t user_id;
} pending_t;

struct admit_batch {
    admission_t *a;
    int64_t coupon_id;
    int n;
    int retried;
    int nwait; /* WAITs sent after its EVALSHA, not yet answered */
    /* What admit.lua answered, kept until its WAIT (if any) is in. */
    admit_reply_t outcome;
    int resettle;       /* settled once already: sent again after a switch */
    int settle_ok;      /* settle.lua answered an integer: released */
    long long released; /* users the last settle.lua removed */
    uint64_t kept_ms;   /* first kept (0: never) */
    admit_result_t fail_res;
    char err[128];
    char call[ULID_LEN + 1]; /* the call id admit.lua records */
    admit_batch_t *next;     /* on the unsettled list */
    pending_t p[ADMIT_GROUP_USERS];
    admit_result_t res[ADMIT_GROUP_USERS]; /* when ANSWERED: p[i]'s result */
    int64_t seq[ADMIT_GROUP_USERS];
};

/* admission.c */
call_t *admission_call_new(admission_t *a, void *ud, uint64_t tok,
                           int64_t coupon_id, int64_t user_id);
/* Redis up and every script loaded or being loaded (script.h). */
int admission_scripts_usable(admission_t *a);
/* One call of b, admit.lua (SCRIPT_ADMIT) or settle.lua (SCRIPT_SETTLE). */
int admission_call_send(admit_batch_t *b, int which, redisCallbackFn *fn);

/* admission_settle.c */
/* Every unsettled call, now (on a new connection, after the loads). */
void admission_settle_all(admission_t *a);
/* A new connection: the kept settles become unsettled again. */
void admission_resettle_kept(admission_t *a);
/* At exit: the kept settles are forgotten. */
void admission_kept_free(admission_t *a);

#endif
