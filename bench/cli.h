/* cli.h -- couponq-bench's options: one table, checked once.
 *
 * cli_parse() turns flags (with environment defaults) into the engine's
 * options and the report's description, and builds the users and sched
 * generators it describes; cli_free() releases them. */
#ifndef COUPONQ_BENCH_CLI_H
#define COUPONQ_BENCH_CLI_H

#include <stddef.h>

#include "load.h"
#include "report.h"

typedef struct cli {
    load_opts_t load;
    report_info_t info;
    int json, quiet;
    const char *accepted_path;
    char target[300];
    char host[256];
    struct config *cfg;
    tokens_t *tokens; /* --token-file, or NULL */
} cli_t;

/* 0 ok, 1 help was printed, -1 error (errstr names the flag). */
int cli_parse(cli_t *c, int argc, char **argv, char *errstr, size_t n);
void cli_free(cli_t *c);

#endif
