/*
 * table_bytes.h - little-endian fields and byte checksums of the firmware
 * tables the x86 board writes (ACPI, acpi.c; the MP table, mptable.c).
 */
#ifndef VMMKIT_X86_TABLE_BYTES_H
#define VMMKIT_X86_TABLE_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* A fixed-width, space-padded identifier (OEM ID, OEM Table ID, ...). */
static inline void put_id(uint8_t *p, const char *s, size_t width)
{
    size_t n = strlen(s);

    memset(p, ' ', width);
    memcpy(p, s, n < width ? n : width);
}

/* The byte that makes @len bytes at @p sum to zero, given its slot holds 0
 * (ACPI 6.4, 5.2.6; MP 1.4, 4.1 and 4.2). */
static inline uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)(0x100 - sum);
}

#endif
