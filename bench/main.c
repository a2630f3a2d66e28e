/* main.c -- couponq-bench: flags, one bounded load run, the report. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "log.h"

static int bench_run(cli_t *c, load_result_t *r)
{
    char err[300] = "";
    char *json;

    if (c->accepted_path != NULL &&
        (c->load.accepted = fopen(c->accepted_path, "w")) == NULL) {
        perror(c->accepted_path);
        return -1;
    }
    if (load_run(&c->load, r, err, sizeof(err)) != 0) {
        fprintf(stderr, "couponq-bench: %s\n", err);
        return -1;
    }
    if (err[0] != '\0')
        LOG(LL_WARN, "msg=\"run ended with a warning\" why=\"%s\"", err);
    if (c->load.accepted != NULL && fclose(c->load.accepted) != 0) {
        perror(c->accepted_path);
        return -1;
    }
    c->load.accepted = NULL;
    if (!c->quiet)
        report_table(stdout, &c->info, r);
    if (c->json && (json = report_json(&c->info, r)) != NULL) {
        printf("%s\n", json);
        free(json);
    }
    return fflush(stdout) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
    cli_t c;
    load_result_t r;
    char err[300];
    int rc = cli_parse(&c, argc, argv, err, sizeof(err));

    if (rc != 0) {
        if (rc < 0)
            fprintf(stderr, "couponq-bench: %s\n", err);
        cli_free(&c);
        return rc < 0 ? 2 : 0;
    }
    if (load_result_init(&r) != 0) {
        cli_free(&c);
        return 1;
    }
    rc = bench_run(&c, &r);
    if (c.load.accepted != NULL)
        fclose(c.load.accepted);
    load_result_free(&r);
    cli_free(&c);
    return rc == 0 ? 0 : 1;
}
