/* http_resp.c -- response heads and error bodies. See http_resp.h. */
#include <stdio.h>
#include <string.h>

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

#define HEAD_FMT                                                               \
    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n"

int http_resp_head(char *buf, size_t n, int status, const char *content_type,
                   const char *extra_headers, size_t body_len, int close)
{
    int len = snprintf(buf, n, HEAD_FMT, status, http_resp_reason(status),
                       content_type ? content_type : "application/json",
                       body_len, extra_headers ? extra_headers : "",
                       close ? "Connection: close\r\n" : "");

    return (len < 0 || (size_t)len >= n) ? -1 : len;
}

size_t http_resp_head_len(int status, const char *content_type,
                          const char *extra_headers, size_t body_len, int close)
{
    int len = snprintf(NULL, 0, HEAD_FMT, status, http_resp_reason(status),
                       content_type ? content_type : "application/json",
                       body_len, extra_headers ? extra_headers : "",
                       close ? "Connection: close\r\n" : "");

    return len < 0 ? 0 : (size_t)len;
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
