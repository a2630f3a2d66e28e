/* log.h -- one log macro for every binary: levelled, key=value lines.
 *
 * Lines look like `ts=2026-11-22T14:00:00.123Z level=info prog=couponq-api
 * msg="listening" addr=127.0.0.1:8080`: the caller's format supplies what
 * follows `level=... prog=...`. LOG() checks the level before any formatting
 * work, so a disabled debug line costs one comparison. Thread-safe: each line
 * is written with a single write(2). */
#ifndef COUPONQ_LOG_H
#define COUPONQ_LOG_H

#include <stdarg.h>

enum { LL_DEBUG = 0, LL_INFO = 1, LL_WARN = 2, LL_ERROR = 3 };

extern int log_level; /* lines below this level are dropped */

/* prog names the binary in every line; fd is where lines go (2 = stderr). */
void log_init(const char *prog, int level, int fd);
/* "debug", "info", "warn", "error" -> LL_*; -1 when unknown. */
int log_level_parse(const char *name);
const char *log_level_name(int level);
void log_write(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define LOG(level, ...)                                                        \
    do {                                                                       \
        if ((level) >= log_level)                                              \
            log_write((level), __VA_ARGS__);                                   \
    } while (0)

#endif
