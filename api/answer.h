/* answer.h -- the status and JSON body of couponq-api's answers to
 * admission and redemption results, as DESIGN.md's tables and
 * schemas/openapi.yaml say. Pure (no I/O), so unit-tested alone:
 * service.c and use_service.c decide when to answer and send these.
 *
 * Body functions write into buf (NUL-terminated) and return the length,
 * or -1 when buf is too small. */
#ifndef COUPONQ_API_ANSWER_H
#define COUPONQ_API_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "admission.h"
#include "redemption.h"

/* An admit.lua result: 202 accepted, 409 duplicate, 410 sold out, 403 not
 * open / ended / closed, 404 not found, 503 fenced / unavailable, 500
 * error. */
int answer_admit_status(admit_result_t r);

/* 202: {"result":"accepted","coupon_id":..,"user_id":..,"event_id":"..",
 * "seq":..}. event_id must be JSON-safe (a ULID). */
int answer_admit_accepted(char *buf, size_t n, int64_t coupon_id,
                          int64_t user_id, const char *event_id, int64_t seq);

/* A refusal admit.lua answered (duplicate, sold_out, not_open, ended,
 * closed, not_found): {"result":"<name>","coupon_id":..,"user_id":..}. */
int answer_admit_refusal(char *buf, size_t n, admit_result_t r,
                         int64_t coupon_id, int64_t user_id);

/* GET /v1/coupons/{id} of a coupon that exists: total and remaining are
 * null when unlimited (total < 0); remaining is never below 0. */
int answer_summary(char *buf, size_t n, int64_t coupon_id,
                   const admission_summary_t *s);

/* GET /v1/coupons/{id}/issues/{user_id} of a coupon that exists (st is
 * USER_NONE, USER_PENDING or USER_ISSUED). */
int answer_user_status(char *buf, size_t n, int64_t coupon_id, int64_t user_id,
                       user_status_t st);

/* A use.lua code's status; 0 for rid_taken (not an answer: the caller
 * draws another rid). */
int answer_use_status(use_code_t code);

/* The body of a use.lua answer to call c (not for forbidden, fenced and
 * rid_taken, which are plain errors): the redemption for a get, held or a
 * replay; the result and the redemption for a 200; the result and what
 * was asked otherwise. */
int answer_use_body(char *buf, size_t n, const use_call_t *c,
                    const use_answer_t *a);

#endif
