/* progress.c -- a progress bar or periodic lines. See progress.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "progress.h"

#define BAR_WIDTH     30
#define TTY_EVERY_S   0.1
#define LINES_EVERY_S 5.0

struct progress {
    FILE *out;
    const char *what;
    int64_t total, done;
    int tty;
    double start, last;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

progress_t *progress_new(FILE *out, const char *what, int64_t total, int tty)
{
    progress_t *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    p->out = out;
    p->what = what;
    p->total = total;
    p->tty = tty;
    p->start = p->last = now_s();
    return p;
}

void progress_format(char *buf, size_t n, int64_t done, int64_t total,
                     double elapsed_s, int width)
{
    char bar[128];
    double frac = total > 0 ? (double)done / (double)total : 1.0;
    double rate = elapsed_s > 0 ? (double)done / elapsed_s : 0;
    int fill, i;

    if (frac > 1.0)
        frac = 1.0;
    if (width > (int)sizeof(bar) - 3)
        width = (int)sizeof(bar) - 3;
    fill = (int)(frac * width);
    bar[0] = '[';
    for (i = 0; i < width; i++)
        bar[i + 1] = i < fill ? '#' : ' ';
    bar[width + 1] = ']';
    bar[width + 2] = '\0';
    if (rate > 0 && done < total)
        snprintf(buf, n, "%s %lld/%lld %d%% %.0f/s ETA %.0fs", bar,
                 (long long)done, (long long)total, (int)(frac * 100), rate,
                 (double)(total - done) / rate);
    else
        snprintf(buf, n, "%s %lld/%lld %d%% %.0f/s", bar, (long long)done,
                 (long long)total, (int)(frac * 100), rate);
}

static void progress_draw(progress_t *p, double t)
{
    char line[256];

    if (p->tty) {
        progress_format(line, sizeof(line), p->done, p->total, t - p->start,
                        BAR_WIDTH);
        fprintf(p->out, "\r%s %s\x1b[K", line, p->what);
    } else {
        fprintf(p->out, "progress %s_done=%lld %s_total=%lld elapsed_s=%.1f\n",
                p->what, (long long)p->done, p->what, (long long)p->total,
                t - p->start);
    }
    fflush(p->out);
    p->last = t;
}

void progress_update(progress_t *p, int64_t done)
{
    double t;

    if (p == NULL)
        return;
    p->done = done;
    t = now_s();
    if (t - p->last >= (p->tty ? TTY_EVERY_S : LINES_EVERY_S))
        progress_draw(p, t);
}

void progress_finish(progress_t *p)
{
    if (p == NULL)
        return;
    progress_draw(p, now_s());
    if (p->tty)
        fputc('\n', p->out);
    free(p);
}
