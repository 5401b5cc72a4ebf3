/*
 * boot_layout.c - the x86 boot memory plan (bzImage and PVH) and the
 * module's error texts.
 *
 * Specs: Linux Documentation/arch/x86/boot.rst ("boot.rst"), Xen's
 * docs/misc/pvh.pandoc.  See include/vmmkit/x86_boot.h for the plan.
 */
#include <inttypes.h>
#include <stdio.h>

#include "boot_priv.h"

/* The low fixed addresses stay below the EBDA and clear of one another. */
_Static_assert(X86_BOOT_PVH_START_INFO_ADDR + 0x1000 <= X86_BOOT_ZERO_PAGE_ADDR, "low map");
_Static_assert(X86_BOOT_ZERO_PAGE_ADDR + X86_ZERO_PAGE_SIZE <= X86_BOOT_STACK_TOP - 0x1000,
               "low map");
_Static_assert(X86_BOOT_GDT_ADDR + 0x1000 <= X86_BOOT_PAGE_TABLES_ADDR, "low map");
_Static_assert(X86_BOOT_PAGE_TABLES_ADDR + X86_BOOT_PAGE_TABLES_SIZE <= 0x10000, "low map");
_Static_assert(X86_BOOT_CMDLINE_ADDR + X86_BOOT_CMDLINE_MAX <= 0x9f000, "low map");
_Static_assert(X86_BOOT_EBDA_ADDR >= 0x9f000, "low map");

/*
 * What the two plans share once the kernel's place is known: check the RAM
 * map and the command line, then put the initrd as high as it can go below
 * @initrd_cap in low RAM, above the kernel, or else (@allow_high) at the top
 * of high RAM.  @l has the kernel fields set; the rest is filled here.
 */
static int plan_rest(x86_boot_layout_t *l, uint64_t initrd_cap, bool allow_high)
{
    uint64_t kend, isz, low_need = 0, need, top;
    bool low_possible = false, high_ok;

    if (!x86_align_up_ok(l->kernel_end, X86_SZ_4K, &kend))
        kend = UINT64_MAX;
    l->initrd_limit = l->initrd_size ? initrd_cap : 0;
    high_ok = l->initrd_size && allow_high && l->high_ram_size >= l->initrd_size;
    if (l->initrd_size && x86_align_up_ok(l->initrd_size, X86_SZ_4K, &isz) &&
        x86_add_ok(kend, isz, &low_need))
        low_possible = low_need <= initrd_cap;

    /* The smallest low RAM that would do, with high RAM as it is. */
    if (!l->initrd_size || high_ok)
        need = kend;
    else if (low_possible)
        need = low_need;
    else
        return -X86_BOOT_E_INITRD_TOO_BIG;
    if (need > l->low_ram_end) {
        l->ram_needed = need;
        return -X86_BOOT_E_NO_ROOM;
    }
    if (!l->initrd_size)
        return 0;

    if (low_possible && low_need <= l->low_ram_end) {
        /* Highest page-aligned place below the cap and the end of low RAM;
         * it clears kend because low_need (page aligned) fits below top. */
        top = x86_align_down(initrd_cap < l->low_ram_end ? initrd_cap : l->low_ram_end, X86_SZ_4K);
        l->initrd_addr = x86_align_down(top - l->initrd_size, X86_SZ_4K);
    } else {
        /* XLF_CAN_BE_LOADED_ABOVE_4G: "kernel/boot_params/cmdline/ramdisk
         * can be above 4G" (boot.rst, "xloadflags"). */
        l->initrd_addr = x86_align_down(X86_BOOT_4G + l->high_ram_size - l->initrd_size, X86_SZ_4K);
    }
    return 0;
}

/* Common first steps: arguments, RAM map, command line. */
static int plan_start(x86_boot_layout_t *l, uint64_t low_ram_end, uint64_t high_ram_size,
                      uint64_t initrd_size, size_t cmdline_len, uint64_t cmdline_max)
{
    uint64_t high_end;

    l->low_ram_end = low_ram_end;
    l->high_ram_size = high_ram_size;
    l->initrd_size = initrd_size;
    l->cmdline_addr = X86_BOOT_CMDLINE_ADDR;
    l->cmdline_size = (uint64_t)cmdline_len + 1;
    l->cmdline_max = cmdline_max;
    /* RAM below 4 GiB ends where the board's 32-bit hole starts. */
    if (low_ram_end > X86_BOOT_4G || !x86_add_ok(X86_BOOT_4G, high_ram_size, &high_end))
        return -X86_BOOT_E_RAM_MAP;
    if (cmdline_len > cmdline_max)
        return -X86_BOOT_E_CMDLINE_TOO_LONG;
    return 0;
}

