/* main.c -- couponq-worker: flags, signals, run, shut down. The work is in
 * worker.c. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "instance_id.h"
#include "log.h"
#include "worker.h"

static worker_t *the_worker;
static volatile sig_atomic_t nsignals;

/* First SIGTERM/SIGINT: finish the open batch and leave. Second: now. */
static void on_signal(int sig)
{
    (void)sig;
    if (nsignals++ > 0)
        _exit(1);
    worker_stop(the_worker);
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
    config_t *cfg = config_new(worker_options, worker_noptions);
    char err[512];
    int rc = 2, level;

    if (cfg == NULL)
        return 2;
    switch (config_parse(cfg, argc, argv, err, sizeof(err))) {
    case 1:
        config_usage(cfg, "couponq-worker",
                     "consume issue events into MySQL rows, in batches",
                     stdout);
        rc = 0;
        goto out;
    case -1:
        fprintf(stderr, "couponq-worker: %s\n", err);
        goto out;
    }
    level = log_level_parse(config_str(cfg, "log-level"));
    if (level < 0) {
        fprintf(stderr, "couponq-worker: --log-level: unknown level\n");
        goto out;
    }
    if (instance_id_check(config_str(cfg, "instance-id"), err, sizeof(err)) !=
        0) {
        fprintf(stderr, "couponq-worker: --instance-id: %s\n", err);
        goto out;
    }
    log_init("couponq-worker", level, 2);
    the_worker = worker_new(cfg, err, sizeof(err));
    if (the_worker == NULL) {
        LOG(LL_ERROR, "msg=\"cannot start\" error=\"%s\"", err);
        rc = 1;
        goto out;
    }
    install_signals();
    rc = worker_run(the_worker) == 0 ? 0 : 1;
    worker_destroy(the_worker);
out:
    config_free(cfg);
    return rc;
}
