/*
 * fuzz_x86_boot.c - libFuzzer harness for the x86 boot protocol module
 * (src/arch/x86/: bzimage.c, boot_layout.c, zero_page.c, e820.c, pvh.c):
 * the bzImage setup header parser, the ELF vmlinux PVH parser, both boot
 * memory plans, the E820 builder, the zero page and the PVH start info.
 *
 * The input is a hostile user's files and sizes:
 *
 *   bytes 0-7    low RAM end (le64)
 *   bytes 8-15   high RAM size from 4 GiB (le64)
 *   bytes 16-23  initrd size (le64)
 *   bytes 24-31  the kernel file's size claimed beside its first bytes (le64)
 *   bytes 32-33  command line length (le16)
 *   byte  34     bit 0: quiet, bit 1: a framebuffer, bit 2: an RSDP address
 *   byte  35     low 4 bits: how many E820 ranges follow
 *   then         that many 20-byte E820 ranges (addr, size, type), added to
 *                the board's own (RAM below and above the hole, the BIOS area)
 *   then         the kernel file's first bytes (a bzImage header or an ELF)
 *
 * Whatever the input, every function returns a defined error or a result,
 * and every accepted result holds what the specs ask: the E820 map sorted,
 * disjoint, merged, each byte of the type the largest input range there
 * gives it; a bzImage plan with the kernel aligned, at or above pref_address,
 * init_size bytes inside low RAM above 1 MiB, the initrd page aligned,
 * clear of the kernel, inside RAM, below initrd_addr_max or (only when the
 * kernel allows it) in high RAM, the 64-bit entry at load + 0x200; a zero
 * page carrying the header bytes and the plan's pointers; a PVH image whose
 * segments are sorted, disjoint, inside the file and below 4 GiB with the
 * entry in one; its plan and start info consistent.  Error texts exist for
 * every code and messages always end in a NUL.  Any violation aborts.
 *
 * Seeds (corpus/fuzz_x86_boot/, from make-seeds-x86-boot): a Debian 6.1
 * bzImage header with typical RAM, one with a 3 GiB initrd over high RAM,
 * a non-relocatable 2.12 kernel, RAM too small, a bad magic, an ELF
 * vmlinux with 8- and 4-byte PVH notes, notes padded to 8, and overlapping
 * E820 ranges.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/x86_boot.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "fuzz_x86_boot: %s:%d: %s\n", __FILE__, __LINE__, #c);                 \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define HDR_LEN 36
#define FOUR_G 0x100000000ull
#define MAX_IN 19

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* [a, a + alen) lies in [b, b + blen), no wrap in either. */
static int inside(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a >= b && alen <= blen && a - b <= blen - alen;
}

/* [a, a + alen) and [b, b + blen) share no byte. */
static int apart(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a + alen <= b || b + blen <= a;
}

static void check_text(int err)
{
    CHECK(err <= 0 && -err < X86_BOOT_E_COUNT);
    CHECK(x86_boot_strerror(err) != NULL);
}

/* The type x86_e820_build() must give @addr: the largest covering one. */
static uint32_t type_at(const x86_e820_entry_t *in, size_t n, uint64_t addr)
{
    uint32_t t = 0;

    for (size_t i = 0; i < n; i++)
        if (addr >= in[i].addr && addr - in[i].addr < in[i].size && in[i].type > t)
            t = in[i].type;
    return t;
}

