/* tokens.c -- the --token-file table. See tokens.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokens.h"

#define PREFIX "Authorization: Bearer "

typedef struct entry {
    int64_t user; /* 0 = empty slot */
    size_t off, len;
} entry_t;

struct tokens {
    char *arena;
    size_t used, cap;
    entry_t *e; /* in file order while loading, then the hash table */
    size_t n, ecap;
    entry_t *slots;
    size_t mask;
};

static size_t slot_of(const tokens_t *t, int64_t user)
{
    return (size_t)((uint64_t)user * 0x9e3779b97f4a7c15ULL >> 20) & t->mask;
}

static int arena_add(tokens_t *t, const char *tok, size_t len)
{
    size_t need = sizeof(PREFIX) - 1 + len + 2;

    if (t->used + need > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 1 << 20;
        char *a;

        while (cap < t->used + need)
            cap *= 2;
        if ((a = realloc(t->arena, cap)) == NULL)
            return -1;
        t->arena = a;
        t->cap = cap;
    }
    memcpy(t->arena + t->used, PREFIX, sizeof(PREFIX) - 1);
    memcpy(t->arena + t->used + sizeof(PREFIX) - 1, tok, len);
    memcpy(t->arena + t->used + need - 2, "\r\n", 2);
    t->used += need;
    return 0;
}

/* "USER TOKEN": a positive id and a token of base64url and dots. */
static int parse_line(char *line, int64_t *user, char **tok, size_t *len)
{
    char *end, *p;
    long long u = strtoll(line, &end, 10);

    if (end == line || u <= 0 || (*end != ' ' && *end != '\t'))
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    *len = strcspn(end, "\r\n \t");
    if (*len == 0 || *len > TOKENS_MAX_LEN)
        return -1;
    for (p = end; p < end + *len; p++)
        if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789-_.",
                   *p) == NULL)
            return -1;
    *user = u;
    *tok = end;
    return 0;
}

static int entry_add(tokens_t *t, int64_t user, size_t len)
{
    if (t->n == t->ecap) {
        size_t cap = t->ecap ? t->ecap * 2 : 1024;
        entry_t *e = realloc(t->e, cap * sizeof(*e));

        if (e == NULL)
            return -1;
        t->e = e;
        t->ecap = cap;
    }
    t->e[t->n].user = user;
    t->e[t->n].off = t->used - (sizeof(PREFIX) - 1 + len + 2);
    t->e[t->n].len = sizeof(PREFIX) - 1 + len + 2;
    t->n++;
    return 0;
}

/* 0, or -1 when a user comes twice. */
static int index_build(tokens_t *t)
{
    size_t size = 2, i, j;

    while (size < t->n * 2)
        size *= 2;
    if ((t->slots = calloc(size, sizeof(entry_t))) == NULL)
        return -1;
    t->mask = size - 1;
    for (i = 0; i < t->n; i++) {
        for (j = slot_of(t, t->e[i].user); t->slots[j].user != 0;
             j = (j + 1) & t->mask)
            if (t->slots[j].user == t->e[i].user)
                return -1;
        t->slots[j] = t->e[i];
    }
    return 0;
}

tokens_t *tokens_load(const char *path, char *errstr, size_t n)
{
    tokens_t *t = calloc(1, sizeof(*t));
    FILE *f = fopen(path, "r");
    char *line = NULL, *tok;
    size_t cap = 0, len, lineno = 0;
    int64_t user;

    if (t == NULL || f == NULL) {
        snprintf(errstr, n, "%s: cannot open", path);
        goto bad;
    }
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (parse_line(line, &user, &tok, &len) != 0) {
            snprintf(errstr, n, "%s:%zu: want \"USER_ID TOKEN\"", path, lineno);
            goto bad;
        }
        if (arena_add(t, tok, len) != 0 || entry_add(t, user, len) != 0) {
            snprintf(errstr, n, "%s:%zu: out of memory", path, lineno);
            goto bad;
        }
    }
    if (t->n == 0 || index_build(t) != 0) {
        snprintf(errstr, n, "%s: %s", path,
                 t->n == 0 ? "no token" : "a user comes twice");
        goto bad;
    }
    free(t->e);
    t->e = NULL;
    free(line);
    fclose(f);
    return t;
bad:
    free(line);
    if (f != NULL)
        fclose(f);
    tokens_free(t);
    return NULL;
}

void tokens_free(tokens_t *t)
{
    if (t == NULL)
        return;
    free(t->arena);
    free(t->e);
    free(t->slots);
    free(t);
}

size_t tokens_count(const tokens_t *t)
{
    return t->n;
}

const char *tokens_header(const tokens_t *t, int64_t user, size_t *len)
{
    size_t j;

    for (j = slot_of(t, user); t->slots[j].user != 0; j = (j + 1) & t->mask)
        if (t->slots[j].user == user) {
            *len = t->slots[j].len;
            return t->arena + t->slots[j].off;
        }
    return NULL;
}
