/*
 * bzimage.c - the bzImage setup header: parsing, checks and their messages.
 *
 * Spec: Linux Documentation/arch/x86/boot.rst ("boot.rst"); section names
 * below are that document's.  See include/vmmkit/x86_boot.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "boot_priv.h"

/* Setup header fields: offsets in the file (boot.rst, "The Real-Mode Kernel Header"). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_HEADER 0x202
#define HDR_VERSION 0x206
#define HDR_KERNEL_VERSION 0x20e
#define HDR_LOADFLAGS 0x211
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_MIN_ALIGNMENT 0x235
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260

/* Bytes needed to read boot_flag, jump, "HdrS" and version. */
#define HDR_PROBE_MIN 0x208
/*
 * The header must reach init_size (2.10+, read here) and ends before
 * edd_mbr_sig_buffer at 0x290, the end of the hole boot_params keeps for it
 * (zero-page.rst); boot.rst's "The kernel_info" calls it "permanently
 * limited to 144 bytes".
 */
#define HDR_END_MIN (HDR_INIT_SIZE + 4)
#define HDR_END_MAX 0x290
#define SECTOR 512u

/* Linux's alignment limits: CONFIG_PHYSICAL_ALIGN is 8 KiB .. 16 MiB. */
#define ALIGN_MIN X86_SZ_4K
#define ALIGN_MAX X86_SZ_1G

static int fail(x86_diag_t *diag, int err, uint64_t value, uint64_t limit)
{
    if (diag) {
        diag->value = value;
        diag->limit = limit;
    }
    return -err;
}

