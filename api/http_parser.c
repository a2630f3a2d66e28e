/* http_parser.c -- llhttp with limits. See http_parser.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_parser.h"

static http_parser_t *self(llhttp_t *ll)
{
    return ll->data;
}

/* Records why the stream is broken; the llhttp callback then returns -1
 * (or HPE_USER), which stops llhttp_execute. First reason wins. */
static int stop(http_parser_t *p, int status, const char *error)
{
    if (p->status == 0) {
        p->status = status;
        snprintf(p->error, sizeof(p->error), "%s", error);
    }
    return -1;
}

static int on_message_begin(llhttp_t *ll)
{
    http_parser_t *p = self(ll);

    p->mid = 1;
    p->head_bytes = 0;
    p->url_len = 0;
    p->body_len = 0;
    p->auth_len = p->uhdr_len = 0;
    p->auth_count = p->auth_too_long = 0;
    p->uhdr_count = p->uhdr_too_long = 0;
    p->field_len = 0;
    p->capture = 0;
    return 0;
}

static int count_head(http_parser_t *p, size_t len)
{
    p->head_bytes += len;
    if (p->head_bytes > p->max_headers)
        return stop(p, 431, "request header fields too large");
    return 0;
}

static int on_url(llhttp_t *ll, const char *at, size_t len)
{
    http_parser_t *p = self(ll);

    if (p->url_len + len > sizeof(p->url))
        return stop(p, 414, "request target too long");
    memcpy(p->url + p->url_len, at, len);
    p->url_len += len;
    return count_head(p, len);
}

static int on_header_field(llhttp_t *ll, const char *at, size_t len)
{
    http_parser_t *p = self(ll);

    if (p->field_len + len <= sizeof(p->field))
        memcpy(p->field + p->field_len, at, len);
    p->field_len += len;
    return count_head(p, len);
}

static int field_is(const http_parser_t *p, const char *name)
{
    return name != NULL && p->field_len == strlen(name) &&
           strncasecmp(p->field, name, p->field_len) == 0;
}

/* Which header's value follows; only its first occurrence is kept. */
static int on_field_complete(llhttp_t *ll)
{
    http_parser_t *p = self(ll);

    p->capture = 0;
    if (field_is(p, "authorization") && p->auth_count++ == 0)
        p->capture = 1;
    else if (field_is(p, p->user_header) && p->uhdr_count++ == 0)
        p->capture = 2;
    p->field_len = 0;
    return 0;
}

static void keep(char *buf, size_t cap, size_t *used, int *too_long,
                 const char *at, size_t len)
{
    if (*too_long || *used + len > cap) {
        *too_long = 1;
        return;
    }
    memcpy(buf + *used, at, len);
    *used += len;
}

static int on_header_value(llhttp_t *ll, const char *at, size_t len)
{
    http_parser_t *p = self(ll);

    if (p->capture == 1 && p->auth == NULL &&
        (p->auth = malloc(HTTP_PARSER_MAX_AUTH)) == NULL)
        return stop(p, 503, "out of memory");
    if (p->capture == 1)
        keep(p->auth, HTTP_PARSER_MAX_AUTH, &p->auth_len, &p->auth_too_long, at,
             len);
    else if (p->capture == 2)
        keep(p->uhdr, sizeof(p->uhdr), &p->uhdr_len, &p->uhdr_too_long, at,
             len);
    return count_head(p, len);
}

static size_t trimmed(const char *s, size_t len)
{
    while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    return len;
}

static int on_headers_complete(llhttp_t *ll)
{
    http_parser_t *p = self(ll);

    if (ll->upgrade || ll->method == HTTP_CONNECT)
        return stop(p, 400, "protocol upgrades are not supported");
    if ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > p->max_body)
        return stop(p, 413, "body too large");
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t len)
{
    http_parser_t *p = self(ll);

    if (p->body_len + len > p->max_body)
        return stop(p, 413, "body too large");
    if (p->body == NULL && (p->body = malloc(p->max_body + 1)) == NULL)
        return stop(p, 503, "out of memory");
    memcpy(p->body + p->body_len, at, len);
    p->body_len += len;
    return 0;
}

static int on_message_complete(llhttp_t *ll)
{
    http_parser_t *p = self(ll);
    http_request_t req;

    req.method = ll->method;
    req.target = p->url;
    req.target_len = p->url_len;
    req.body = p->body_len ? p->body : "";
    req.body_len = p->body_len;
    req.has_length = (ll->flags & (F_CONTENT_LENGTH | F_CHUNKED)) != 0;
    req.keep_alive = llhttp_should_keep_alive(ll);
    req.auth = p->auth;
    req.auth_len = p->auth_count ? trimmed(p->auth, p->auth_len) : 0;
    req.auth_count = p->auth_count;
    req.auth_too_long = p->auth_too_long;
    req.user_hdr = p->uhdr;
    req.user_hdr_len = trimmed(p->uhdr, p->uhdr_len);
    req.user_hdr_count = p->uhdr_count;
    req.user_hdr_too_long = p->uhdr_too_long;
    req.peer = NULL;
    req.peer_unix = 0;
    p->mid = 0;
    p->cb(p->ud, &req);
    /* Pause so that http_parser_feed() learns where the next request
     * begins (its method is scanned from there); it resumes at once. */
    return HPE_PAUSED;
}

