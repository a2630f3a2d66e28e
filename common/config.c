/* config.c -- flags with environment defaults. See config.h.
 *
 * Values are kept as text (config_str works for every option) plus the
 * parsed integer or boolean, so a binary can log its effective
 * configuration. Everything is checked here, once, so the rest of a binary
 * can trust config_int() to be within the table's range. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "version.h"

typedef struct cfg_val {
    char *text; /* NULL = unset */
    long long i;
    int b;
    int set; /* from a flag or the environment */
} cfg_val_t;

struct config {
    const cfg_opt_t *opts;
    size_t nopts;
    cfg_val_t *vals;
    char **pos;
    size_t npos;
    char **xkv; /* key0, value0, key1, value1 ... */
    size_t nx;
};

config_t *config_new(const cfg_opt_t *opts, size_t nopts)
{
    config_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    c->opts = opts;
    c->nopts = nopts;
    c->vals = calloc(nopts + 1, sizeof(*c->vals));
    if (c->vals == NULL) {
        free(c);
        return NULL;
    }
    return c;
}

void config_free(config_t *c)
{
    size_t i;

    if (c == NULL)
        return;
    for (i = 0; i < c->nopts; i++)
        free(c->vals[i].text);
    for (i = 0; i < c->npos; i++)
        free(c->pos[i]);
    for (i = 0; i < 2 * c->nx; i++)
        free(c->xkv[i]);
    free(c->vals);
    free(c->pos);
    free(c->xkv);
    free(c);
}