static int fuzz_e820(const x86_e820_entry_t *in, size_t n, x86_e820_entry_t *out)
{
    char text[256];
    int r, counted;

    r = x86_e820_build(in, n, out, X86_E820_MAX_ENTRIES);
    check_text(r < 0 ? r : 0);
    x86_e820_describe(r, in, n, X86_E820_MAX_ENTRIES, text, sizeof(text));
    CHECK(memchr(text, 0, sizeof(text)) != NULL);
    counted = x86_e820_build(in, n, NULL, 0);
    if (r < 0) {
        CHECK(r != -X86_BOOT_E_E820_TOO_MANY || counted > (int)X86_E820_MAX_ENTRIES);
        return r;
    }
    CHECK(r > 0 && r <= (int)X86_E820_MAX_ENTRIES && counted == r);
    for (int i = 0; i < r; i++) {
        CHECK(out[i].size != 0 && out[i].type != 0);
        CHECK(out[i].size <= UINT64_MAX - out[i].addr);
        CHECK(type_at(in, n, out[i].addr) == out[i].type);
        CHECK(type_at(in, n, out[i].addr + out[i].size - 1) == out[i].type);
        if (i > 0) {
            uint64_t prev_end = out[i - 1].addr + out[i - 1].size;

            CHECK(out[i].addr >= prev_end);
            CHECK(out[i].addr > prev_end || out[i].type != out[i - 1].type);
        }
    }
    /* Every input range's ends are typed as the largest range there says. */
    for (size_t i = 0; i < n; i++) {
        uint64_t pts[2] = {in[i].addr, in[i].addr + in[i].size - 1};

        for (int p = 0; p < 2; p++) {
            uint32_t want = type_at(in, n, pts[p]), got = 0;

            for (int j = 0; j < r; j++)
                if (pts[p] >= out[j].addr && pts[p] - out[j].addr < out[j].size)
                    got = out[j].type;
            CHECK(got == want);
            CHECK(x86_e820_is_ram(out, r, pts[p], 1) == (want == X86_E820_RAM));
        }
    }
    return r;
}

/* Rules every accepted plan keeps, bzImage or PVH. */
static void check_common(const x86_boot_layout_t *l, uint64_t low, uint64_t high,
                         uint64_t initrd_size)
{
    CHECK(l->low_ram_end == low && l->high_ram_size == high);
    CHECK(l->cmdline_addr == X86_BOOT_CMDLINE_ADDR);
    CHECK(l->cmdline_size >= 1 && l->cmdline_size <= X86_BOOT_CMDLINE_MAX);
    CHECK(l->cmdline_size - 1 <= l->cmdline_max);
    CHECK(l->kernel_start >= X86_BOOT_KERNEL_MIN_ADDR);
    CHECK(l->kernel_start <= l->kernel_load_addr && l->kernel_load_addr < l->kernel_end);
    CHECK(l->kernel_end <= low && low <= FOUR_G);
    CHECK(l->initrd_size == initrd_size);
    if (initrd_size) {
        CHECK(l->initrd_addr % 4096 == 0);
        CHECK(apart(l->initrd_addr, initrd_size, l->kernel_start, l->kernel_end - l->kernel_start));
        CHECK(apart(l->initrd_addr, initrd_size, 0, X86_BOOT_BIOS_END));
        if (l->initrd_addr < FOUR_G) {
            CHECK(l->initrd_addr >= l->kernel_end);
            CHECK(inside(l->initrd_addr, initrd_size, 0, low));
            CHECK(l->initrd_addr + initrd_size <= l->initrd_limit);
        } else {
            CHECK(inside(l->initrd_addr, initrd_size, FOUR_G, high));
        }
    } else {
        CHECK(l->initrd_addr == 0);
    }
}