int x86_boot_layout(const x86_bzimage_info_t *img, uint64_t low_ram_end, uint64_t high_ram_size,
                    uint64_t initrd_size, size_t cmdline_len, x86_boot_layout_t *out)
{
    x86_boot_layout_t l = {0};
    uint64_t load, run, load_end, run_end, cap, cmdline_max;
    int ret;

    if (!img || !out)
        return -X86_BOOT_E_INVALID_ARG;
    /* cmdline_size: "the command line can contain at most cmdline_size
     * characters"; the room at X86_BOOT_CMDLINE_ADDR bounds it too. */
    cmdline_max =
        img->cmdline_size < X86_BOOT_CMDLINE_MAX - 1 ? img->cmdline_size : X86_BOOT_CMDLINE_MAX - 1;
    ret = plan_start(&l, low_ram_end, high_ram_size, initrd_size, cmdline_len, cmdline_max);
    if (ret < 0)
        goto out;
    l.boot_params_addr = X86_BOOT_ZERO_PAGE_ADDR;

    /*
     * Where the kernel goes ("init_size": runtime_start is align_up(load,
     * kernel_alignment) for a relocatable kernel, pref_address otherwise).
     * The decompressor of a relocatable kernel also never runs below
     * LOAD_PHYSICAL_ADDR, which pref_address reports
     * (arch/x86/boot/compressed/head_64.S), so loading it at pref_address
     * is what uses least memory.  A non-relocatable one is loaded where a
     * bzImage always was, 0x100000 ("Loading The Rest of The Kernel"), and
     * moves itself to pref_address.  x86_bzimage_parse() bounds
     * pref_address + init_size by 4 GiB: nothing below wraps.
     */
    if (img->relocatable) {
        if (!x86_align_up_ok(img->pref_address ? img->pref_address : X86_BOOT_KERNEL_MIN_ADDR,
                             img->kernel_alignment, &load)) {
            ret = -X86_BOOT_E_NO_ROOM;
            goto out;
        }
        run = load;
    } else {
        load = X86_BOOT_KERNEL_MIN_ADDR;
        run = img->pref_address ? img->pref_address : X86_BOOT_KERNEL_MIN_ADDR;
    }
    load_end = load + img->kernel_size;
    run_end = run + img->init_size;
    l.kernel_load_addr = load;
    l.kernel_start = load < run ? load : run;
    l.kernel_end = load_end > run_end ? load_end : run_end;
    /* "64-bit BOOT PROTOCOL": "the start address of loaded 64-bit kernel plus 0x200". */
    l.entry = load + X86_BZIMAGE_ENTRY64_OFFSET;

    /* initrd_addr_max is "the highest safe byte" (boot.rst, initrd_addr_max). */
    cap = img->initrd_addr_max + 1;
    if (cap > X86_BOOT_4G)
        cap = X86_BOOT_4G;
    ret = plan_rest(&l, cap, img->above_4g);
out:
    *out = l;
    return ret;
}

int x86_pvh_layout(const x86_pvh_info_t *pvh, uint64_t low_ram_end, uint64_t high_ram_size,
                   uint64_t initrd_size, size_t cmdline_len, x86_boot_layout_t *out)
{
    x86_boot_layout_t l = {0};
    int ret;

    if (!pvh || !out || pvh->nr_segments == 0 || pvh->start >= pvh->end)
        return -X86_BOOT_E_INVALID_ARG;
    ret = plan_start(&l, low_ram_end, high_ram_size, initrd_size, cmdline_len,
                     X86_BOOT_CMDLINE_MAX - 1);
    if (ret < 0)
        goto out;
    l.boot_params_addr = X86_BOOT_PVH_START_INFO_ADDR;
    l.kernel_load_addr = pvh->start;
    l.kernel_start = pvh->start;
    l.kernel_end = pvh->end;
    l.entry = pvh->entry;
    /* The ELF file fixes the addresses: below 1 MiB is the boot area. */
    if (pvh->start < X86_BOOT_KERNEL_MIN_ADDR) {
        ret = -X86_BOOT_E_KERNEL_LOW;
        goto out;
    }
    /*
     * Linux copies the module's paddr into the 32-bit ramdisk_image
     * (arch/x86/platform/pvh/enlighten.c), so the initrd stays below 4 GiB:
     * in low RAM.
     */
    ret = plan_rest(&l, X86_BOOT_4G, false);
out:
    *out = l;
    return ret;
}

