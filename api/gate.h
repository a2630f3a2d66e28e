/* gate.h -- everything a request passes before it may touch Redis, cheapest
 * first: connections per IP (at accept), a loose request rate per IP, the
 * strict budget of failed authentications per IP, authentication (auth.h),
 * then the request rate per user. Refusals are counted by reason in the
 * metrics (couponq_api_refusals_total) and logged at most once per second
 * per reason (with how many were not logged), naming the reason, coupon,
 * user, IP, key id and a short hash of the token -- never the token.
 *
 * IPs are keyed as peer.h says (IPv6 per /64). Every table has a fixed
 * size chosen at start. One gate_t per event loop; not thread-safe. */
#ifndef COUPONQ_API_GATE_H
#define COUPONQ_API_GATE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "auth.h"
#include "http_parser.h"
#include "metrics.h"

typedef struct gate_opts {
    uint32_t conns_per_ip; /* 0 = no cap */
    double ip_rate, ip_burst;
    double fail_rate, fail_burst;
    double user_rate, user_burst;
    uint32_t table_entries; /* per rate table */
    uint32_t max_conns;     /* sizes the connection table */
} gate_opts_t;

/* Who a request acts as, once authenticated. */
typedef struct gate_who {
    int authed;  /* 0 with --auth off */
    int service; /* a service token: the body names the user */
    int64_t user_id;
    char sub[JWT_SERVICE_SUB + 1];
    char kid[JWKS_KID_MAX + 1];
    char hash[13];
} gate_who_t;

/* A refusal to send: status, extra header lines, the error message. */
typedef struct gate_refusal {
    int status; /* 400, 401, 403, 429 */
    char extra[160];
    char msg[160];
} gate_refusal_t;

typedef struct gate gate_t;

/* Takes auth (owned by the gate now). NULL with errstr. */
gate_t *gate_new(const gate_opts_t *o, auth_t *auth, metrics_t *m, char *errstr,
                 size_t n);
void gate_free(gate_t *g); /* NULL is a no-op */
auth_t *gate_auth(gate_t *g);

/* The http_limits_t hooks (ud = gate). */
int gate_admit_peer(void *ud, const struct sockaddr_storage *peer);
void gate_peer_gone(void *ud, const struct sockaddr_storage *peer);

/* The per-IP request limit alone (routes that need no identity). */
int gate_ip(gate_t *g, const http_request_t *req, int64_t coupon_id,
            gate_refusal_t *ref);

/* Per-IP limits and authentication of a user-facing request. 0 with *who
 * set; -1 with *ref to send. */
int gate_request(gate_t *g, const http_request_t *req, int64_t coupon_id,
                 gate_who_t *who, gate_refusal_t *ref);

/* The user an authenticated request acts for, given the user id the
 * request names (body or path; 0 = none), then the per-user limit. With
 * --auth off, named must be the user. 0 with *user; -1 with *ref. */
int gate_user(gate_t *g, const http_request_t *req, const gate_who_t *who,
              int64_t coupon_id, int64_t named, int64_t *user,
              gate_refusal_t *ref);

#endif