int x86_bzimage_parse_diag(const void *buf_in, size_t len, uint64_t file_size,
                           x86_bzimage_info_t *info, x86_diag_t *diag)
{
    const uint8_t *buf = buf_in;
    x86_bzimage_info_t out = {0};
    uint64_t syssize, end, pref_end;
    unsigned min_lg2;

    if (!buf_in || !info)
        return -X86_BOOT_E_INVALID_ARG;
    if (len < HDR_PROBE_MIN)
        return fail(diag, X86_BOOT_E_TRUNCATED, len, HDR_PROBE_MIN);

    /* boot_flag: "Contains 0xAA55.  This is the closest thing old Linux
     * kernels have to a magic number." */
    if (x86_read_le(buf + HDR_BOOT_FLAG, 2) != X86_BZIMAGE_BOOT_FLAG)
        return fail(diag, X86_BOOT_E_BOOT_FLAG, x86_read_le(buf + HDR_BOOT_FLAG, 2),
                    X86_BZIMAGE_BOOT_FLAG);
    /* header: "HdrS"; without it the protocol is "old" (a zImage). */
    if (x86_read_le(buf + HDR_HEADER, 4) != X86_BZIMAGE_HDRS)
        return fail(diag, X86_BOOT_E_NO_HDRS, x86_read_le(buf + HDR_HEADER, 4), X86_BZIMAGE_HDRS);
    /* Protocol 2.12 brought xloadflags and with it XLF_KERNEL_64. */
    out.version = (uint16_t)x86_read_le(buf + HDR_VERSION, 2);
    if (out.version < X86_BZIMAGE_MIN_VERSION)
        return fail(diag, X86_BOOT_E_PROTOCOL, out.version, X86_BZIMAGE_MIN_VERSION);

    /*
     * jump: "0xEB followed by a signed offset relative to byte 0x202.  This
     * can be used to determine the size of the header"; the 32-bit and
     * 64-bit protocols copy [0x1F1, 0x202 + byte at 0x201) into boot_params.
     */
    out.header_end = HDR_HEADER + buf[HDR_JUMP + 1];
    if (buf[HDR_JUMP] != 0xeb || out.header_end < HDR_END_MIN || out.header_end > HDR_END_MAX)
        return fail(diag, X86_BOOT_E_HEADER_SIZE, buf[HDR_JUMP] != 0xeb ? 0 : out.header_end,
                    HDR_END_MIN);
    if (len < out.header_end)
        return fail(diag, X86_BOOT_E_TRUNCATED, len, out.header_end);

    /*
     * setup_sects: "If this field is 0, the real value is 4"; the
     * protected-mode kernel starts at (setup_sects + 1) * 512 ("Loading The
     * Rest of The Kernel") and is syssize 16-byte paragraphs long (2.04+).
     * The file may go on after it: signed kernels carry their signature.
     */
    out.setup_sects = buf[HDR_SETUP_SECTS] ? buf[HDR_SETUP_SECTS] : 4;
    out.kernel_offset = (uint64_t)(out.setup_sects + 1) * SECTOR;
    syssize = x86_read_le(buf + HDR_SYSSIZE, 4);
    if (syssize == 0)
        return fail(diag, X86_BOOT_E_SYSSIZE, 0, 0);
    out.kernel_size = syssize * 16;
    out.file_size = file_size;
    end = out.kernel_offset + out.kernel_size; /* < 2^37: no wrap */
    if (file_size < end)
        return fail(diag, X86_BOOT_E_FILE_TRUNCATED, file_size, end);

    /* loadflags bit 0: "If 1, the protected-mode code is loaded at 0x100000". */
    out.loadflags = buf[HDR_LOADFLAGS];
    if (!(out.loadflags & X86_LOADFLAG_LOADED_HIGH))
        return fail(diag, X86_BOOT_E_NOT_LOADED_HIGH, out.loadflags, X86_LOADFLAG_LOADED_HIGH);
    /* xloadflags bit 0: "this kernel has the legacy 64-bit entry point at 0x200". */
    out.xloadflags = (uint16_t)x86_read_le(buf + HDR_XLOADFLAGS, 2);
    if (!(out.xloadflags & X86_XLF_KERNEL_64))
        return fail(diag, X86_BOOT_E_NO_64BIT_ENTRY, out.xloadflags, X86_XLF_KERNEL_64);
    out.above_4g = (out.xloadflags & X86_XLF_CAN_BE_LOADED_ABOVE_4G) != 0;

    /*
     * kernel_alignment: "Alignment unit required by the kernel (if
     * relocatable_kernel is true)", from CONFIG_PHYSICAL_ALIGN (a power of
     * two; 2 MiB in distribution kernels).  Anything that is not a power of
     * two, or is absurdly small or large, is a corrupt header.
     */
    out.kernel_alignment = x86_read_le(buf + HDR_KERNEL_ALIGNMENT, 4);
    if (!x86_is_pow2(out.kernel_alignment) || out.kernel_alignment < ALIGN_MIN ||
        out.kernel_alignment > ALIGN_MAX)
        return fail(diag, X86_BOOT_E_KERNEL_ALIGNMENT, out.kernel_alignment, ALIGN_MIN);
    out.relocatable = buf[HDR_RELOCATABLE] != 0;

    /*
     * min_alignment (2.10+): "if nonzero, indicates as a power of two the
     * minimum alignment required, as opposed to preferred"; it cannot be
     * stricter than the preferred one.
     */
    min_lg2 = buf[HDR_MIN_ALIGNMENT];
    if (min_lg2) {
        if (min_lg2 > 30 || (UINT64_C(1) << min_lg2) > out.kernel_alignment)
            return fail(diag, X86_BOOT_E_MIN_ALIGNMENT, min_lg2, out.kernel_alignment);
        out.min_alignment = UINT64_C(1) << min_lg2;
    } else {
        out.min_alignment = out.kernel_alignment;
    }

    /*
     * init_size: "the amount of linear contiguous memory starting at the
     * kernel runtime start address that the kernel needs before it is
     * capable of examining its memory map".  The kernel decompresses in
     * place inside it, so it always covers the file's kernel.
     */
    out.init_size = x86_read_le(buf + HDR_INIT_SIZE, 4);
    if (out.init_size < out.kernel_size)
        return fail(diag, X86_BOOT_E_INIT_SIZE, out.init_size, out.kernel_size);

    /*
     * pref_address: "a preferred load address for the kernel.  ... A
     * non-relocatable kernel will unconditionally move itself and to run at
     * this address."  Below 1 MiB it would land on the boot area, and the
     * kernel's init_size from it must stay below 4 GiB, where this plan puts
     * every kernel.
     */
    out.pref_address = x86_read_le(buf + HDR_PREF_ADDRESS, 8);
    if (out.pref_address &&
        (out.pref_address < X86_BOOT_KERNEL_MIN_ADDR ||
         (out.pref_address & (out.min_alignment - 1)) ||
         !x86_add_ok(out.pref_address, out.init_size, &pref_end) || pref_end > X86_BOOT_4G))
        return fail(diag, X86_BOOT_E_PREF_ADDRESS, out.pref_address, out.min_alignment);

    /* initrd_addr_max: "the address of the highest safe byte" (2.03+). */
    out.initrd_addr_max = x86_read_le(buf + HDR_INITRD_ADDR_MAX, 4);
    if (out.initrd_addr_max < X86_BOOT_KERNEL_MIN_ADDR)
        return fail(diag, X86_BOOT_E_INITRD_ADDR_MAX, out.initrd_addr_max,
                    X86_BOOT_KERNEL_MIN_ADDR);
    /* cmdline_size: "The maximum size of the command line without the
     * terminating zero" (2.06+); even an empty one needs none, but no
     * kernel says 0. */
    out.cmdline_size = (uint32_t)x86_read_le(buf + HDR_CMDLINE_SIZE, 4);
    if (out.cmdline_size == 0)
        return fail(diag, X86_BOOT_E_CMDLINE_SIZE, 0, 1);
    out.kernel_version = (uint16_t)x86_read_le(buf + HDR_KERNEL_VERSION, 2);

    *info = out;
    return 0;
}

int x86_bzimage_parse(const void *buf, size_t len, uint64_t file_size, x86_bzimage_info_t *info)
{
    return x86_bzimage_parse_diag(buf, len, file_size, info, NULL);
}

