/* tool.c -- shared plumbing of the operator tools. See tool.h. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctlarg.h"
#include "event.h"
#include "log.h"
#include "tool.h"

#define TOOL_TEXT_LIST_MAX                                                     \
    50 /* ids shown in text output; JSON has them all                          \
        */

struct tool {
    const char *prog, *cmd;
    const config_t *cfg;
    db_t *db;
    live_t *live;
    topic_t *kafka;
    json_t *out;
    const char *quiet; /* see tool_quiet */
    int failed;        /* an error was reported: connections are not retried */
};

tool_t *tool_new(const char *prog, const char *cmd, const config_t *cfg)
{
    tool_t *t = calloc(1, sizeof(*t));

    if (t == NULL)
        return NULL;
    t->prog = prog;
    t->cmd = cmd;
    t->cfg = cfg;
    t->out = json_object();
    if (t->out == NULL) {
        free(t);
        return NULL;
    }
    return t;
}

void tool_free(tool_t *t)
{
    if (t == NULL)
        return;
    topic_close(t->kafka);
    live_close(t->live);
    db_close(t->db);
    json_decref(t->out);
    free(t);
}

const config_t *tool_cfg(const tool_t *t)
{
    return t->cfg;
}

int tool_fail(tool_t *t, int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s: %s\n", t->prog, t->cmd, msg);
    if (json_object_get(t->out, "error") == NULL)
        json_object_set_new(t->out, "error", json_string(msg));
    t->failed = 1;
    return code;
}

void tool_note(tool_t *t, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s %s: ", t->prog, t->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

db_t *tool_db(tool_t *t)
{
    char err[512];

    if (t->db == NULL) {
        t->db = db_connect(config_str(t->cfg, "mysql"), err, sizeof(err));
        if (t->db == NULL)
            tool_fail(t, TOOL_EXIT_ERROR, "%s", err);
    }
    return t->db;
}

live_t *tool_live(tool_t *t)
{
    char err[512];

    if (t->live == NULL) {
        t->live = live_connect(config_str(t->cfg, "redis"), err, sizeof(err));
        if (t->live == NULL)
            tool_fail(t, TOOL_EXIT_ERROR, "%s", err);
    }
    return t->live;
}

topic_t *tool_kafka(tool_t *t)
{
    char err[512];

    if (t->kafka == NULL) {
        t->kafka =
            topic_open(t->cfg, config_str(t->cfg, "group"), err, sizeof(err));
        if (t->kafka == NULL)
            tool_fail(t, TOOL_EXIT_ERROR, "%s", err);
    }
    return t->kafka;
}

int tool_coupon_id(tool_t *t, int64_t *id)
{
    char err[256];

    if (config_npos(t->cfg) != 1)
        return tool_fail(t, TOOL_EXIT_USAGE,
                         "expects exactly one coupon id (got %zu arguments)",
                         config_npos(t->cfg));
    if (ctlarg_id(config_pos(t->cfg, 0), id, err, sizeof(err)) != 0)
        return tool_fail(t, TOOL_EXIT_USAGE, "%s", err);
    json_object_set_new(t->out, "coupon_id", json_integer(*id));
    return TOOL_EXIT_OK;
}

int tool_coupon(tool_t *t, int64_t id, coupon_t *c)
{
    db_t *db = tool_db(t);
    int found;

    if (db == NULL)
        return TOOL_EXIT_ERROR;
    if (db_coupon_get(db, id, c, &found) != 0)
        return tool_fail(t, TOOL_EXIT_ERROR, "%s", db_error(db));
    if (!found)
        return tool_fail(t, TOOL_EXIT_NOT_FOUND,
                         "coupon %" PRId64 ": no such coupon", id);
    return TOOL_EXIT_OK;
}

void tool_quiet(tool_t *t, const char *key)
{
    t->quiet = key;
}

void tool_set_int(tool_t *t, const char *key, int64_t v)
{
    json_object_set_new(t->out, key, json_integer(v));
}

void tool_set_str(tool_t *t, const char *key, const char *v)
{
    json_object_set_new(t->out, key, json_string(v));
}

void tool_set_bool(tool_t *t, const char *key, int v)
{
    json_object_set_new(t->out, key, json_boolean(v));
}

void tool_set_time(tool_t *t, const char *key, int64_t ms)
{
    char buf[40];

    if (event_format_time(ms, buf, sizeof(buf)) < 0)
        snprintf(buf, sizeof(buf), "@%lld", (long long)ms);
    tool_set_str(t, key, buf);
}

void tool_set_total(tool_t *t, const char *key, int64_t total)
{
    tool_set_int(t, key, total);
}

void tool_set_ints(tool_t *t, const char *key, const int64_t *v, size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_integer(v[i]));
    json_object_set_new(t->out, key, a);
}

