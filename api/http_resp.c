/* http_resp.c -- response heads and error bodies. See http_resp.h. */
#include <string.h>

#include "fmt.h"
#include "http_resp.h"

const char *http_resp_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 202:
        return "Accepted";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 410:
        return "Gone";
    case 411:
        return "Length Required";
    case 413:
        return "Content Too Large";
    case 414:
        return "URI Too Long";
    case 415:
        return "Unsupported Media Type";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 505:
        return "HTTP Version Not Supported";
    }
    return "Unknown";
}

/* The head is
 *   "HTTP/1.1 <status> <reason>\r\nContent-Type: <type>\r\n"
 *   "Content-Length: <body_len>\r\n<extra>[Connection: close\r\n]\r\n"
 * built from these pieces by http_resp_head() and measured from the same
 * pieces by http_resp_head_len(), so the two cannot disagree. No printf:
 * this runs for every response (fmt.h). */
#define HEAD_VERSION      "HTTP/1.1 "
#define HEAD_CTYPE        "\r\nContent-Type: "
#define HEAD_CLEN         "\r\nContent-Length: "
#define HEAD_EOL          "\r\n"
#define HEAD_CLOSE        "Connection: close\r\n"
#define HEAD_DEFAULT_TYPE "application/json"
#define LIT_LEN(s)        (sizeof(s) - 1)

int http_resp_head(char *buf, size_t n, int status, const char *content_type,
                   const char *extra_headers, size_t body_len, int close)
{
    fmt_t f;

    fmt_init(&f, buf, n);
    FMT_LIT(&f, HEAD_VERSION);
    fmt_i64(&f, status);
    fmt_char(&f, ' ');
    fmt_str(&f, http_resp_reason(status));
    FMT_LIT(&f, HEAD_CTYPE);
    if (content_type != NULL)
        fmt_str(&f, content_type);
    else
        FMT_LIT(&f, HEAD_DEFAULT_TYPE);
    FMT_LIT(&f, HEAD_CLEN);
    fmt_u64(&f, body_len);
    FMT_LIT(&f, HEAD_EOL);
    if (extra_headers != NULL)
        fmt_str(&f, extra_headers);
    if (close)
        FMT_LIT(&f, HEAD_CLOSE);
    FMT_LIT(&f, HEAD_EOL);
    return fmt_end(&f);
}

size_t http_resp_head_len(int status, const char *content_type,
                          const char *extra_headers, size_t body_len, int close)
{
    return LIT_LEN(HEAD_VERSION) + (size_t)fmt_i64_len(status) + 1 +
           strlen(http_resp_reason(status)) + LIT_LEN(HEAD_CTYPE) +
           (content_type != NULL ? strlen(content_type)
                                 : LIT_LEN(HEAD_DEFAULT_TYPE)) +
           LIT_LEN(HEAD_CLEN) + (size_t)fmt_u64_digits(body_len) +
           LIT_LEN(HEAD_EOL) +
           (extra_headers != NULL ? strlen(extra_headers) : 0) +
           (close ? LIT_LEN(HEAD_CLOSE) : 0) + LIT_LEN(HEAD_EOL);
}

int http_resp_error_json(char *buf, size_t n, const char *msg)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    const unsigned char *p;

#define PUT(c)                                                                 \
    do {                                                                       \
        if (o + 1 >= n)                                                        \
            return -1;                                                         \
        buf[o++] = (char)(c);                                                  \
    } while (0)
    for (p = (const unsigned char *)"{\"error\":\""; *p; p++)
        PUT(*p);
    for (p = (const unsigned char *)msg; *p; p++) {
        if (*p == '"' || *p == '\\') {
            PUT('\\');
            PUT(*p);
        } else if (*p < 0x20 || *p >= 0x7f) {
            /* Non-ASCII bytes may come from client input echoed in an
             * error: escape them so the body is always valid JSON. */
            PUT('\\');
            PUT('u');
            PUT('0');
            PUT('0');
            PUT(hex[*p >> 4]);
            PUT(hex[*p & 15]);
        } else {
            PUT(*p);
        }
    }
    PUT('"');
    PUT('}');
#undef PUT
    buf[o] = '\0';
    return (int)o;
}
