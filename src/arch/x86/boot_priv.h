/*
 * boot_priv.h - helpers shared by the x86 boot protocol files (bzimage.c,
 * boot_layout.c, zero_page.c, e820.c, pvh.c).  Not a public header.
 */
#ifndef VMMKIT_X86_BOOT_PRIV_H
#define VMMKIT_X86_BOOT_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <vmmkit/x86_boot.h>

/*
 * The boot ABI structures in x86_boot.h are little-endian packed layouts
 * used as they are; every host vmmkit runs on (x86_64, arm64) is
 * little-endian.  Parsers read bytes with read_le() and need no such rule.
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "x86 boot structures need a LE host");

#define X86_SZ_4K UINT64_C(0x1000)
#define X86_SZ_64K UINT64_C(0x10000)
#define X86_SZ_1M (UINT64_C(1) << 20)
#define X86_SZ_1G (UINT64_C(1) << 30)

/* What a check found wrong, for the *_describe() functions: the value,
 * the bound it broke, and which entry (program header, range) it was. */
typedef struct x86_diag {
    uint64_t value;
    uint64_t limit;
    uint64_t extra;
    unsigned index;
} x86_diag_t;

/* Little-endian read of @bytes (<= 8) bytes. */
static inline uint64_t x86_read_le(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* a + b into *sum; false when it wraps. */
static inline bool x86_add_ok(uint64_t a, uint64_t b, uint64_t *sum)
{
    return !__builtin_add_overflow(a, b, sum);
}

/* Round @v up to @align (a power of two) into *out; false when it wraps. */
static inline bool x86_align_up_ok(uint64_t v, uint64_t align, uint64_t *out)
{
    uint64_t t;

    if (!x86_add_ok(v, align - 1, &t))
        return false;
    *out = t & ~(align - 1);
    return true;
}

static inline uint64_t x86_align_down(uint64_t v, uint64_t align)
{
    return v & ~(align - 1);
}

static inline bool x86_is_pow2(uint64_t v)
{
    return v && !(v & (v - 1));
}

/* Whole MiB, rounded up, for messages. */
static inline uint64_t x86_mib_up(uint64_t v)
{
    return v / X86_SZ_1M + (v % X86_SZ_1M != 0);
}

/* The checks of x86_bzimage_parse() / x86_e820_build() / x86_pvh_parse(),
 * reporting what failed in @diag (may be NULL). */
int x86_bzimage_parse_diag(const void *buf, size_t len, uint64_t file_size,
                           x86_bzimage_info_t *info, x86_diag_t *diag);
int x86_e820_build_diag(const x86_e820_entry_t *in, size_t nr_in, x86_e820_entry_t *out,
                        size_t max_out, x86_diag_t *diag);
int x86_pvh_parse_diag(const void *buf, size_t len, x86_pvh_info_t *info, x86_diag_t *diag);

#endif
