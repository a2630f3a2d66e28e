/* config.h -- flags with environment defaults, from one table per binary.
 *
 * Each binary describes its options once (name, env variable, type, range,
 * default, help); config_parse() applies default < environment < flag, checks
 * ranges and reports errors as `--flag: why`. `-X key=value` pairs are kept
 * in order for librdkafka. Arguments that are not flags are kept as
 * positionals (subcommand arguments such as a coupon id). */
#ifndef COUPONQ_CONFIG_H
#define COUPONQ_CONFIG_H

#include <stddef.h>
#include <stdio.h>

typedef enum { CFG_STR, CFG_INT, CFG_BOOL } cfg_type_t;

typedef struct cfg_opt {
    const char *name; /* long flag without dashes, e.g. "redis" */
    const char *env;  /* environment default, e.g. "COUPONQ_REDIS"; or NULL */
    cfg_type_t type;
    long long min, max; /* inclusive range for CFG_INT */
    const char *def;    /* default as text; NULL = unset (config_str NULL) */
    const char *help;
} cfg_opt_t;

/* The shared options of DESIGN.md, for binaries' tables. */
#define CFG_OPT_REDIS                                                          \
    {                                                                          \
        "redis", "COUPONQ_REDIS", CFG_STR, 0, 0, "redis://127.0.0.1:16379",    \
            "Redis URL"                                                        \
    }
#define CFG_OPT_MYSQL                                                          \
    {                                                                          \
        "mysql", "COUPONQ_MYSQL", CFG_STR, 0, 0,                               \
            "mysql://root@127.0.0.1:13306/couponq", "MySQL/MariaDB URL"        \
    }
#define CFG_OPT_KAFKA                                                          \
    {                                                                          \
        "kafka", "COUPONQ_KAFKA", CFG_STR, 0, 0, "127.0.0.1:19092",            \
            "Kafka bootstrap servers"                                          \
    }
#define CFG_OPT_TOPIC                                                          \
    {                                                                          \
        "topic", "COUPONQ_TOPIC", CFG_STR, 0, 0, "couponq.issue-requests",     \
            "Kafka topic of issue requests (its DLQ is <topic>.dlq)"           \
    }
#define CFG_OPT_REDEMPTION_TOPIC                                               \
    {                                                                          \
        "redemption-topic", "COUPONQ_REDEMPTION_TOPIC", CFG_STR, 0, 0,         \
            "couponq.redemptions",                                             \
            "Kafka topic of redemption events, key = redemption id (its DLQ "  \
            "is <topic>.dlq)"                                                  \
    }
#define CFG_OPT_LISTEN                                                         \
    {                                                                          \
        "listen", "COUPONQ_LISTEN", CFG_STR, 0, 0, "127.0.0.1:8080",           \
            "HTTP listen address host:port"                                    \
    }
#define CFG_OPT_LOG_LEVEL                                                      \
    {                                                                          \
        "log-level", "COUPONQ_LOG_LEVEL", CFG_STR, 0, 0, "info",               \
            "debug, info, warn or error"                                       \
    }

typedef struct config config_t;

config_t *config_new(const cfg_opt_t *opts, size_t nopts);
void config_free(config_t *c); /* NULL is a no-op */

/* Parses argv[1..argc-1] (`--name value`, `--name=value`, `--bool-flag`,
 * `--no-bool-flag`, `-X key=value`, `-h`/`--help`, `--` ends flags).
 * `--version` prints "<program> (couponq) <version>" to stdout and exits 0
 * at once: every binary has it, from the one project version.
 * Returns 0 on success, 1 when help was asked for, -1 on error (errstr says
 * which flag and why; e.g. "--batch-size: 0 is below the minimum 1"). */
int config_parse(config_t *c, int argc, char **argv, char *errstr, size_t n);

const char *config_str(const config_t *c, const char *name); /* NULL = unset */
long long config_int(const config_t *c, const char *name);
int config_bool(const config_t *c, const char *name);
/* 1 when the value came from a flag or the environment, not the default. */
int config_is_set(const config_t *c, const char *name);

size_t config_npos(const config_t *c);
const char *config_pos(const config_t *c, size_t i);

/* -X pairs in the order given. */
size_t config_nx(const config_t *c);
const char *config_x_key(const config_t *c, size_t i);
const char *config_x_value(const config_t *c, size_t i);

/* "<program> (couponq) <version>\n": what --version prints, for a binary
 * that dispatches subcommands before config_parse() sees its flags. */
void config_print_version(FILE *out);

/* Usage text: "usage: prog summary", then one line per option with its
 * environment variable and default. */
void config_usage(const config_t *c, const char *prog, const char *summary,
                  FILE *out);

#endif