const char *x86_bzimage_kernel_version(const void *buf_in, size_t len,
                                       const x86_bzimage_info_t *info)
{
    const uint8_t *buf = buf_in;
    uint64_t start, end;

    /*
     * kernel_version: "a pointer to a NUL-terminated human-readable kernel
     * version number string, less 0x200 ... should be less than
     * (0x200*setup_sects)".
     */
    if (!buf || !info || !info->kernel_version)
        return NULL;
    start = (uint64_t)info->kernel_version + 0x200;
    end = info->kernel_offset < len ? info->kernel_offset : len;
    if (start >= end || !memchr(buf + start, 0, end - start))
        return NULL;
    return (const char *)buf + start;
}

int x86_bzimage_describe(int err, const void *buf, size_t len, uint64_t file_size, char *out,
                         size_t out_len)
{
    x86_bzimage_info_t info;
    x86_diag_t d = {0};
    int r;

    if (err < 0)
        err = -err;
    r = x86_bzimage_parse_diag(buf, len, file_size, &info, &d);
    if (-r != err)
        return snprintf(out, out_len, "%s", x86_boot_strerror(err));

    switch (err) {
    case X86_BOOT_E_TRUNCATED:
        return snprintf(out, out_len,
                        "only %" PRIu64
                        " bytes of the bzImage given; its setup header needs %" PRIu64,
                        d.value, d.limit);
    case X86_BOOT_E_BOOT_FLAG:
        return snprintf(out, out_len,
                        "boot_flag (0x1fe) is 0x%04" PRIx64 ", not 0xaa55: not a Linux x86 kernel",
                        d.value);
    case X86_BOOT_E_NO_HDRS:
        return snprintf(out, out_len,
                        "header (0x202) is 0x%08" PRIx64 ", not \"HdrS\" (0x%08" PRIx64
                        "): not a bzImage (a pre-2.00 zImage?)",
                        d.value, d.limit);
    case X86_BOOT_E_PROTOCOL:
        return snprintf(out, out_len,
                        "boot protocol %" PRIu64 ".%02" PRIu64 " (0x206) is older than 2.12, the "
                        "first with a 64-bit entry (Linux 3.8)",
                        d.value >> 8, d.value & 0xff);
    case X86_BOOT_E_HEADER_SIZE:
        if (d.value == 0)
            return snprintf(out, out_len,
                            "no short jump (0xeb) at 0x200: setup header length "
                            "unknown");
        return snprintf(out, out_len,
                        "setup header ends at 0x%" PRIx64 " (0x202 + byte at 0x201), outside "
                        "0x%x..0x%x",
                        d.value, HDR_END_MIN, HDR_END_MAX);
    case X86_BOOT_E_SYSSIZE:
        return snprintf(out, out_len, "syssize (0x1f4) is 0: no protected-mode kernel");
    case X86_BOOT_E_FILE_TRUNCATED:
        return snprintf(out, out_len,
                        "bzImage file is %" PRIu64 " bytes; setup sectors and syssize say it holds "
                        "%" PRIu64 ": truncated",
                        d.value, d.limit);
    case X86_BOOT_E_NOT_LOADED_HIGH:
        return snprintf(out, out_len,
                        "loadflags (0x211) 0x%02" PRIx64 " lacks LOADED_HIGH: a zImage, which "
                        "loads at 0x10000",
                        d.value);
    case X86_BOOT_E_NO_64BIT_ENTRY:
        return snprintf(out, out_len,
                        "xloadflags (0x236) 0x%04" PRIx64 " lacks XLF_KERNEL_64: not a 64-bit "
                        "kernel, or no 64-bit entry",
                        d.value);
    case X86_BOOT_E_KERNEL_ALIGNMENT:
        return snprintf(out, out_len,
                        "kernel_alignment (0x230) 0x%" PRIx64 " is not a power of two between "
                        "4 KiB and 1 GiB",
                        d.value);
    case X86_BOOT_E_MIN_ALIGNMENT:
        return snprintf(out, out_len,
                        "min_alignment (0x235) 2^%" PRIu64 " exceeds kernel_alignment 0x%" PRIx64,
                        d.value, d.limit);
    case X86_BOOT_E_PREF_ADDRESS:
        return snprintf(out, out_len,
                        "pref_address (0x258) 0x%" PRIx64
                        " is below 1 MiB, not aligned to 0x%" PRIx64
                        ", or ends above 4 GiB with init_size",
                        d.value, d.limit);
    case X86_BOOT_E_INIT_SIZE:
        return snprintf(out, out_len,
                        "init_size (0x260) 0x%" PRIx64 " is smaller than the protected-mode "
                        "kernel (0x%" PRIx64 " bytes)",
                        d.value, d.limit);
    case X86_BOOT_E_INITRD_ADDR_MAX:
        return snprintf(out, out_len, "initrd_addr_max (0x22c) 0x%" PRIx64 " is below 1 MiB",
                        d.value);
    case X86_BOOT_E_CMDLINE_SIZE:
        return snprintf(out, out_len, "cmdline_size (0x238) is 0");
    default:
        return snprintf(out, out_len, "%s", x86_boot_strerror(err));
    }
}