int x86_boot_layout_describe(int err, const x86_boot_layout_t *l, char *buf, size_t len)
{
    if (err < 0)
        err = -err;
    if (!l)
        return snprintf(buf, len, "%s", x86_boot_strerror(err));
    switch (err) {
    case X86_BOOT_E_NO_ROOM:
        if (!l->ram_needed)
            break;
        return snprintf(
            buf, len,
            "guest RAM too small: the kernel (0x%" PRIx64 "-0x%" PRIx64 ")%s need%s "
            "low RAM up to %" PRIu64 " MiB (%" PRIu64 " bytes)%s, it ends at %" PRIu64 " MiB",
            l->kernel_start, l->kernel_end, l->initrd_size ? " and the initrd" : "",
            l->initrd_size ? "" : "s", x86_mib_up(l->ram_needed), l->ram_needed,
            l->ram_needed > X86_BOOT_4G ? ", beyond 4 GiB" : "", l->low_ram_end / X86_SZ_1M);
    case X86_BOOT_E_INITRD_TOO_BIG:
        return snprintf(buf, len,
                        "initrd of %" PRIu64 " MiB (%" PRIu64 " bytes) does not fit between the "
                        "kernel's end 0x%" PRIx64 " and its limit 0x%" PRIx64
                        ", and high RAM (%" PRIu64 " MiB) cannot take it",
                        x86_mib_up(l->initrd_size), l->initrd_size, l->kernel_end, l->initrd_limit,
                        l->high_ram_size / X86_SZ_1M);
    case X86_BOOT_E_CMDLINE_TOO_LONG:
        return snprintf(buf, len,
                        "command line of %" PRIu64 " bytes is longer than the %" PRIu64
                        " the kernel takes",
                        l->cmdline_size - 1, l->cmdline_max);
    case X86_BOOT_E_KERNEL_LOW:
        return snprintf(buf, len,
                        "kernel segment at 0x%" PRIx64 " lies below 1 MiB, in the boot area",
                        l->kernel_start);
    case X86_BOOT_E_RAM_MAP:
        return snprintf(buf, len,
                        "RAM map refused: low RAM ends at 0x%" PRIx64 " (at most 4 GiB), high "
                        "RAM of 0x%" PRIx64 " bytes from 4 GiB",
                        l->low_ram_end, l->high_ram_size);
    default:
        break;
    }
    return snprintf(buf, len, "%s", x86_boot_strerror(err));
}

