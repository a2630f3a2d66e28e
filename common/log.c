/* log.c -- key=value log lines, one write(2) each. See log.h.
 *
 * A line is built in a stack buffer and written at once, so lines from
 * several threads never interleave; an over-long line is cut and still ends
 * with a newline. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 4096

int log_level = LL_INFO;

static char log_prog[64] = "couponq";
static int log_fd = 2;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_init(const char *prog, int level, int fd)
{
    snprintf(log_prog, sizeof(log_prog), "%s", prog);
    log_level = level;
    log_fd = fd;
}

int log_level_parse(const char *name)
{
    int i;

    for (i = LL_DEBUG; i <= LL_ERROR; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

const char *log_level_name(int level)
{
    if (level < LL_DEBUG || level > LL_ERROR)
        return "unknown";
    return level_names[level];
}

/* "2026-11-22T14:00:00.123Z" into buf; returns its length. */
static size_t log_timestamp(char *buf, size_t n)
{
    struct timespec ts;
    struct tm tm;
    int len;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    len = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                   tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000000));
    return len < 0 ? 0 : (size_t)len;
}

static void log_write_all(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(log_fd, buf, len);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* nowhere left to report a logging failure */
        buf += w;
        len -= (size_t)w;
    }
}

void log_write(int level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX], ts[64];
    va_list ap;
    int saved = errno; /* callers may log between a failure and strerror */
    int len;
    size_t used;

    log_timestamp(ts, sizeof(ts));
    len = snprintf(line, sizeof(line), "ts=%s level=%s prog=%s ", ts,
                   log_level_name(level), log_prog);
    used = len < 0 ? 0 : (size_t)len;
    va_start(ap, fmt);
    len = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
    va_end(ap);
    if (len > 0)
        used += (size_t)len;
    if (used > sizeof(line) - 2)
        used = sizeof(line) - 2;
    line[used++] = '\n';
    log_write_all(line, used);
    errno = saved;
}
