/* peer.c -- address keys and CIDR lists. See peer.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer.h"

/* The IPv4 address of ss (plain or mapped) into a; 1 when it has one. */
static int v4_of(const struct sockaddr_storage *ss, uint8_t a[4])
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

    if (ss->ss_family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        return 1;
    }
    if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
        memcpy(a, s6->sin6_addr.s6_addr + 12, 4);
        return 1;
    }
    return 0;
}

static int parse_one(const char *s, peer_cidr_t *c)
{
    char buf[64], *slash;
    long bits;
    char *end;

    if (strlen(s) >= sizeof(buf))
        return -1;
    memcpy(buf, s, strlen(s) + 1);
    if ((slash = strchr(buf, '/')) != NULL)
        *slash = '\0';
    if (inet_pton(AF_INET, buf, c->addr) == 1)
        c->family = AF_INET;
    else if (inet_pton(AF_INET6, buf, c->addr) == 1)
        c->family = AF_INET6;
    else
        return -1;
    c->bits = c->family == AF_INET ? 32 : 128;
    if (slash != NULL) {
        bits = strtol(slash + 1, &end, 10);
        if (*end != '\0' || end == slash + 1 || bits < 0 || bits > c->bits)
            return -1;
        c->bits = (int)bits;
    }
    return 0;
}

int peer_cidrs_parse(const char *list, peer_cidrs_t *out, char *errstr,
                     size_t n)
{
    char item[64];
    const char *p = list, *comma;
    size_t len;

    memset(out, 0, sizeof(*out));
    if (*list != '\0' && list[strlen(list) - 1] == ',')
        goto bad;
    while (p != NULL && *p != '\0') {
        comma = strchr(p, ',');
        len = comma ? (size_t)(comma - p) : strlen(p);
        if (out->n == PEER_MAX_CIDRS || len == 0 || len >= sizeof(item))
            goto bad;
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_one(item, &out->v[out->n]) != 0)
            goto bad;
        out->n++;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
bad:
    snprintf(errstr, n,
             "--trusted-peers: \"%.64s\": expected up to %d comma-separated "
             "addresses or CIDR ranges",
             p, PEER_MAX_CIDRS);
    return -1;
}

static int prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
    int full = bits / 8, rest = bits % 8;

    if (memcmp(a, b, (size_t)full) != 0)
        return 0;
    return rest == 0 ||
           ((a[full] ^ b[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

int peer_in(const peer_cidrs_t *c, const struct sockaddr_storage *ss)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    uint8_t v4[4];
    int is4 = v4_of(ss, v4);
    size_t i;

    for (i = 0; i < c->n; i++) {
        if (c->v[i].family == AF_INET && is4 &&
            prefix_eq(c->v[i].addr, v4, c->v[i].bits))
            return 1;
        if (c->v[i].family == AF_INET6 && ss->ss_family == AF_INET6 &&
            prefix_eq(c->v[i].addr, s6->sin6_addr.s6_addr, c->v[i].bits))
            return 1;
    }
    return 0;
}

uint64_t peer_key(const struct sockaddr_storage *ss)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
    uint8_t v4[4];
    uint64_t k = 0;
    int i;

    /* IPv4 keys are 0000:ffff:<addr> as a 64-bit prefix: inside ::/8,
     * which no routed IPv6 /64 uses, so the two kinds never meet. */
    if (v4_of(ss, v4))
        return (uint64_t)0xffff << 32 | (uint64_t)v4[0] << 24 |
               (uint64_t)v4[1] << 16 | (uint64_t)v4[2] << 8 | v4[3];
    if (ss->ss_family != AF_INET6)
        return 0;
    for (i = 0; i < 8; i++)
        k = k << 8 | s6->sin6_addr.s6_addr[i];
    return k;
}

void peer_format(const struct sockaddr_storage *ss, char *buf, size_t n)
{
    const void *a;

    if (n == 0)
        return;
    buf[0] = '\0';
    if (ss == NULL) {
        snprintf(buf, n, "unix");
        return;
    }
    a = ss->ss_family == AF_INET
            ? (const void *)&((const struct sockaddr_in *)ss)->sin_addr
            : (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (inet_ntop(ss->ss_family, a, buf, (socklen_t)n) == NULL)
        snprintf(buf, n, "?");
}