static void fuzz_bzimage(const uint8_t *file, size_t size, uint64_t claimed, uint64_t low,
                         uint64_t high, uint64_t initrd_size, size_t cmdline_len, uint8_t flags,
                         const x86_e820_entry_t *e820, int nr_e820, int own_map)
{
    static uint8_t zp[X86_ZERO_PAGE_SIZE];
    x86_bzimage_info_t info;
    x86_boot_layout_t l;
    const char *ver;
    char text[256];
    int r;

    /* A whole file, then the header with a claimed size. */
    r = x86_bzimage_parse(file, size, size, &info);
    check_text(r);
    x86_bzimage_describe(r, file, size, size, text, sizeof(text));
    CHECK(memchr(text, 0, sizeof(text)) != NULL);
    r = x86_bzimage_parse(file, size, claimed, &info);
    check_text(r);
    x86_bzimage_describe(r, file, size, claimed, text, sizeof(text));
    CHECK(memchr(text, 0, sizeof(text)) != NULL);
    if (r < 0)
        return;
    CHECK(info.version >= X86_BZIMAGE_MIN_VERSION);
    CHECK(info.header_end >= 0x264 && info.header_end <= 0x290 && info.header_end <= size);
    CHECK(info.kernel_offset == (uint64_t)(info.setup_sects + 1) * 512);
    CHECK(info.kernel_size > 0 && info.kernel_offset + info.kernel_size <= claimed);
    CHECK(info.loadflags & X86_LOADFLAG_LOADED_HIGH);
    CHECK(info.xloadflags & X86_XLF_KERNEL_64);
    CHECK((info.kernel_alignment & (info.kernel_alignment - 1)) == 0);
    CHECK(info.kernel_alignment >= 4096 && info.min_alignment <= info.kernel_alignment);
    CHECK((info.min_alignment & (info.min_alignment - 1)) == 0 && info.min_alignment);
    CHECK(info.init_size >= info.kernel_size);
    CHECK(info.pref_address == 0 || (info.pref_address >= X86_BOOT_KERNEL_MIN_ADDR &&
                                     info.pref_address % info.min_alignment == 0 &&
                                     info.pref_address + info.init_size <= FOUR_G));
    CHECK(info.initrd_addr_max >= X86_BOOT_KERNEL_MIN_ADDR && info.cmdline_size > 0);
    ver = x86_bzimage_kernel_version(file, size, &info);
    if (ver) {
        CHECK(ver >= (const char *)file && ver < (const char *)file + size);
        CHECK(memchr(ver, 0, (size_t)((const char *)file + size - ver)) != NULL);
    }

    memset(&l, 0, sizeof(l));
    r = x86_boot_layout(&info, low, high, initrd_size, cmdline_len, &l);
    check_text(r);
    x86_boot_layout_describe(r, &l, text, sizeof(text));
    CHECK(memchr(text, 0, sizeof(text)) != NULL);
    if (r == -X86_BOOT_E_NO_ROOM)
        CHECK(l.ram_needed > low);
    if (r < 0)
        return;
    check_common(&l, low, high, initrd_size);
    CHECK(l.boot_params_addr == X86_BOOT_ZERO_PAGE_ADDR);
    CHECK(l.entry == l.kernel_load_addr + X86_BZIMAGE_ENTRY64_OFFSET);
    CHECK(l.cmdline_size - 1 <= info.cmdline_size);
    CHECK(l.kernel_load_addr + info.kernel_size <= l.kernel_end);
    if (info.relocatable) {
        CHECK(l.kernel_load_addr % info.kernel_alignment == 0);
        CHECK(l.kernel_load_addr >= info.pref_address);
        CHECK(l.kernel_end - l.kernel_load_addr >= info.init_size);
    } else {
        CHECK(l.kernel_load_addr == X86_BOOT_KERNEL_MIN_ADDR);
        CHECK(l.kernel_end >=
              (info.pref_address ? info.pref_address : X86_BOOT_KERNEL_MIN_ADDR) + info.init_size);
    }
    if (initrd_size && l.initrd_addr < FOUR_G)
        CHECK(l.initrd_addr + initrd_size - 1 <= info.initrd_addr_max);
    if (initrd_size && l.initrd_addr >= FOUR_G)
        CHECK(info.above_4g);
    /* With the board's own map, everything the plan uses is RAM. */
    if (own_map && nr_e820 > 0) {
        CHECK(x86_e820_is_ram(e820, nr_e820, l.kernel_start, l.kernel_end - l.kernel_start));
        CHECK(x86_e820_is_ram(e820, nr_e820, l.boot_params_addr, X86_ZERO_PAGE_SIZE));
        CHECK(x86_e820_is_ram(e820, nr_e820, l.cmdline_addr, l.cmdline_size));
        if (initrd_size)
            CHECK(x86_e820_is_ram(e820, nr_e820, l.initrd_addr, initrd_size));
    }

    if (nr_e820 > 0) {
        x86_framebuffer_t fb = {
            .base = 0xc8000000ull + ((uint64_t)(flags >> 4) << 32),
            .size = (uint64_t)(cmdline_len & 0x7ff) * 4096,
            .width = (uint16_t)(cmdline_len & 0x7ff),
            .height = 1024,
            .depth = 32,
            .line_length = (uint16_t)((cmdline_len & 0x7ff) * 4),
            .red_size = 8,
            .red_pos = 16,
            .green_size = 8,
            .green_pos = 8,
            .blue_size = 8,
        };
        x86_boot_params_opts_t opts = {
            .acpi_rsdp_addr = (flags & 4) ? 0xe0000 : 0,
            .fb = (flags & 2) ? &fb : NULL,
            .quiet = flags & 1,
        };

        r = x86_boot_params_build(zp, file, size, &info, &l, e820, (size_t)nr_e820, &opts);
        check_text(r);
        if (r == 0) {
            CHECK(memcmp(zp + 0x1f1, file + 0x1f1, 0x210 - 0x1f1) == 0);
            CHECK(zp[0x1ef] == 0 && zp[0x210] == 0xff);
            CHECK(zp[0x211] & X86_LOADFLAG_CAN_USE_HEAP);
            CHECK(!(zp[0x211] & X86_LOADFLAG_KEEP_SEGMENTS));
            CHECK((le(zp + 0x228, 4) | le(zp + 0xc8, 4) << 32) == l.cmdline_addr);
            CHECK((le(zp + 0x218, 4) | le(zp + 0xc0, 4) << 32) == l.initrd_addr);
            CHECK((le(zp + 0x21c, 4) | le(zp + 0xc4, 4) << 32) == l.initrd_size);
            CHECK(le(zp + 0x214, 4) == l.kernel_load_addr);
            CHECK(zp[0x1e8] == nr_e820);
            CHECK(memcmp(zp + 0x2d0, e820, (size_t)nr_e820 * 20) == 0);
            CHECK(le(zp + 0x70, 8) == opts.acpi_rsdp_addr);
            CHECK(zp[0x0f] == ((flags & 2) ? X86_VIDEO_TYPE_VLFB : 0));
            for (unsigned i = info.header_end; i < 0x290; i++)
                CHECK(zp[i] == 0);
        }
    }
}

