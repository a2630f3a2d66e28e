/* ulid.c -- ULID generation and validation. See ulid.h.
 *
 * Random bits come from a per-thread xoshiro256** generator seeded from
 * getrandom(2) on first use: event ids need uniqueness, not secrecy, and the
 * api's hot path should not make a system call per id. Within one
 * millisecond (or when the clock steps back) the previous id's random part
 * is incremented, so ids from one thread always sort in creation order. */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "ulid.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

typedef unsigned __int128 u128;

static _Thread_local struct {
    int seeded;
    uint64_t s[4];
    uint64_t last_ms;
    uint8_t rnd[10];
} ulid_state;

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t xoshiro_next(uint64_t s[4])
{
    uint64_t r = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return r;
}

static void ulid_seed(void)
{
    size_t got = 0;

    while (got < sizeof(ulid_state.s)) {
        ssize_t r = getrandom((char *)ulid_state.s + got,
                              sizeof(ulid_state.s) - got, 0);
        if (r > 0)
            got += (size_t)r;
        else /* only EINTR is possible with flags 0 on Linux >= 3.17 */
            continue;
    }
    /* xoshiro must not start from all zero bits. */
    if ((ulid_state.s[0] | ulid_state.s[1] | ulid_state.s[2] |
         ulid_state.s[3]) == 0)
        ulid_state.s[0] = 0x9E3779B97F4A7C15ULL;
    ulid_state.seeded = 1;
}

void ulid_encode(uint64_t ms, const uint8_t rnd[10], char out[ULID_LEN + 1])
{
    u128 v = (u128)(ms & 0xFFFFFFFFFFFFULL) << 80;
    int i;

    for (i = 0; i < 10; i++)
        v |= (u128)rnd[i] << (8 * (9 - i));
    for (i = ULID_LEN - 1; i >= 0; i--) {
        out[i] = crockford[(unsigned)(v & 31)];
        v >>= 5;
    }
    out[ULID_LEN] = '\0';
}

/* Adds one to the 80-bit big-endian number; 1 on wrap-around. */
static int rnd_increment(uint8_t rnd[10])
{
    int i;

    for (i = 9; i >= 0; i--)
        if (++rnd[i] != 0)
            return 0;
    return 1;
}

uint64_t ulid_random(void)
{
    if (!ulid_state.seeded)
        ulid_seed();
    return xoshiro_next(ulid_state.s);
}

void ulid_generate(char out[ULID_LEN + 1])
{
    struct timespec ts;
    uint64_t now, a, b;

    if (!ulid_state.seeded)
        ulid_seed();
    clock_gettime(CLOCK_REALTIME, &ts);
    now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    if (now <= ulid_state.last_ms) {
        /* Same ms or the clock stepped back: stay monotonic. */
        if (rnd_increment(ulid_state.rnd))
            ulid_state.last_ms++;
    } else {
        ulid_state.last_ms = now;
        a = xoshiro_next(ulid_state.s);
        b = xoshiro_next(ulid_state.s);
        memcpy(ulid_state.rnd, &a, 8);
        memcpy(ulid_state.rnd + 8, &b, 2);
        /* Leave headroom so increments within one ms never wrap. */
        ulid_state.rnd[0] &= 0x7F;
    }
    ulid_encode(ulid_state.last_ms, ulid_state.rnd, out);
}

/* Each character's value + 1 (0: not of the alphabet): a table, not
 * strchr, since the api checks several ids of every redemption it answers. */
static const unsigned char values[256] = {
    ['0'] = 1,  ['1'] = 2,  ['2'] = 3,  ['3'] = 4,  ['4'] = 5,  ['5'] = 6,
    ['6'] = 7,  ['7'] = 8,  ['8'] = 9,  ['9'] = 10, ['A'] = 11, ['B'] = 12,
    ['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16, ['G'] = 17, ['H'] = 18,
    ['J'] = 19, ['K'] = 20, ['M'] = 21, ['N'] = 22, ['P'] = 23, ['Q'] = 24,
    ['R'] = 25, ['S'] = 26, ['T'] = 27, ['V'] = 28, ['W'] = 29, ['X'] = 30,
    ['Y'] = 31, ['Z'] = 32
};

static int crockford_value(char c)
{
    return (int)values[(unsigned char)c] - 1;
}

int ulid_valid(const char *s, size_t len)
{
    size_t i;

    if (len != ULID_LEN)
        return 0;
    /* 26 chars hold 130 bits; the top two must be zero for 128. */
    if (s[0] < '0' || s[0] > '7')
        return 0;
    for (i = 0; i < len; i++)
        if (crockford_value(s[i]) < 0)
            return 0;
    return 1;
}

uint64_t ulid_time_ms(const char *s)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 10; i++)
        v = (v << 5) | (uint64_t)crockford_value(s[i]);
    return v & 0xFFFFFFFFFFFFULL;
}

void ulid_decode(const char *s, uint64_t *ms, uint8_t rnd[10])
{
    u128 v = 0;
    int i;

    for (i = 0; i < ULID_LEN; i++)
        v = (v << 5) | (u128)crockford_value(s[i]);
    for (i = 9; i >= 0; i--) {
        rnd[i] = (uint8_t)(v & 0xFF);
        v >>= 8;
    }
    *ms = (uint64_t)v & 0xFFFFFFFFFFFFULL;
}