static const char *const err_text[X86_BOOT_E_COUNT] = {
    [X86_BOOT_OK] = "success",
    [X86_BOOT_E_INVALID_ARG] = "invalid argument (NULL pointer or nonsensical size)",
    [X86_BOOT_E_TRUNCATED] = "buffer ends before the bzImage setup header does",
    [X86_BOOT_E_BOOT_FLAG] = "no 0xAA55 boot_flag at 0x1fe: not a Linux x86 kernel",
    [X86_BOOT_E_NO_HDRS] = "no \"HdrS\" magic at 0x202: not a bzImage",
    [X86_BOOT_E_PROTOCOL] = "boot protocol older than 2.12 (no 64-bit entry)",
    [X86_BOOT_E_HEADER_SIZE] = "setup header length (jump at 0x200) outside 0x264..0x290",
    [X86_BOOT_E_SYSSIZE] = "syssize is 0: no protected-mode kernel",
    [X86_BOOT_E_FILE_TRUNCATED] = "bzImage file shorter than its setup and syssize say",
    [X86_BOOT_E_NOT_LOADED_HIGH] = "loadflags lacks LOADED_HIGH: a zImage, not a bzImage",
    [X86_BOOT_E_NO_64BIT_ENTRY] = "xloadflags lacks XLF_KERNEL_64: no 64-bit entry",
    [X86_BOOT_E_KERNEL_ALIGNMENT] = "kernel_alignment is not a power of two in 4 KiB..1 GiB",
    [X86_BOOT_E_MIN_ALIGNMENT] = "min_alignment exceeds kernel_alignment",
    [X86_BOOT_E_PREF_ADDRESS] = "pref_address below 1 MiB, misaligned or ending above 4 GiB",
    [X86_BOOT_E_INIT_SIZE] = "init_size is smaller than the protected-mode kernel",
    [X86_BOOT_E_INITRD_ADDR_MAX] = "initrd_addr_max is below 1 MiB",
    [X86_BOOT_E_CMDLINE_SIZE] = "cmdline_size is 0",
    [X86_BOOT_E_RAM_MAP] = "RAM map refused: low RAM above 4 GiB or high RAM wrapping",
    [X86_BOOT_E_NO_ROOM] = "guest RAM too small for the kernel and initrd",
    [X86_BOOT_E_INITRD_TOO_BIG] = "initrd fits nowhere the kernel can take it",
    [X86_BOOT_E_CMDLINE_TOO_LONG] = "command line longer than the kernel takes",
    [X86_BOOT_E_KERNEL_LOW] = "kernel segment below 1 MiB, in the boot area",
    [X86_BOOT_E_ABOVE_4G] = "an address the kernel reads as 32 bits lies above 4 GiB",
    [X86_BOOT_E_FRAMEBUFFER] = "framebuffer geometry or address is inconsistent",
    [X86_BOOT_E_BUFFER_TOO_SMALL] = "buffer too small for the PVH start info",
    [X86_BOOT_E_E820_ZERO_SIZE] = "E820 range of size 0",
    [X86_BOOT_E_E820_WRAP] = "E820 range wraps past 2^64",
    [X86_BOOT_E_E820_TYPE] = "E820 range of type 0",
    [X86_BOOT_E_E820_TOO_MANY] = "E820 map needs more entries than the table holds",
    [X86_BOOT_E_E820_NO_RAM] = "E820 map has no RAM",
    [X86_BOOT_E_ELF_TRUNCATED] = "file shorter than the 64-byte ELF64 header",
    [X86_BOOT_E_ELF_MAGIC] = "no \"\\x7fELF\" magic: not an ELF vmlinux",
    [X86_BOOT_E_ELF_CLASS] = "ELF file is not ELFCLASS64",
    [X86_BOOT_E_ELF_ENDIAN] = "ELF file is not little-endian",
    [X86_BOOT_E_ELF_VERSION] = "ELF version is not 1",
    [X86_BOOT_E_ELF_TYPE] = "ELF file is not an executable (ET_EXEC)",
    [X86_BOOT_E_ELF_MACHINE] = "ELF file is not for x86_64 (EM_X86_64)",
    [X86_BOOT_E_ELF_PHENTSIZE] = "ELF e_phentsize is not 56",
    [X86_BOOT_E_ELF_PHNUM] = "ELF file has no program headers (or PN_XNUM)",
    [X86_BOOT_E_ELF_PHDRS] = "ELF program header table lies outside the file",
    [X86_BOOT_E_ELF_SEGMENT] = "ELF segment's bytes lie outside the file",
    [X86_BOOT_E_ELF_FILESZ] = "ELF segment's p_filesz exceeds p_memsz",
    [X86_BOOT_E_ELF_ABOVE_4G] = "ELF PT_LOAD segment wraps or ends above 4 GiB",
    [X86_BOOT_E_ELF_OVERLAP] = "two ELF PT_LOAD segments overlap",
    [X86_BOOT_E_ELF_TOO_MANY_SEGMENTS] = "too many ELF PT_LOAD segments",
    [X86_BOOT_E_ELF_NO_SEGMENTS] = "ELF file has nothing to load",
    [X86_BOOT_E_ELF_NOTE] = "ELF note runs past its PT_NOTE segment",
    [X86_BOOT_E_PVH_NO_ENTRY] = "no XEN_ELFNOTE_PHYS32_ENTRY note: the kernel has no PVH entry",
    [X86_BOOT_E_PVH_ENTRY] = "PVH entry note has a bad size or points outside the segments",
};

const char *x86_boot_strerror(int err)
{
    if (err < 0)
        err = -err;
    if (err < X86_BOOT_E_COUNT && err_text[err])
        return err_text[err];
    return "unknown x86 boot error";
}
