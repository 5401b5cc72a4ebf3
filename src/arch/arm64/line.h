/*
 * line.h - snprintf() piece by piece, for the arm64 decoders' one-line
 * descriptions: each piece is appended while it fits, and the full length
 * is counted either way, so a describe() function returns what snprintf()
 * would.
 */
#ifndef VMMKIT_ARM64_LINE_H
#define VMMKIT_ARM64_LINE_H

#include <stddef.h>

typedef struct line {
    char *buf;
    size_t len; /* bytes of @buf */
    size_t pos; /* characters the full line has so far */
} line_t;

/* Append printf(@fmt, ...) to @l. */
void line_put(line_t *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
