/* jwt_speed.c -- the in-process cost of verifying a token, per algorithm,
 * with couponq-api's own code (api/jwt.c, api/auth.c): bench/run puts it
 * next to `openssl speed`.
 *
 *   jwt_speed JWKS TOKEN_FILE [N]
 *
 * TOKEN_FILE holds "USER_ID TOKEN" lines (tests/jwt_tool.py tokens), all
 * of one key. Prints one JSON line: the algorithm, µs per jwt_verify()
 * (N verifications cycling over the tokens, signature and claims), and µs
 * per auth_check() of a token already in the verified-token cache (a hit:
 * SHA-256 of the token and the clock re-checked; HS256 is never cached, so
 * its auth_check is a full verification). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "jwt.h"

#define MAX_TOKENS 100000

static char *toks[MAX_TOKENS];
static size_t ntoks;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int load(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[8192], *sp;

    if (f == NULL)
        return -1;
    while (ntoks < MAX_TOKENS && fgets(line, sizeof(line), f) != NULL) {
        if ((sp = strchr(line, ' ')) == NULL)
            continue;
        sp[strcspn(sp, "\r\n")] = '\0';
        if ((toks[ntoks] = strdup(sp + 1)) == NULL)
            break;
        ntoks++;
    }
    fclose(f);
    return ntoks > 0 ? 0 : -1;
}

static const char *alg_name(jwt_alg_t a)
{
    return a == JWT_ALG_HS256   ? "HS256"
           : a == JWT_ALG_ES256 ? "ES256"
                                : "RS256";
}

/* µs per jwt_verify over n verifications; -1 when one fails. */
static double time_verify(const jwks_t *keys, const jwt_policy_t *p, long n,
                          jwt_alg_t *alg)
{
    int64_t t = (int64_t)time(NULL);
    jwt_claims_t c;
    char why[128];
    double t0 = now_s();
    long i;

    for (i = 0; i < n; i++) {
        const char *tok = toks[(size_t)i % ntoks];

        if (jwt_verify(keys, p, tok, strlen(tok), t, &c, why, sizeof(why))) {
            fprintf(stderr, "jwt_speed: token %ld: %s\n", i, why);
            return -1;
        }
    }
    *alg = c.alg;
    return (now_s() - t0) * 1e6 / (double)n;
}

static int check(auth_t *a, const char *tok, char *hdr, size_t cap)
{
    http_request_t req;
    auth_result_t r;
    int len = snprintf(hdr, cap, "Bearer %s", tok);

    memset(&req, 0, sizeof(req));
    req.auth = hdr;
    req.auth_len = (size_t)len;
    req.auth_count = 1;
    return auth_check(a, &req, (int64_t)time(NULL), &r);
}

/* µs per auth_check of tokens already cached (the first pass fills). */
static double time_cached(auth_t *a, long n)
{
    static char hdr[8192];
    size_t i, m = ntoks < 1000 ? ntoks : 1000;
    double t0;
    long k;

    for (i = 0; i < m; i++)
        if (check(a, toks[i], hdr, sizeof(hdr)) != 0)
            return -1;
    t0 = now_s();
    for (k = 0; k < n; k++)
        if (check(a, toks[(size_t)k % m], hdr, sizeof(hdr)) != 0)
            return -1;
    return (now_s() - t0) * 1e6 / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 3 ? atol(argv[3]) : 2000;
    auth_opts_t o = { .mode = AUTH_JWT, .cache_entries = 16384 };
    jwks_t *keys = NULL;
    auth_t *a = NULL;
    char err[512];
    double v, cached;
    jwt_alg_t alg = JWT_ALG_HS256;
    int rc = 1;

    if (argc < 3 || n <= 0) {
        fprintf(stderr, "usage: jwt_speed JWKS TOKEN_FILE [N]\n");
        return 2;
    }
    o.keys_path = argv[1];
    o.policy.issuer = o.policy.audience = "couponq";
    o.policy.leeway_s = 30;
    o.policy.max_lifetime_s = 3600;
    if (load(argv[2]) != 0 ||
        (keys = jwks_load(argv[1], err, sizeof(err))) == NULL ||
        (a = auth_new(&o, err, sizeof(err))) == NULL) {
        fprintf(stderr, "jwt_speed: cannot load %s or %s\n", argv[1], argv[2]);
        goto out;
    }
    if ((v = time_verify(keys, &o.policy, n, &alg)) < 0 ||
        (cached = time_cached(a, n * 10)) < 0)
        goto out;
    printf("{\"alg\":\"%s\",\"tokens\":%zu,\"n\":%ld,\"verify_us\":%.3f,"
           "\"cached_us\":%.3f,\"cache_hits\":%llu}\n",
           alg_name(alg), ntoks, n, v, cached,
           (unsigned long long)auth_cache_hits(a));
    rc = 0;
out:
    auth_free(a);
    jwks_free(keys);
    return rc;
}