static const llhttp_settings_t settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_header_field_complete = on_field_complete,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

void http_parser_init(http_parser_t *p, size_t max_headers, size_t max_body,
                      http_parser_cb cb, void *ud)
{
    memset(p, 0, sizeof(*p));
    llhttp_init(&p->ll, HTTP_REQUEST, &settings);
    p->ll.data = p;
    p->cb = cb;
    p->ud = ud;
    p->max_headers = max_headers;
    p->max_body = max_body;
}

void http_parser_free(http_parser_t *p)
{
    free(p->body);
    p->body = NULL;
    free(p->auth);
    p->auth = NULL;
}

void http_parser_capture(http_parser_t *p, const char *user_header)
{
    p->user_header = user_header;
}

static const char *describe(llhttp_errno_t err)
{
    switch (err) {
    case HPE_INVALID_METHOD:
        return "malformed HTTP: invalid method";
    case HPE_INVALID_URL:
        return "malformed HTTP: invalid request target";
    case HPE_INVALID_VERSION:
        return "malformed HTTP: invalid version";
    case HPE_INVALID_HEADER_TOKEN:
        return "malformed HTTP: invalid header";
    case HPE_INVALID_CONTENT_LENGTH:
    case HPE_UNEXPECTED_CONTENT_LENGTH:
        return "malformed HTTP: invalid Content-Length";
    case HPE_INVALID_CHUNK_SIZE:
        return "malformed HTTP: invalid chunk size";
    case HPE_INVALID_TRANSFER_ENCODING:
        return "malformed HTTP: invalid Transfer-Encoding";
    default:
        return "malformed HTTP";
    }
}

/* The method scan of the current request: the blank lines llhttp skips
 * before a request line, then the token, then how it ended. */
enum { M_BLANK = 0, M_TOKEN, M_SPACE, M_BAD };

static int tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch >= '0' && ch <= '9') ||
           (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Advances the scan over the next bytes of the stream, up to the token's
 * end: a space after 1..HTTP_PARSER_MAX_METHOD token bytes, or anything
 * else (a control byte, a '/', one token byte too many). */
static void scan_method(http_parser_t *p, const char *data, size_t len)
{
    size_t i;
    unsigned char ch;

    for (i = 0; i < len && p->method_state < M_SPACE; i++) {
        ch = (unsigned char)data[i];
        if (p->method_state == M_BLANK && (ch == '\r' || ch == '\n'))
            continue;
        if (tchar(ch) && p->method_len < HTTP_PARSER_MAX_METHOD) {
            p->method_state = M_TOKEN;
            p->method_len++;
        } else {
            p->method_state = ch == ' ' && p->method_len > 0 ? M_SPACE : M_BAD;
        }
    }
}

/* llhttp refused the method: once the token has ended, 501 for a valid
 * token followed by a space (RFC 9110 15.6.2: a method we do not
 * implement is not malformed), else 400. Returns 0 while it has not. */
static int judge_method(http_parser_t *p)
{
    if (p->method_state == M_BLANK || p->method_state == M_TOKEN)
        return 0;
    if (p->method_state == M_SPACE)
        stop(p, 501, "method not implemented");
    else
        stop(p, 400, describe(HPE_INVALID_METHOD));
    return -1;
}

/* Runs llhttp over the bytes, one request at a time (on_message_complete
 * pauses it), scanning each request's method from its first byte. */
static llhttp_errno_t execute(http_parser_t *p, const char *data, size_t len)
{
    const char *end = data + len;
    llhttp_errno_t err;

    for (;;) {
        scan_method(p, data, (size_t)(end - data));
        err = llhttp_execute(&p->ll, data, (size_t)(end - data));
        if (err != HPE_PAUSED)
            return err;
        data = llhttp_get_error_pos(&p->ll);
        llhttp_resume(&p->ll);
        p->method_state = M_BLANK;
        p->method_len = 0;
    }
}

int http_parser_feed(http_parser_t *p, const char *data, size_t len)
{
    llhttp_errno_t err;

    if (p->status != 0)
        return -1;
    if (p->method_refused) {
        scan_method(p, data, len);
        return judge_method(p);
    }
    err = execute(p, data, len);
    if (err == HPE_OK)
        return 0;
    if (err == HPE_INVALID_METHOD && p->status == 0) {
        p->method_refused = 1;
        return judge_method(p);
    }
    if (err == HPE_PAUSED_UPGRADE)
        stop(p, 400, "protocol upgrades are not supported");
    else if (p->status == 0 && err == HPE_INVALID_VERSION)
        stop(p, 505, "only HTTP/1.0 and HTTP/1.1 are supported");
    else if (p->status == 0)
        stop(p, 400, describe(err));
    return -1;
}

int http_parser_status(const http_parser_t *p)
{
    return p->status;
}

const char *http_parser_error(const http_parser_t *p)
{
    return p->error;
}

int http_parser_mid_request(const http_parser_t *p)
{
    return p->mid;
}