static void fuzz_pvh(const uint8_t *file, size_t size, uint64_t low, uint64_t high,
                     uint64_t initrd_size, size_t cmdline_len, uint8_t flags,
                     const x86_e820_entry_t *e820, int nr_e820)
{
    static uint8_t si[X86_PVH_START_INFO_MAX_SIZE];
    x86_pvh_info_t info;
    x86_boot_layout_t l;
    char text[256];
    int r, entry_seen = 0;

    r = x86_pvh_parse(file, size, &info);
    check_text(r);
    x86_pvh_describe(r, file, size, text, sizeof(text));
    CHECK(memchr(text, 0, sizeof(text)) != NULL);
    if (r < 0)
        return;
    CHECK(info.nr_segments >= 1 && info.nr_segments <= X86_PVH_MAX_SEGMENTS);
    CHECK(info.start == info.segments[0].paddr && info.end <= FOUR_G);
    for (unsigned i = 0; i < info.nr_segments; i++) {
        const x86_pvh_segment_t *s = &info.segments[i];

        CHECK(s->memsz > 0 && s->filesz <= s->memsz);
        CHECK(inside(s->offset, s->filesz, 0, size));
        CHECK(inside(s->paddr, s->memsz, info.start, info.end - info.start));
        if (i > 0)
            CHECK(s->paddr >= info.segments[i - 1].paddr + info.segments[i - 1].memsz);
        if (info.entry >= s->paddr && info.entry - s->paddr < s->filesz)
            entry_seen = 1;
    }
    CHECK(entry_seen);

    memset(&l, 0, sizeof(l));
    r = x86_pvh_layout(&info, low, high, initrd_size, cmdline_len, &l);
    check_text(r);
    x86_boot_layout_describe(r, &l, text, sizeof(text));
    CHECK(memchr(text, 0, sizeof(text)) != NULL);
    if (r == -X86_BOOT_E_NO_ROOM)
        CHECK(l.ram_needed > low);
    if (r < 0)
        return;
    check_common(&l, low, high, initrd_size);
    CHECK(l.boot_params_addr == X86_BOOT_PVH_START_INFO_ADDR && l.entry == info.entry);
    CHECK(l.kernel_start == info.start && l.kernel_end == info.end);
    CHECK(initrd_size == 0 || l.initrd_addr + initrd_size <= FOUR_G);
    if (nr_e820 <= 0)
        return;
    r = x86_pvh_start_info_build(si, sizeof(si), l.boot_params_addr, &l, e820, (size_t)nr_e820,
                                 (flags & 4) ? 0xe0000 : 0);
    check_text(r < 0 ? r : 0);
    if (r > 0) {
        uint64_t mod = le(si + 16, 8), map = le(si + 40, 8);

        CHECK(le(si, 4) == X86_PVH_START_MAGIC && le(si + 4, 4) == 1);
        CHECK(le(si + 24, 8) == l.cmdline_addr);
        CHECK(le(si + 48, 4) == (uint64_t)nr_e820);
        CHECK(le(si + 12, 4) == (initrd_size ? 1u : 0u));
        CHECK(map >= l.boot_params_addr &&
              map - l.boot_params_addr + (uint64_t)nr_e820 * 24 == (uint64_t)r);
        if (initrd_size) {
            CHECK(mod - l.boot_params_addr == 56);
            CHECK(le(si + 56, 8) == l.initrd_addr && le(si + 64, 8) == initrd_size);
        }
        for (int i = 0; i < nr_e820; i++) {
            const uint8_t *m = si + (map - l.boot_params_addr) + 24 * (size_t)i;

            CHECK(le(m, 8) == e820[i].addr && le(m + 8, 8) == e820[i].size);
            CHECK(le(m + 16, 4) == e820[i].type && le(m + 20, 4) == 0);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    x86_e820_entry_t in[MAX_IN], map[X86_E820_MAX_ENTRIES];
    uint64_t low, high, initrd_size, claimed;
    size_t cmdline_len, n = 0, extra;
    uint8_t flags;
    int nr_map;

    if (size < HDR_LEN)
        return 0;
    low = le(data, 8);
    high = le(data + 8, 8);
    initrd_size = le(data + 16, 8);
    claimed = le(data + 24, 8);
    cmdline_len = (size_t)le(data + 32, 2);
    flags = data[34];
    extra = data[35] & 15u;
    data += HDR_LEN;
    size -= HDR_LEN;
    if (size < extra * 20)
        extra = size / 20;

    /* The board's own ranges, as the pc board makes them, then the input's. */
    if (low)
        in[n++] = (x86_e820_entry_t){0, low, X86_E820_RAM};
    if (high && high <= UINT64_MAX - FOUR_G)
        in[n++] = (x86_e820_entry_t){FOUR_G, high, X86_E820_RAM};
    in[n++] = (x86_e820_entry_t){X86_BOOT_EBDA_ADDR, X86_BOOT_BIOS_END - X86_BOOT_EBDA_ADDR,
                                 X86_E820_RESERVED};
    for (size_t i = 0; i < extra; i++, data += 20, size -= 20)
        in[n++] = (x86_e820_entry_t){le(data, 8), le(data + 8, 8), (uint32_t)le(data + 16, 4)};
    nr_map = fuzz_e820(in, n, map);

    fuzz_bzimage(data, size, claimed, low, high, initrd_size, cmdline_len, flags, map, nr_map,
                 extra == 0);
    fuzz_pvh(data, size, low, high, initrd_size, cmdline_len, flags, map, nr_map);
    return 0;
}
