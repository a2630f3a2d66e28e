/* metrics_http.c -- GET /metrics on a thread of its own. See metrics_http.h.
 *
 * The thread waits in poll() with a short timeout so metrics_http_stop()
 * can end it by setting a flag; metric updates are atomics, so rendering
 * needs no lock with the main thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "metrics_http.h"

struct metrics_http {
    metrics_t *m;
    int fd;
    pthread_t thread;
    atomic_int stop;
};

static int parse_listen(const char *s, struct sockaddr_in *sa, char *errstr,
                        size_t n)
{
    const char *colon = strrchr(s, ':');
    char host[64];
    long port;
    char *end;

    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
        goto bad;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    port = strtol(colon + 1, &end, 10);
    if (*end != '\0' || end == colon + 1 || port < 0 || port > 65535 ||
        inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa->sin_addr) != 1)
        goto bad;
    sa->sin_port = htons((uint16_t)port);
    return 0;
bad:
    snprintf(errstr, n, "--metrics-listen: \"%s\" is not IPv4 host:port", s);
    return -1;
}

/* The host part of host:port, for the log line (static buffer: start-up
 * only). */
static const char *listen_host(const char *addr)
{
    static char host[64];
    const char *colon = strrchr(addr, ':');
    size_t len = colon != NULL ? (size_t)(colon - addr) : 0;

    if (len >= sizeof(host))
        len = sizeof(host) - 1;
    memcpy(host, addr, len);
    host[len] = '\0';
    return host;
}

static void write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w <= 0)
            return; /* the scraper went away: nothing to do */
        p += w;
        len -= (size_t)w;
    }
}

static void serve_one(metrics_http_t *h, int c)
{
    struct timeval tv = { 2, 0 };
    char req[1024], head[256];
    char *body = NULL;
    const char *status = "404 Not Found", *type = "text/plain";
    size_t len = 10;
    ssize_t r;

    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    r = read(c, req, sizeof(req) - 1);
    if (r <= 0)
        return;
    req[r] = '\0';
    if (strncmp(req, "GET /metrics", 12) == 0 &&
        (body = metrics_render(h->m, &len)) != NULL) {
        status = "200 OK";
        type = "text/plain; version=0.0.4";
    } else if (strncmp(req, "GET /healthz", 12) == 0) {
        status = "200 OK";
        len = 3;
    }
    snprintf(head, sizeof(head),
             "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             status, type, len);
    write_all(c, head, strlen(head));
    write_all(c, body != NULL ? body : (len == 3 ? "ok\n" : "not found\n"),
              len);
    free(body);
}

static void *http_main(void *arg)
{
    metrics_http_t *h = arg;
    struct pollfd pfd = { h->fd, POLLIN, 0 };

    while (!atomic_load(&h->stop)) {
        int c;

        if (poll(&pfd, 1, 200) <= 0)
            continue;
        c = accept(h->fd, NULL, NULL);
        if (c < 0)
            continue;
        serve_one(h, c);
        close(c);
    }
    return NULL;
}

metrics_http_t *metrics_http_start(metrics_t *m, const char *addr, char *errstr,
                                   size_t n)
{
    metrics_http_t *h = calloc(1, sizeof(*h));
    struct sockaddr_in sa;
    int one = 1;

    if (h == NULL) {
        snprintf(errstr, n, "metrics: out of memory");
        return NULL;
    }
    h->m = m;
    h->fd = -1;
    if (parse_listen(addr, &sa, errstr, n) != 0)
        goto err;
    h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (h->fd < 0 ||
        setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(h->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(h->fd, 16) != 0) {
        snprintf(errstr, n, "--metrics-listen %s: %s", addr, strerror(errno));
        goto err;
    }
    if (getsockname(h->fd, (struct sockaddr *)&sa,
                    &(socklen_t){ sizeof(sa) }) ==
        0) /* port 0 asks for any free port: say which one we got */
        LOG(LL_INFO, "msg=\"metrics listening\" addr=%s:%u", listen_host(addr),
            ntohs(sa.sin_port));
    if (pthread_create(&h->thread, NULL, http_main, h) != 0) {
        snprintf(errstr, n, "metrics: cannot start thread");
        goto err;
    }
    return h;
err:
    if (h->fd >= 0)
        close(h->fd);
    free(h);
    return NULL;
}

void metrics_http_stop(metrics_http_t *h)
{
    if (h == NULL)
        return;
    atomic_store(&h->stop, 1);
    pthread_join(h->thread, NULL);
    close(h->fd);
    free(h);
}
