/* tokens.h -- pre-minted bearer tokens of couponq-bench (--token-file).
 *
 * The file holds one "USER_ID TOKEN" line per user. It is read before the
 * run into one arena that keeps, per user, the complete header line
 * "Authorization: Bearer <token>\r\n", indexed by an open-addressing table:
 * during the measurement a request costs one lookup and one copy, never a
 * signature. */
#ifndef COUPONQ_BENCH_TOKENS_H
#define COUPONQ_BENCH_TOKENS_H

#include <stddef.h>
#include <stdint.h>

#define TOKENS_MAX_LEN 2048 /* bytes of one token */

typedef struct tokens tokens_t;

/* NULL with errstr ("FILE:LINE: why") when the file cannot be used. */
tokens_t *tokens_load(const char *path, char *errstr, size_t n);
void tokens_free(tokens_t *t); /* NULL is a no-op */
size_t tokens_count(const tokens_t *t);

/* The user's header line (not NUL-terminated) with its length in *len;
 * NULL when the file holds no token for the user. */
const char *tokens_header(const tokens_t *t, int64_t user, size_t *len);

#endif