void tool_set_strs(tool_t *t, const char *key, const char *v, size_t stride,
                   size_t n)
{
    json_t *a = json_array();
    size_t i;

    for (i = 0; a != NULL && i < n; i++)
        json_array_append_new(a, json_string(v + i * stride));
    json_object_set_new(t->out, key, a);
}

void tool_set_count(tool_t *t, const char *obj, const char *key, int64_t v)
{
    json_t *o = json_object_get(t->out, obj);

    if (o == NULL) {
        o = json_object();
        json_object_set_new(t->out, obj, o);
    }
    json_object_set_new(o, key, json_integer(v));
}

/* The last record of list `list` (see tool_add_item), or NULL. */
static json_t *last_item(tool_t *t, const char *list)
{
    json_t *a = json_object_get(t->out, list);
    size_t n = json_array_size(a);

    return n > 0 ? json_array_get(a, n - 1) : NULL;
}

void tool_add_item(tool_t *t, const char *list)
{
    json_t *a = json_object_get(t->out, list);

    if (a == NULL) {
        a = json_array();
        json_object_set_new(t->out, list, a);
    }
    json_array_append_new(a, json_object());
}

void tool_item_int(tool_t *t, const char *list, const char *key, int64_t v)
{
    json_object_set_new(last_item(t, list), key, json_integer(v));
}

void tool_item_str(tool_t *t, const char *list, const char *key, const char *v)
{
    json_object_set_new(last_item(t, list), key, json_string(v));
}

void tool_item_time(tool_t *t, const char *list, const char *key, int64_t ms)
{
    char buf[40];

    if (event_format_time(ms, buf, sizeof(buf)) < 0)
        snprintf(buf, sizeof(buf), "@%lld", (long long)ms);
    tool_item_str(t, list, key, buf);
}

static void print_value(FILE *f, const char *key, const json_t *v);

static void print_array(FILE *f, const json_t *a)
{
    size_t i, n = json_array_size(a);

    for (i = 0; i < n && i < TOOL_TEXT_LIST_MAX; i++) {
        const json_t *v = json_array_get(a, i);

        if (json_is_string(v))
            fprintf(f, "%s%s", i > 0 ? " " : "", json_string_value(v));
        else
            fprintf(f, "%s%lld", i > 0 ? " " : "",
                    (long long)json_integer_value(v));
    }
    if (n > TOOL_TEXT_LIST_MAX)
        fprintf(f, " ... (%zu more; --json lists all)", n - TOOL_TEXT_LIST_MAX);
}

static void print_value(FILE *f, const char *key, const json_t *v)
{
    const char *k;
    json_t *x;

    if (json_is_integer(v) && json_integer_value(v) == -1 &&
        (strstr(key, "total") != NULL || strstr(key, "limit") != NULL))
        fprintf(f, "unlimited");
    else if (json_is_integer(v))
        fprintf(f, "%lld", (long long)json_integer_value(v));
    else if (json_is_string(v))
        fprintf(f, "%s", json_string_value(v));
    else if (json_is_boolean(v))
        fprintf(f, "%s", json_is_true(v) ? "yes" : "no");
    else if (json_is_array(v))
        print_array(f, v);
    else if (json_is_object(v)) {
        int first = 1;

        json_object_foreach((json_t *)v, k, x)
        {
            fprintf(f, "%s%s=", first ? "" : " ", k);
            print_value(f, k, x);
            first = 0;
        }
    }
}

/* A list of records: one `key: field=value ...` line each. */
static void print_items(FILE *f, const char *key, const json_t *a)
{
    size_t i, n = json_array_size(a);

    for (i = 0; i < n && i < TOOL_TEXT_LIST_MAX; i++) {
        fprintf(f, "%s: ", key);
        print_value(f, key, json_array_get(a, i));
        fputc('\n', f);
    }
    if (n > TOOL_TEXT_LIST_MAX)
        fprintf(f, "%s: ... (%zu more; --json lists all)\n", key,
                n - TOOL_TEXT_LIST_MAX);
}

