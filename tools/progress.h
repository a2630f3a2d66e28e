/* progress.h -- progress of a long replay on stderr: a bar redrawn in place
 * on a terminal (done/total, rate, ETA), plain `key=value` lines every few
 * seconds otherwise (logs, CI), so output stays readable either way. */
#ifndef COUPONQ_PROGRESS_H
#define COUPONQ_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef struct progress progress_t;

/* what labels the work ("events"); tty: draw a bar (else periodic lines). */
progress_t *progress_new(FILE *out, const char *what, int64_t total, int tty);
void progress_update(progress_t *p, int64_t done); /* cheap: rate-limited */
void progress_finish(progress_t *p);               /* final line; frees p */

/* The bar for a state, into buf (pure, for tests): e.g.
 * "[#########           ] 450/1000 45% 150/s ETA 3s". */
void progress_format(char *buf, size_t n, int64_t done, int64_t total,
                     double elapsed_s, int width);

#endif
