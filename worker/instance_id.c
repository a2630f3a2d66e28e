/* instance_id.c -- the check of --instance-id. See instance_id.h. */
#include <stdio.h>
#include <string.h>

#include "instance_id.h"

static int legal_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int instance_id_check(const char *id, char *errstr, size_t n)
{
    size_t len, i;

    if (id == NULL || id[0] == '\0')
        return 0;
    len = strlen(id);
    if (len > INSTANCE_ID_MAX) {
        snprintf(errstr, n, "%d characters at most, got %zu", INSTANCE_ID_MAX,
                 len);
        return -1;
    }
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0) {
        snprintf(errstr, n, "\"%s\" is not allowed", id);
        return -1;
    }
    for (i = 0; i < len; i++)
        if (!legal_char((unsigned char)id[i])) {
            unsigned char c = (unsigned char)id[i];

            if (c > 0x20 && c < 0x7f)
                snprintf(errstr, n,
                         "character '%c' at %zu: only A-Z a-z 0-9 . _ - "
                         "are allowed",
                         c, i + 1);
            else
                snprintf(errstr, n,
                         "byte 0x%02x at %zu: only A-Z a-z 0-9 . _ - are "
                         "allowed",
                         c, i + 1);
            return -1;
        }
    return 0;
}