void tool_print(tool_t *t, const char *quiet_key)
{
    const char *k;
    json_t *v;

    if (config_bool(t->cfg, "json")) {
        json_dumpf(t->out, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else if (quiet_key != NULL && !t->failed &&
               (v = json_object_get(t->out, quiet_key)) != NULL) {
        print_value(stdout, quiet_key, v);
        fputc('\n', stdout);
    } else {
        json_object_foreach(t->out, k, v)
        {
            if (strcmp(k, "error") == 0)
                continue; /* already on stderr */
            if (json_is_object(json_array_get(v, 0))) {
                print_items(stdout, k, v);
                continue;
            }
            printf("%s: ", k);
            print_value(stdout, k, v);
            fputc('\n', stdout);
        }
    }
    fflush(stdout);
}

int64_t tool_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void tool_list(FILE *f, const char *prog, const char *summary,
                      const tool_cmd_t *cmds, size_t ncmds)
{
    size_t i;

    fprintf(f, "usage: %s COMMAND [options]\n%s\n\ncommands:\n", prog, summary);
    for (i = 0; i < ncmds; i++)
        fprintf(f, "  %s %s\n", cmds[i].name, cmds[i].usage);
    fprintf(
        f,
        "\n'%s COMMAND --help' describes one command.\n" TOOL_EXIT_CODES_HELP,
        prog);
}

static const tool_cmd_t *tool_find(const tool_cmd_t *cmds, size_t ncmds,
                                   const char *name)
{
    size_t i;

    for (i = 0; i < ncmds; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

static int tool_run(const char *prog, const tool_cmd_t *c, config_t *cfg)
{
    tool_t *t = tool_new(prog, c->name, cfg);
    int level = log_level_parse(config_str(cfg, "log-level")), rc;

    if (t == NULL) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return TOOL_EXIT_ERROR;
    }
    if (level < 0)
        rc = tool_fail(t, TOOL_EXIT_USAGE,
                       "--log-level: \"%s\" is not one "
                       "of debug, info, warn, error",
                       config_str(cfg, "log-level"));
    else {
        log_init(prog, level, 2);
        rc = c->run(t);
    }
    tool_print(t, rc != TOOL_EXIT_OK               ? NULL
                  : t->quiet != NULL               ? t->quiet
                  : strcmp(c->name, "create") == 0 ? "coupon_id"
                  : strcmp(c->name, "token") == 0  ? "token"
                                                   : NULL);
    tool_free(t);
    return rc;
}

/* Parses argv (argv[0] is the command word or the program) with the
 * command's table and runs it. */
static int tool_cmd_main(const char *prog, const tool_cmd_t *c, int argc,
                         char **argv, int named)
{
    config_t *cfg = config_new(c->opts, c->nopts);
    char err[512], usage[512];
    int rc;

    if (cfg == NULL)
        return TOOL_EXIT_ERROR;
    rc = config_parse(cfg, argc, argv, err, sizeof(err));
    snprintf(usage, sizeof(usage), "%s%s%s", named ? c->name : "",
             named ? " " : "", c->usage);
    if (rc == 1) {
        config_usage(cfg, prog, usage, stdout);
        printf("\n%s\n" TOOL_EXIT_CODES_HELP, c->help);
        rc = TOOL_EXIT_OK;
    } else if (rc != 0) {
        fprintf(stderr, "%s%s%s: %s\n", prog, named ? " " : "",
                named ? c->name : "", err);
        rc = TOOL_EXIT_USAGE;
    } else {
        rc = tool_run(prog, c, cfg);
    }
    config_free(cfg);
    return rc;
}

int tool_main1(const char *prog, const tool_cmd_t *cmd, int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    return tool_cmd_main(prog, cmd, argc, argv, 0);
}

int tool_main(const char *prog, const char *summary, const tool_cmd_t *cmds,
              size_t ncmds, int argc, char **argv)
{
    const tool_cmd_t *c;

    signal(SIGPIPE, SIG_IGN);
    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        tool_list(argc < 2 ? stderr : stdout, prog, summary, cmds, ncmds);
        return argc < 2 ? TOOL_EXIT_USAGE : TOOL_EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        config_print_version(stdout);
        return TOOL_EXIT_OK;
    }
    c = tool_find(cmds, ncmds, argv[1]);
    if (c == NULL) {
        fprintf(stderr, "%s: unknown command \"%s\" (try --help)\n", prog,
                argv[1]);
        return TOOL_EXIT_USAGE;
    }
    return tool_cmd_main(prog, c, argc - 1, argv + 1, 1);
}
