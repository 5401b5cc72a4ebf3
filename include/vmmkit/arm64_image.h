/*
 * arm64_image.h - the arm64 Linux Image header and the guest boot memory plan.
 *
 * An arm64 Linux kernel is booted from its uncompressed "Image": a flat
 * binary that opens with a 64-byte header telling the boot loader where the
 * Image wants to sit relative to a 2 MiB aligned base (text_offset), how much
 * memory from its start it will use (image_size, which covers the BSS and the
 * early page tables, not just the file) and a few flags (endianness, page
 * size, whether it may be placed anywhere in RAM).  This module reads that
 * header, checks it against Linux Documentation/arch/arm64/booting.rst
 * ("booting.rst" below), and computes where the kernel, the initrd and the
 * device tree blob go in guest RAM so that every rule of booting.rst holds.
 *
 * It is pure: no I/O, no allocation, no KVM.  The caller reads the header,
 * calls arm64_image_parse_header() (or arm64_image_parse() on the whole file),
 * then arm64_boot_layout(), and copies the three pieces to the addresses it
 * gets back.
 *
 * Errors are negative values of arm64_image_err_t; arm64_image_strerror()
 * names each in one line, arm64_boot_layout_describe() writes a sentence that
 * also carries the numbers (for "RAM too small": how much is needed).
 */
#ifndef VMMKIT_ARM64_IMAGE_H
#define VMMKIT_ARM64_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Size of the Image header (booting.rst section 4). */
#define ARM64_IMAGE_HEADER_SIZE 64u
/* The magic "ARM\x64" as the little-endian u32 at offset 0x38. */
#define ARM64_IMAGE_MAGIC 0x644d5241u
/* text_offset assumed for kernels older than v3.17 (image_size == 0). */
#define ARM64_IMAGE_LEGACY_TEXT_OFFSET 0x80000ull
/* The kernel's base must be aligned to this (booting.rst section 4). */
#define ARM64_IMAGE_BASE_ALIGN (2ull << 20)
/* The largest DTB booting.rst allows (section 2). */
#define ARM64_IMAGE_DTB_MAX_SIZE (2ull << 20)

/* Bits of the header's flags field (booting.rst section 4, "Header notes"). */
#define ARM64_IMAGE_FLAG_BE (1ull << 0)
#define ARM64_IMAGE_FLAG_PAGE_SIZE_SHIFT 1
#define ARM64_IMAGE_FLAG_PAGE_SIZE_MASK (3ull << ARM64_IMAGE_FLAG_PAGE_SIZE_SHIFT)
#define ARM64_IMAGE_FLAG_PHYS_BASE (1ull << 3)

/* Page sizes a host can run, for arm64_image_check_page_size(). */
#define ARM64_IMAGE_PAGE_4K (1u << 0)
#define ARM64_IMAGE_PAGE_16K (1u << 1)
#define ARM64_IMAGE_PAGE_64K (1u << 2)

/* Why an Image or a memory plan was refused.  Functions return the negative. */
typedef enum arm64_image_err {
    ARM64_IMAGE_OK = 0,
    ARM64_IMAGE_E_INVALID_ARG = 1,     /* NULL pointer or a zero/oversized argument */
    ARM64_IMAGE_E_TRUNCATED = 2,       /* shorter than the 64-byte header */
    ARM64_IMAGE_E_BAD_MAGIC = 3,       /* no "ARM\x64" at 0x38: not an arm64 Image */
    ARM64_IMAGE_E_BIG_ENDIAN = 4,      /* flags bit 0: a big-endian kernel */
    ARM64_IMAGE_E_PAGE_SIZE = 5,       /* the kernel's page size is one the host lacks */
    ARM64_IMAGE_E_IMAGE_SIZE = 6,      /* image_size is smaller than the file */
    ARM64_IMAGE_E_TEXT_OFFSET = 7,     /* text_offset not page aligned or >= 2 MiB */
    ARM64_IMAGE_E_SIZE_OVERFLOW = 8,   /* an address or size does not fit 64 (or 48) bits */
    ARM64_IMAGE_E_NO_ROOM = 9,         /* RAM too small for kernel (+ initrd + DTB) */
    ARM64_IMAGE_E_ABOVE_48BIT = 10,    /* flags bit 3 set but RAM lies above 2^48 */
    ARM64_IMAGE_E_DTB_TOO_BIG = 11,    /* dtb_max exceeds booting.rst's 2 MiB */
    ARM64_IMAGE_E_INITRD_TOO_BIG = 12, /* initrd cannot share a 32 GiB window with the kernel */
    ARM64_IMAGE_E_COUNT
} arm64_image_err_t;