static long config_find(const config_t *c, const char *name, size_t len)
{
    size_t i;

    for (i = 0; i < c->nopts; i++)
        if (strlen(c->opts[i].name) == len &&
            memcmp(c->opts[i].name, name, len) == 0)
            return (long)i;
    return -1;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on" };
    static const char *const no[] = { "0", "false", "no", "off" };
    size_t i;

    for (i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

/* Strict decimal: optional '-', digits, nothing else, no overflow. */
static int parse_int(const char *s, long long *out)
{
    char *end;

    if (!(isdigit((unsigned char)s[0]) ||
          (s[0] == '-' && isdigit((unsigned char)s[1]))))
        return -1;
    errno = 0;
    *out = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    return 0;
}

/* Checks and stores one value; origin says where it came from (for errors:
 * "" for a flag, " (from ENV)" or " (default)"). */
static int config_set(config_t *c, size_t idx, const char *text, int set,
                      const char *origin, char *errstr, size_t n)
{
    const cfg_opt_t *o = &c->opts[idx];
    cfg_val_t *v = &c->vals[idx];
    long long i = 0;
    int b = 0;
    char *copy;

    if (o->type == CFG_INT) {
        if (parse_int(text, &i) != 0) {
            snprintf(errstr, n, "--%s: \"%s\" is not an integer%s", o->name,
                     text, origin);
            return -1;
        }
        if (i < o->min || i > o->max) {
            snprintf(errstr, n, "--%s: %lld is %s the %s %lld%s", o->name, i,
                     i < o->min ? "below" : "above",
                     i < o->min ? "minimum" : "maximum",
                     i < o->min ? o->min : o->max, origin);
            return -1;
        }
    } else if (o->type == CFG_BOOL && parse_bool(text, &b) != 0) {
        snprintf(errstr, n, "--%s: \"%s\" is not a boolean (true/false)%s",
                 o->name, text, origin);
        return -1;
    }
    copy = strdup(text);
    if (copy == NULL) {
        snprintf(errstr, n, "--%s: out of memory", o->name);
        return -1;
    }
    free(v->text);
    v->text = copy;
    v->i = i;
    v->b = b;
    v->set = set;
    return 0;
}

/* Defaults, then the environment; flags come after. */
static int config_defaults(config_t *c, char *errstr, size_t n)
{
    char origin[128];
    size_t i;

    for (i = 0; i < c->nopts; i++) {
        const cfg_opt_t *o = &c->opts[i];
        const char *env = o->env != NULL ? getenv(o->env) : NULL;

        if (env != NULL && env[0] != '\0') {
            snprintf(origin, sizeof(origin), " (from %s)", o->env);
            if (config_set(c, i, env, 1, origin, errstr, n) != 0)
                return -1;
        } else if (o->def != NULL) {
            if (config_set(c, i, o->def, 0, " (default)", errstr, n) != 0)
                return -1;
        } else if (o->type == CFG_BOOL) {
            c->vals[i].b = 0; /* an unset bool reads as false */
        }
    }
    return 0;
}

/* Appends one string (b == NULL) or one pair to *arr of count entries. */
static int config_push(char ***arr, size_t count, const char *a, const char *b)
{
    size_t per = b != NULL ? 2 : 1;
    char **grown = realloc(*arr, (count + 1) * per * sizeof(char *));
    char *x, *y = NULL;

    if (grown == NULL)
        return -1;
    *arr = grown;
    x = strdup(a);
    if (b != NULL)
        y = strdup(b);
    if (x == NULL || (b != NULL && y == NULL)) {
        free(x);
        free(y);
        return -1;
    }
    grown[count * per] = x;
    if (b != NULL)
        grown[count * per + 1] = y;
    return 0;
}

static int config_add_x(config_t *c, const char *kv, char *errstr, size_t n)
{
    const char *eq = strchr(kv, '=');
    char *key;
    int rc;

    if (eq == NULL || eq == kv) {
        snprintf(errstr, n, "-X %s: expected key=value", kv);
        return -1;
    }
    key = strndup(kv, (size_t)(eq - kv));
    rc = key != NULL ? config_push(&c->xkv, c->nx, key, eq + 1) : -1;
    free(key);
    if (rc != 0) {
        snprintf(errstr, n, "-X: out of memory");
        return -1;
    }
    c->nx++;
    return 0;
}

static int config_add_pos(config_t *c, const char *arg, char *errstr, size_t n)
{
    if (config_push(&c->pos, c->npos, arg, NULL) != 0) {
        snprintf(errstr, n, "%s: out of memory", arg);
        return -1;
    }
    c->npos++;
    return 0;
}

/* --name, --name=value, --name value, --no-name. *i may advance. */
static int config_long(config_t *c, int argc, char **argv, int *i, char *errstr,
                       size_t n)
{
    const char *name = argv[*i] + 2;
    const char *eq = strchr(name, '=');
    size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
    long idx = config_find(c, name, len);
    const char *value = eq != NULL ? eq + 1 : NULL;

    if (idx < 0 && len > 3 && strncmp(name, "no-", 3) == 0) {
        idx = config_find(c, name + 3, len - 3);
        if (idx >= 0 && c->opts[idx].type == CFG_BOOL && value == NULL)
            return config_set(c, (size_t)idx, "false", 1, "", errstr, n);
        idx = -1;
    }
    if (idx < 0) {
        snprintf(errstr, n, "--%.*s: unknown flag", (int)len, name);
        return -1;
    }
    if (value == NULL && c->opts[idx].type == CFG_BOOL)
        value = "true";
    if (value == NULL) {
        if (*i + 1 >= argc || strncmp(argv[*i + 1], "--", 2) == 0) {
            snprintf(errstr, n, "--%s: missing value", c->opts[idx].name);
            return -1;
        }
        value = argv[++*i];
    }
    return config_set(c, (size_t)idx, value, 1, "", errstr, n);
}

/* -X key=value or -Xkey=value. *i may advance. */
static int config_short_x(config_t *c, int argc, char **argv, int *i,
                          char *errstr, size_t n)
{
    const char *kv = argv[*i] + 2;

    if (*kv == '\0') {
        if (*i + 1 >= argc) {
            snprintf(errstr, n, "-X: missing key=value");
            return -1;
        }
        kv = argv[++*i];
    }
    return config_add_x(c, kv, errstr, n);
}

void config_print_version(FILE *out)
{
    fprintf(out, "%s (couponq) %s\n", program_invocation_short_name,
            COUPONQ_VERSION);
}

/* --version: the one place every binary answers it. Nothing has been set up
 * yet when flags are parsed, so exiting here leaves nothing behind. */
static void config_version_exit(void)
{
    config_print_version(stdout);
    exit(fflush(stdout) == 0 ? 0 : 1);
}

/* A lone "-" or a negative number ("-5") is an argument, not a flag. */
static int is_flag(const char *a)
{
    return a[0] == '-' && a[1] != '\0' && !isdigit((unsigned char)a[1]);
}

int config_parse(config_t *c, int argc, char **argv, char *errstr, size_t n)
{
    int i, flags_done = 0, rc;

    if (config_defaults(c, errstr, n) != 0)
        return -1;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (flags_done || !is_flag(a))
            rc = config_add_pos(c, a, errstr, n);
        else if (strcmp(a, "--") == 0)
            rc = 0, flags_done = 1;
        else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return 1;
        else if (strcmp(a, "--version") == 0)
            config_version_exit();
        else if (strncmp(a, "-X", 2) == 0)
            rc = config_short_x(c, argc, argv, &i, errstr, n);
        else if (a[1] == '-')
            rc = config_long(c, argc, argv, &i, errstr, n);
        else {
            snprintf(errstr, n, "%s: unknown flag", a);
            rc = -1;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

static const cfg_val_t *config_val(const config_t *c, const char *name,
                                   cfg_type_t *type)
{
    long idx = config_find(c, name, strlen(name));

    assert(idx >= 0 && "option not in the binary's table");
    if (idx < 0)
        return NULL;
    if (type != NULL)
        *type = c->opts[idx].type;
    return &c->vals[idx];
}

const char *config_str(const config_t *c, const char *name)
{
    const cfg_val_t *v = config_val(c, name, NULL);

    return v != NULL ? v->text : NULL;
}

long long config_int(const config_t *c, const char *name)
{
    cfg_type_t t = CFG_INT;
    const cfg_val_t *v = config_val(c, name, &t);

    assert(t == CFG_INT);
    return v != NULL ? v->i : 0;
}

int config_bool(const config_t *c, const char *name)
{
    cfg_type_t t = CFG_BOOL;
    const cfg_val_t *v = config_val(c, name, &t);

    assert(t == CFG_BOOL);
    return v != NULL ? v->b : 0;
}

int config_is_set(const config_t *c, const char *name)
{
    const cfg_val_t *v = config_val(c, name, NULL);

    return v != NULL ? v->set : 0;
}

size_t config_npos(const config_t *c)
{
    return c->npos;
}

const char *config_pos(const config_t *c, size_t i)
{
    return i < c->npos ? c->pos[i] : NULL;
}

size_t config_nx(const config_t *c)
{
    return c->nx;
}

const char *config_x_key(const config_t *c, size_t i)
{
    return i < c->nx ? c->xkv[2 * i] : NULL;
}

const char *config_x_value(const config_t *c, size_t i)
{
    return i < c->nx ? c->xkv[2 * i + 1] : NULL;
}

void config_usage(const config_t *c, const char *prog, const char *summary,
                  FILE *out)
{
    char flag[64];
    size_t i;

    fprintf(out, "usage: %s %s\n\noptions:\n", prog, summary);
    for (i = 0; i < c->nopts; i++) {
        const cfg_opt_t *o = &c->opts[i];

        if (o->type == CFG_BOOL)
            snprintf(flag, sizeof(flag), "--[no-]%s", o->name);
        else
            snprintf(flag, sizeof(flag), "--%s %s", o->name,
                     o->type == CFG_INT ? "N" : "VALUE");
        fprintf(out, "  %-26s %s", flag, o->help != NULL ? o->help : "");
        if (o->type == CFG_INT)
            fprintf(out, " [%lld..%lld]", o->min, o->max);
        fprintf(out, " (env %s, default %s)\n", o->env != NULL ? o->env : "-",
                o->def != NULL ? o->def : "unset");
    }
    fprintf(out, "  %-26s %s\n", "-X key=value",
            "librdkafka property, repeatable, applied last");
    fprintf(out, "  %-26s %s\n", "--version", "print the version and exit");
    fprintf(out, "  %-26s %s\n", "-h, --help", "this text");
}
