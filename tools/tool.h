/* tool.h -- what every couponqctl / couponq-replay subcommand shares: its
 * parsed configuration, connections opened on first use (MySQL, Redis,
 * Kafka), one result object printed as JSON (--json) or as `key: value`
 * lines, and the exit codes scripts can rely on.
 *
 * A command fills the result with tool_set_*() and returns an exit code;
 * the binary's main prints the result (tool_print) and exits with it. Errors
 * go to stderr as "prog cmd: why" (and into the JSON as "error"). */
#ifndef COUPONQ_TOOL_H
#define COUPONQ_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "coupon.h"
#include "db.h"
#include "live.h"
#include "topic.h"

/* Exit codes (documented in --help). */
#define TOOL_EXIT_OK           0
#define TOOL_EXIT_ERROR        1 /* a server failed or answered an error */
#define TOOL_EXIT_USAGE        2 /* bad flags or arguments */
#define TOOL_EXIT_REFUSED      3 /* the operation is unsafe now (nothing done) */
#define TOOL_EXIT_NOT_FOUND    4 /* no such coupon */
#define TOOL_EXIT_INCONSISTENT 5 /* reconcile found differences */
#define TOOL_EXIT_PARTIAL      6 /* replay: some events failed (see output) */

#define TOOL_EXIT_CODES_HELP                                                   \
    "exit codes: 0 ok, 1 error (a server failed), 2 usage, 3 refused "         \
    "(unsafe now; nothing changed), 4 no such coupon, 5 inconsistent "         \
    "(reconcile), 6 partly failed (replay)\n"

/* Options every command takes. */
#define TOOL_OPT_GROUP                                                         \
    {                                                                          \
        "group", "COUPONQ_GROUP", CFG_STR, 0, 0, "couponq-workers",            \
            "consumer group of the workers (lag, committed offsets)"           \
    }
#define TOOL_OPT_JSON                                                          \
    {                                                                          \
        "json", NULL, CFG_BOOL, 0, 0, "false", "print the result as JSON"      \
    }
#define TOOL_OPTS_COMMON                                                       \
    CFG_OPT_REDIS, CFG_OPT_MYSQL, CFG_OPT_KAFKA, CFG_OPT_TOPIC,                \
        TOOL_OPT_GROUP, TOOL_OPT_JSON, CFG_OPT_LOG_LEVEL

typedef struct tool tool_t;

typedef struct tool_cmd {
    const char *name;
    const char *usage; /* after "prog name " */
    const char *help;  /* what it does, printed by --help */
    const cfg_opt_t *opts;
    size_t nopts;
    int (*run)(tool_t *t); /* returns a TOOL_EXIT_* */
} tool_cmd_t;

tool_t *tool_new(const char *prog, const char *cmd, const config_t *cfg);
void tool_free(tool_t *t); /* NULL is a no-op; closes connections */

const config_t *tool_cfg(const tool_t *t);
/* Connections, opened on first call; NULL after tool_fail() reported why. */
db_t *tool_db(tool_t *t);
live_t *tool_live(tool_t *t);
topic_t *tool_kafka(tool_t *t);

/* The coupon id positional argument (exactly one positional expected);
 * TOOL_EXIT_OK or TOOL_EXIT_USAGE (already reported). */
int tool_coupon_id(tool_t *t, int64_t *id);

/* The coupon's MySQL row: TOOL_EXIT_OK, TOOL_EXIT_NOT_FOUND or
 * TOOL_EXIT_ERROR (both reported). */
int tool_coupon(tool_t *t, int64_t id, coupon_t *c);

/* Reports an error and returns code, for `return tool_fail(...)`. */
int tool_fail(tool_t *t, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* A line of progress or a note on stderr (never mixed into the result). */
void tool_note(tool_t *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void tool_set_int(tool_t *t, const char *key, int64_t v);
void tool_set_str(tool_t *t, const char *key, const char *v);
void tool_set_bool(tool_t *t, const char *key, int v);
void tool_set_time(tool_t *t, const char *key, int64_t ms); /* RFC 3339 */
/* An unlimited quantity or limit (-1; keys naming a total or a limit)
 * shows as "unlimited" in text, -1 in JSON. */
void tool_set_total(tool_t *t, const char *key, int64_t total);
void tool_set_ints(tool_t *t, const char *key, const int64_t *v, size_t n);
/* n strings of stride bytes each from v (e.g. an array of char[27] ids). */
void tool_set_strs(tool_t *t, const char *key, const char *v, size_t stride,
                   size_t n);
/* A nested object of name -> count (e.g. DLQ reasons). */
void tool_set_count(tool_t *t, const char *obj, const char *key, int64_t v);

/* A list of records under `list` (e.g. a vendor's settlements):
 * tool_add_item appends an empty one, tool_item_* set a field of the last
 * one. In text each record prints as its own `list: field=value ...` line
 * (the first TOOL_TEXT_LIST_MAX; --json has them all). */
void tool_add_item(tool_t *t, const char *list);
void tool_item_int(tool_t *t, const char *list, const char *key, int64_t v);
void tool_item_str(tool_t *t, const char *list, const char *key, const char *v);
void tool_item_time(tool_t *t, const char *list, const char *key, int64_t ms);

/* Without --json, print only this field on success (as `create` prints
 * just the id); the command decides, e.g. `vendor create` but not `vendor
 * show`. */
void tool_quiet(tool_t *t, const char *key);

/* Prints the result on stdout (JSON object, or one `key: value` line per
 * field in the order set). With quiet_key set and no --json, prints only
 * that field's value (e.g. `create` prints just the id). */
void tool_print(tool_t *t, const char *quiet_key);

/* Wall clock in unix ms. */
int64_t tool_now_ms(void);

/* A whole binary's main: finds the command in argv[1], parses its flags,
 * runs it, prints the result. */
/* A binary with one command and no subcommand word (couponq-replay). */
int tool_main1(const char *prog, const tool_cmd_t *cmd, int argc, char **argv);
int tool_main(const char *prog, const char *summary, const tool_cmd_t *cmds,
              size_t ncmds, int argc, char **argv);

#endif