/* What arm64_image_parse() learnt from a header. */
typedef struct arm64_image_info {
    uint64_t text_offset; /* effective: 0x80000 for a legacy (pre-3.17) Image */
    uint64_t image_size;  /* effective: bytes from the Image start the kernel uses;
                             always >= file_size */
    uint64_t file_size;   /* bytes of the Image file (what the caller copies) */
    uint64_t flags;       /* the header's flags as read (0 for a legacy Image);
                             reserved bits 4-63 are kept, not rejected */
    uint32_t page_size;   /* kernel page size in bytes, 0 = unspecified */
    bool place_anywhere;  /* flags bit 3: any 2 MiB base below 2^48 will do */
    bool legacy;          /* image_size was 0: pre-3.17 kernel, size unknown */
} arm64_image_info_t;

/* Where arm64_boot_layout() put things (guest-physical addresses). */
typedef struct arm64_boot_layout {
    uint64_t ram_base; /* the RAM the plan is for, as given */
    uint64_t ram_size;
    uint64_t kernel_base; /* 2 MiB aligned base; kernel_addr - text_offset */
    uint64_t kernel_addr; /* copy the Image file here; the boot vCPU's PC */
    uint64_t kernel_end;  /* kernel_addr + image_size: memory the kernel owns */
    uint64_t initrd_addr; /* 0 when there is no initrd */
    uint64_t initrd_size;
    uint64_t dtb_addr;   /* put the DTB here; the boot vCPU's x0 */
    uint64_t dtb_max;    /* room reserved for it */
    uint64_t ram_needed; /* on ARM64_IMAGE_E_NO_ROOM: the smallest ram_size that fits */
} arm64_boot_layout_t;

/*
 * Parse and check an Image header (booting.rst section 4), given only the
 * header and the file's size, so the caller need not read the whole file.
 * @hdr, @hdr_len: the first bytes of the file; at least 64 are needed.
 * @file_size:     the Image file's full length in bytes.
 * @info:          filled on success; untouched on failure.
 * Accepted: every page size (0 unspecified, 4K, 16K, 64K; use
 * arm64_image_check_page_size() against what the host's CPU offers), set
 * reserved flag bits (future kernels may define them), either placement flag.
 * Refused: a short file, a bad magic, a big-endian kernel (vmmkit's devices
 * assume little-endian guests), a text_offset that no Linux ever had (not a
 * multiple of the page size, at least 4 KiB, or not below 2 MiB), an
 * image_size smaller than the file, sizes that overflow 48 bits.
 * An image_size of 0 marks a pre-3.17 kernel: text_offset is then taken as
 * 0x80000 whatever the field says, image_size as the file size, and
 * info->legacy is set (booting.rst: keep as much memory free after it as
 * possible, which arm64_boot_layout() does by putting everything else at the
 * top).
 * Returns 0 or a negative arm64_image_err_t.
 */
int arm64_image_parse_header(const void *hdr, size_t hdr_len, uint64_t file_size,
                             arm64_image_info_t *info);

/*
 * arm64_image_parse_header() on a whole Image file held in memory.
 * @buf, @len: the file.  Returns 0 or a negative arm64_image_err_t.
 */
int arm64_image_parse(const void *buf, size_t len, arm64_image_info_t *info);

