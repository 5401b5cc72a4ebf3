/*
 * line.c - snprintf() piece by piece (line.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "arch/arm64/line.h"

void line_put(line_t *l, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    if (l->pos < l->len)
        n = vsnprintf(l->buf + l->pos, l->len - l->pos, fmt, ap);
    else
        n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0)
        l->pos += (size_t)n;
}
