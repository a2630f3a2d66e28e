/* peer.h -- client addresses: the key the abuse limits count by (an IPv4
 * address, or the /64 of an IPv6 one, since one subscriber usually holds a
 * whole /64), CIDR lists (--trusted-peers) and printing. Pure. */
#ifndef COUPONQ_API_PEER_H
#define COUPONQ_API_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define PEER_MAX_CIDRS 64

typedef struct peer_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int bits;
} peer_cidr_t;

typedef struct peer_cidrs {
    size_t n;
    peer_cidr_t v[PEER_MAX_CIDRS];
} peer_cidrs_t;

/* "10.0.0.0/8,192.0.2.7,::1,2001:db8::/32" (empty: none). 0 or -1. */
int peer_cidrs_parse(const char *list, peer_cidrs_t *out, char *errstr,
                     size_t n);
/* 1 when the address lies in one of the ranges (IPv4-mapped IPv6
 * addresses are compared as IPv4). */
int peer_in(const peer_cidrs_t *c, const struct sockaddr_storage *ss);

/* The limits' key: IPv6 -> its first 64 bits; IPv4 (mapped ones too) ->
 * 0xffff << 32 | the address. */
uint64_t peer_key(const struct sockaddr_storage *ss);

/* "192.0.2.7" or "2001:db8::1" into buf. */
void peer_format(const struct sockaddr_storage *ss, char *buf, size_t n);

#endif
