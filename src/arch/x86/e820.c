/*
 * e820.c - the E820 memory map: typed ranges in, a sorted, non-overlapping
 * table out.
 *
 * Format: struct boot_e820_entry (arch/x86/include/uapi/asm/bootparam.h;
 * Documentation/arch/x86/zero-page.rst, e820_table at 0x2D0); types are
 * ACPI's address range types (ACPI 6.5, 15.1).  Overlaps resolve as Linux's
 * sanitizer resolves them (arch/x86/kernel/e820.c): the larger type wins.
 * See include/vmmkit/x86_boot.h.
 */
#include <inttypes.h>
#include <stdio.h>

#include "boot_priv.h"

static int fail(x86_diag_t *diag, int err, unsigned index, uint64_t value, uint64_t limit)
{
    if (diag) {
        diag->index = index;
        diag->value = value;
        diag->limit = limit;
    }
    return -err;
}

/*
 * A sweep over the ranges' boundaries: between two consecutive boundaries
 * every point is covered by the same ranges, so the piece gets the largest
 * type among them (none: a hole).  At most 2 * nr_in boundaries, each found
 * in one pass over the ranges: O(nr_in^2), with nr_in <= X86_E820_MAX_INPUT.
 */
int x86_e820_build_diag(const x86_e820_entry_t *in, size_t nr_in, x86_e820_entry_t *out,
                        size_t max_out, x86_diag_t *diag)
{
    uint64_t cur = UINT64_MAX, next, last_end = 0, end;
    uint32_t last_type = 0, type;
    size_t count = 0;
    bool found, have_ram = false;

    if (!in || nr_in == 0 || nr_in > X86_E820_MAX_INPUT || (!out && max_out))
        return -X86_BOOT_E_INVALID_ARG;
    for (size_t i = 0; i < nr_in; i++) {
        if (in[i].size == 0)
            return fail(diag, X86_BOOT_E_E820_ZERO_SIZE, (unsigned)i, in[i].addr, 0);
        if (!x86_add_ok(in[i].addr, in[i].size, &end))
            return fail(diag, X86_BOOT_E_E820_WRAP, (unsigned)i, in[i].addr, in[i].size);
        if (in[i].type == 0)
            return fail(diag, X86_BOOT_E_E820_TYPE, (unsigned)i, in[i].addr, 0);
        if (in[i].addr < cur)
            cur = in[i].addr;
    }

    for (;;) {
        next = UINT64_MAX;
        found = false;
        type = 0;
        for (size_t i = 0; i < nr_in; i++) {
            uint64_t s = in[i].addr, e = in[i].addr + in[i].size;

            if (s > cur && s <= next) {
                next = s;
                found = true;
            }
            if (e > cur && e <= next) {
                next = e;
                found = true;
            }
            if (s <= cur && cur < e && in[i].type > type)
                type = in[i].type;
        }
        if (!found)
            break;
        if (type) {
            have_ram |= type == X86_E820_RAM;
            if (count && last_type == type && last_end == cur) {
                if (out && count <= max_out)
                    out[count - 1].size = next - out[count - 1].addr;
            } else {
                if (out && count < max_out) {
                    out[count].addr = cur;
                    out[count].size = next - cur;
                    out[count].type = type;
                }
                count++;
            }
            last_type = type;
            last_end = next;
        }
        cur = next;
    }
    if (!have_ram)
        return fail(diag, X86_BOOT_E_E820_NO_RAM, 0, 0, 0);
    if (out && count > max_out)
        return fail(diag, X86_BOOT_E_E820_TOO_MANY, 0, count, max_out);
    return (int)count;
}

int x86_e820_build(const x86_e820_entry_t *in, size_t nr_in, x86_e820_entry_t *out, size_t max_out)
{
    return x86_e820_build_diag(in, nr_in, out, max_out, NULL);
}

bool x86_e820_is_ram(const x86_e820_entry_t *map, size_t nr, uint64_t addr, uint64_t size)
{
    uint64_t cur = addr, end;
    bool moved;

    if (!map || size == 0 || !x86_add_ok(addr, size, &end))
        return false;
    /* No byte of the range may be in a non-RAM entry ... */
    for (size_t i = 0; i < nr; i++) {
        uint64_t s = map[i].addr, e;

        if (map[i].type == X86_E820_RAM || !x86_add_ok(s, map[i].size, &e))
            continue;
        if (s < end && addr < e)
            return false;
    }
    /* ... and RAM entries must cover it, end to end. */
    do {
        moved = false;
        for (size_t i = 0; i < nr && cur < end; i++) {
            uint64_t s = map[i].addr, e;

            if (map[i].type != X86_E820_RAM || !x86_add_ok(s, map[i].size, &e))
                continue;
            if (s <= cur && cur < e) {
                cur = e;
                moved = true;
            }
        }
    } while (moved && cur < end);
    return cur >= end;
}

int x86_e820_describe(int err, const x86_e820_entry_t *in, size_t nr_in, size_t max_out, char *buf,
                      size_t len)
{
    x86_diag_t d = {0};
    int r;

    if (err < 0)
        err = -err;
    /* Count only, then check what the real call would have found. */
    r = x86_e820_build_diag(in, nr_in, NULL, 0, &d);
    if (r > 0 && err == X86_BOOT_E_E820_TOO_MANY)
        return snprintf(buf, len, "E820 map needs %d entries, the table holds %zu", r, max_out);
    if (r < 0 && -r == err && err != X86_BOOT_E_INVALID_ARG) {
        const x86_e820_entry_t *e = &in[d.index];

        switch (err) {
        case X86_BOOT_E_E820_ZERO_SIZE:
        case X86_BOOT_E_E820_TYPE:
        case X86_BOOT_E_E820_WRAP:
            return snprintf(buf, len,
                            "%s: range %u at 0x%" PRIx64 ", size 0x%" PRIx64 ", type %" PRIu32,
                            x86_boot_strerror(err), d.index, e->addr, e->size, e->type);
        default:
            break;
        }
    }
    return snprintf(buf, len, "%s", x86_boot_strerror(err));
}