/*
 * Check the kernel's page size against what the host can run.
 * @supported: OR of ARM64_IMAGE_PAGE_4K/16K/64K, e.g. from the guest-visible
 *             ID_AA64MMFR0_EL1.TGran* fields.
 * Returns 0 when the page size is supported or unspecified, else
 * -ARM64_IMAGE_E_PAGE_SIZE.
 */
int arm64_image_check_page_size(const arm64_image_info_t *info, unsigned supported);

/*
 * Choose the kernel's load address in one RAM region (booting.rst section 4):
 * text_offset bytes above the lowest 2 MiB aligned base that lies inside RAM
 * (for flags bit 3 clear, "as close as possible to the base of DRAM"; for bit
 * 3 set the lowest base is as good as any other).
 * @ram_base, @ram_size: the guest RAM region; ram_base need not be aligned.
 * @load_addr: receives the address to copy the Image to and jump to.
 * Returns 0, -ARM64_IMAGE_E_NO_ROOM when image_size bytes do not fit above
 * the base, -ARM64_IMAGE_E_ABOVE_48BIT when flags bit 3 is set and the
 * kernel would end above 2^48, -ARM64_IMAGE_E_SIZE_OVERFLOW when the region
 * wraps 64 bits, -ARM64_IMAGE_E_INVALID_ARG for NULL pointers.
 */
int arm64_image_place(const arm64_image_info_t *info, uint64_t ram_base, uint64_t ram_size,
                      uint64_t *load_addr);

/*
 * Plan guest RAM for a Linux boot: kernel, initrd, DTB.
 * @img:         from arm64_image_parse().
 * @ram_base, @ram_size: the guest RAM region the kernel boots from.
 * @initrd_size: bytes of initrd, 0 for none.
 * @dtb_max:     bytes to reserve for the DTB (1 .. 2 MiB); the DTB written
 *               there must not be larger.
 * @out:         filled on success; on -ARM64_IMAGE_E_NO_ROOM only ram_base,
 *               ram_size and ram_needed are meaningful.
 *
 * The plan (every address is inside [ram_base, ram_base + ram_size)):
 *  - kernel as arm64_image_place() puts it;
 *  - the DTB at the top, page aligned (so 8-byte aligned, booting.rst section
 *    2), ending at or below a 2 MiB boundary so the 2 MiB blocks the kernel
 *    maps it with hold nothing but RAM;
 *  - the initrd right below the DTB, page aligned, above the kernel's
 *    image_size, inside the 1 GiB aligned window of 32 GiB that also covers
 *    the kernel (booting.rst section 4);
 *  - both are kept within 512 MiB of the kernel base when they fit there,
 *    which kernels before v4.2 need for the DTB (booting.rst section 2) and
 *    costs nothing otherwise; else they go to the top of RAM.
 * Memory between the kernel's end and the initrd stays free for the kernel.
 * Returns 0 or a negative arm64_image_err_t: E_NO_ROOM (out->ram_needed says
 * how much RAM would do), E_INITRD_TOO_BIG (no amount of RAM helps),
 * E_DTB_TOO_BIG, E_ABOVE_48BIT, E_SIZE_OVERFLOW, E_INVALID_ARG.
 */
int arm64_boot_layout(const arm64_image_info_t *img, uint64_t ram_base, uint64_t ram_size,
                      size_t initrd_size, size_t dtb_max, arm64_boot_layout_t *out);

/*
 * One line naming an error, e.g. "image_size is smaller than the Image file".
 * @err: 0 or a negative (or positive) arm64_image_err_t; unknown values get
 *       a generic text.  Never returns NULL.
 */
const char *arm64_image_strerror(int err);

/*
 * Write a sentence about @err with the numbers from @layout into @buf (always
 * NUL-terminated when @len > 0), e.g. "guest RAM too small: kernel, initrd
 * and DTB need 70 MiB (73400320 bytes) from 0x40000000, RAM has 64 MiB".
 * @layout may be NULL (then this is arm64_image_strerror()).
 * Returns the length snprintf() would have written.
 */
int arm64_boot_layout_describe(int err, const arm64_boot_layout_t *layout, char *buf, size_t len);

#ifdef __cplusplus
}
#endif
#endif
