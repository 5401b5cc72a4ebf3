/*
 * test_x86_pvh.c - unit tests for src/arch/x86/pvh.c (the ELF vmlinux's PVH
 * entry note and segments, the start info) and the PVH half of
 * boot_layout.c.  ELF files are synthesised like Debian 6.1's vmlinux: four
 * PT_LOADs from 16 MiB and a PT_NOTE with Xen's notes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <vmmkit/x86_boot.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

#define PT_LOAD 1
#define PT_NOTE 4
#define ENTRY 0x1000850u

typedef struct ph {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz, align;
} ph_t;

static uint8_t elf[0x8000];
static size_t elf_len;
static ph_t ph[24];
static unsigned nr_ph;

static void put_le(uint8_t *p, uint64_t v, unsigned int bytes)
{
    for (unsigned int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned int bytes)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < bytes; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Append a note at *pos: name (with its NUL), type, descriptor; padding @align. */
static void put_note(size_t *pos, const char *name, uint32_t type, const void *desc,
                     uint32_t descsz, unsigned align)
{
    uint32_t namesz = (uint32_t)strlen(name) + 1;
    size_t p = *pos;

    put_le(elf + p, namesz, 4);
    put_le(elf + p + 4, descsz, 4);
    put_le(elf + p + 8, type, 4);
    p += 12;
    memcpy(elf + p, name, namesz);
    p += (namesz + align - 1) & ~(size_t)(align - 1);
    memcpy(elf + p, desc, descsz);
    p += (descsz + align - 1) & ~(size_t)(align - 1);
    *pos = p;
}

/* Write the ELF header and the program headers in ph[]. */
static void write_headers(void)
{
    memset(elf, 0, 64);
    memcpy(elf,
           "\x7f"
           "ELF",
           4);
    elf[4] = 2;              /* ELFCLASS64 */
    elf[5] = 1;              /* ELFDATA2LSB */
    elf[6] = 1;              /* EV_CURRENT */
    put_le(elf + 16, 2, 2);  /* ET_EXEC */
    put_le(elf + 18, 62, 2); /* EM_X86_64 */
    put_le(elf + 20, 1, 4);
    put_le(elf + 24, 0x1000000, 8);
    put_le(elf + 32, 64, 8); /* e_phoff */
    put_le(elf + 52, 64, 2);
    put_le(elf + 54, 56, 2);
    put_le(elf + 56, nr_ph, 2);
    for (unsigned i = 0; i < nr_ph; i++) {
        uint8_t *p = elf + 64 + 56 * i;

        memset(p, 0, 56);
        put_le(p, ph[i].type, 4);
        put_le(p + 4, 5, 4);
        put_le(p + 8, ph[i].offset, 8);
        put_le(p + 16, 0xffffffff80000000ull + ph[i].paddr, 8);
        put_le(p + 24, ph[i].paddr, 8);
        put_le(p + 32, ph[i].filesz, 8);
        put_le(p + 40, ph[i].memsz, 8);
        put_le(p + 48, ph[i].align, 8);
    }
}

/*
 * The default vmlinux: data before text in the table (the parser sorts),
 * notes at 0x800, text at 0x1000 (16 MiB), data at 0x3000 with BSS, percpu
 * at 0x4000, init at 0x5000.
 */
static void make_elf(unsigned entry_desc_size)
{
    uint64_t entry64 = ENTRY;
    uint8_t build_id[20] = {1, 2, 3};
    size_t pos = 0x800;

    memset(elf, 0, sizeof(elf));
    put_note(&pos, "GNU", 3, build_id, sizeof(build_id), 4);
    put_note(&pos, "Xen", 6, "linux", 6, 4);
    put_note(&pos, "Xen", X86_PVH_ELFNOTE_PHYS32_ENTRY, &entry64, entry_desc_size, 4);
    put_note(&pos, "Xen", 9, "yes", 4, 4);
    nr_ph = 0;
    ph[nr_ph++] = (ph_t){PT_LOAD, 0x3000, 0x1200000, 0x800, 0x10000, 0x200000};
    ph[nr_ph++] = (ph_t){PT_LOAD, 0x1000, 0x1000000, 0x2000, 0x2000, 0x200000};
    ph[nr_ph++] = (ph_t){PT_LOAD, 0x4000, 0x1300000, 0x100, 0x1000, 0x200000};
    ph[nr_ph++] = (ph_t){PT_LOAD, 0x5000, 0x1400000, 0x1000, 0x2000000, 0x200000};
    ph[nr_ph++] = (ph_t){PT_NOTE, 0x800, 0x1000000 + 0x800, pos - 0x800, pos - 0x800, 4};
    write_headers();
    elf_len = 0x6000;
}

static void expect_err(int err, const char *needle)
{
    x86_pvh_info_t info = {.entry = 77};
    char msg[256];

    assert_int_equal(x86_pvh_parse(elf, elf_len, &info), -err);
    assert_int_equal(info.entry, 77); /* untouched on failure */
    x86_pvh_describe(-err, elf, elf_len, msg, sizeof(msg));
    if (!strstr(msg, needle))
        fail_msg("message \"%s\" lacks \"%s\"", msg, needle);
}

static void test_parse_vmlinux(void **state)
{
    x86_pvh_info_t info;

    (void)state;
    make_elf(8); /* Linux on x86_64: _ASM_PTR, 8 bytes */
    assert_int_equal(x86_pvh_parse(elf, elf_len, &info), 0);
    assert_int_equal(info.entry, ENTRY);
    assert_int_equal(info.nr_segments, 4);
    assert_int_equal(info.segments[0].paddr, 0x1000000);
    assert_int_equal(info.segments[0].offset, 0x1000);
    assert_int_equal(info.segments[0].filesz, 0x2000);
    assert_int_equal(info.segments[1].paddr, 0x1200000);
    assert_int_equal(info.segments[1].memsz, 0x10000);
    assert_int_equal(info.segments[2].paddr, 0x1300000);
    assert_int_equal(info.segments[3].paddr, 0x1400000);
    assert_int_equal(info.start, 0x1000000);
    assert_int_equal(info.end, 0x3400000);
    /* A 4-byte descriptor (older kernels, other guests). */
    make_elf(4);
    assert_int_equal(x86_pvh_parse(elf, elf_len, &info), 0);
    assert_int_equal(info.entry, ENTRY);
}

static void test_notes_aligned_8(void **state)
{
    uint64_t entry64 = ENTRY;
    x86_pvh_info_t info;
    size_t pos = 0x800;

    (void)state;
    make_elf(8);
    memset(elf + 0x800, 0, 0x800);
    put_note(&pos, "GNU", 5, "abcdefghijkl", 12, 8); /* e.g. .note.gnu.property */
    put_note(&pos, "Xen", X86_PVH_ELFNOTE_PHYS32_ENTRY, &entry64, 8, 8);
    ph[4].filesz = pos - 0x800;
    ph[4].align = 8;
    write_headers();
    assert_int_equal(x86_pvh_parse(elf, elf_len, &info), 0);
    assert_int_equal(info.entry, ENTRY);
    /* The same notes read with 4-byte padding miss the entry. */
    ph[4].align = 4;
    write_headers();
    assert_int_not_equal(x86_pvh_parse(elf, elf_len, &info), 0);
}

static void test_elf_header_errors(void **state)
{
    x86_pvh_info_t info;

    (void)state;
    make_elf(8);
    assert_int_equal(x86_pvh_parse(elf, 63, &info), -X86_BOOT_E_ELF_TRUNCATED);
    assert_int_equal(x86_pvh_parse(NULL, 64, &info), -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_pvh_parse(elf, 64, NULL), -X86_BOOT_E_INVALID_ARG);
    elf[1] = 'e';
    expect_err(X86_BOOT_E_ELF_MAGIC, "ELF");
    make_elf(8), elf[4] = 1;
    expect_err(X86_BOOT_E_ELF_CLASS, "it is 1, want 2");
    make_elf(8), elf[5] = 2;
    expect_err(X86_BOOT_E_ELF_ENDIAN, "it is 2, want 1");
    make_elf(8), elf[6] = 0;
    expect_err(X86_BOOT_E_ELF_VERSION, "version");
    make_elf(8), put_le(elf + 20, 2, 4);
    expect_err(X86_BOOT_E_ELF_VERSION, "it is 2");
    make_elf(8), put_le(elf + 16, 3, 2); /* ET_DYN */
    expect_err(X86_BOOT_E_ELF_TYPE, "it is 3, want 2");
    make_elf(8), put_le(elf + 18, 3, 2); /* EM_386 */
    expect_err(X86_BOOT_E_ELF_MACHINE, "it is 3, want 62");
    make_elf(8), put_le(elf + 54, 32, 2);
    expect_err(X86_BOOT_E_ELF_PHENTSIZE, "it is 32, want 56");
    make_elf(8), put_le(elf + 56, 0, 2);
    expect_err(X86_BOOT_E_ELF_PHNUM, "is 0");
    make_elf(8), put_le(elf + 56, 0xffff, 2);
    expect_err(X86_BOOT_E_ELF_PHNUM, "65535");
}

static void test_phdr_table_outside(void **state)
{
    (void)state;
    make_elf(8);
    put_le(elf + 32, elf_len - 56 * 5 + 1, 8);
    expect_err(X86_BOOT_E_ELF_PHDRS, "5 at 0x5ee9");
    make_elf(8);
    put_le(elf + 32, UINT64_MAX - 8, 8); /* wraps */
    expect_err(X86_BOOT_E_ELF_PHDRS, "run past");
    /* phnum large: the table is bigger than the file. */
    make_elf(8);
    put_le(elf + 56, 0xfffe, 2);
    expect_err(X86_BOOT_E_ELF_PHDRS, "65534");
}

static void test_segment_errors(void **state)
{
    (void)state;
    make_elf(8), ph[1].filesz = 0x5001, ph[1].memsz = 0x6000, write_headers();
    expect_err(X86_BOOT_E_ELF_SEGMENT, "program header 1: 0x5001 bytes at offset 0x1000");
    make_elf(8), ph[1].offset = UINT64_MAX - 0xfff, write_headers();
    expect_err(X86_BOOT_E_ELF_SEGMENT, "program header 1");
    make_elf(8), ph[4].offset = elf_len - 4, write_headers();
    expect_err(X86_BOOT_E_ELF_SEGMENT, "program header 4"); /* the PT_NOTE */
    make_elf(8), ph[0].filesz = 0x10001, write_headers();
    expect_err(X86_BOOT_E_ELF_FILESZ, "p_filesz 0x10001 exceeds p_memsz 0x10000");
    make_elf(8), ph[2].memsz = 0, write_headers(); /* filesz 0x100 > memsz 0 */
    expect_err(X86_BOOT_E_ELF_FILESZ, "program header 2");
    make_elf(8), ph[3].memsz = 4 * GiB - 0x1400000 + 1, write_headers();
    expect_err(X86_BOOT_E_ELF_ABOVE_4G, "paddr 0x1400000");
    make_elf(8), ph[3].paddr = UINT64_MAX - 0xfff, write_headers();
    expect_err(X86_BOOT_E_ELF_ABOVE_4G, "program header 3");
    /* Overlaps with the segment before and after in paddr order. */
    make_elf(8), ph[2].paddr = 0x1200000 + 0xf000, write_headers();
    expect_err(X86_BOOT_E_ELF_OVERLAP, "overlaps the one at 0x1200000");
    make_elf(8), ph[1].paddr = 0x1200000 - 0x1000, write_headers();
    expect_err(X86_BOOT_E_ELF_OVERLAP, "program header 1");
    make_elf(8), ph[2].paddr = 0x1200000, write_headers(); /* same start */
    expect_err(X86_BOOT_E_ELF_OVERLAP, "0x1200000");
}

static void test_segment_count(void **state)
{
    x86_pvh_info_t info;

    (void)state;
    /* Empty PT_LOADs are skipped; 16 real ones are fine, 17 are not. */
    make_elf(8);
    ph[nr_ph++] = (ph_t){PT_LOAD, 0, 0x9000000, 0, 0, 0};
    for (unsigned i = 0; i < 12; i++)
        ph[nr_ph++] = (ph_t){PT_LOAD, 0x5000, 0x4000000 + i * MiB, 0x100, 0x1000, 0};
    write_headers();
    assert_int_equal(x86_pvh_parse(elf, elf_len, &info), 0);
    assert_int_equal(info.nr_segments, 16);
    assert_int_equal(info.end, 0x4000000 + 11 * MiB + 0x1000);
    for (unsigned i = 1; i < info.nr_segments; i++)
        assert_true(info.segments[i].paddr >=
                    info.segments[i - 1].paddr + info.segments[i - 1].memsz);
    ph[nr_ph++] = (ph_t){PT_LOAD, 0x5000, 0x8000000, 0x100, 0x1000, 0};
    write_headers();
    expect_err(X86_BOOT_E_ELF_TOO_MANY_SEGMENTS, "more than 16");
    /* Nothing to load. */
    make_elf(8);
    ph[0] = ph[4];
    nr_ph = 1;
    write_headers();
    expect_err(X86_BOOT_E_ELF_NO_SEGMENTS, "nothing to load");
}

static void test_note_errors(void **state)
{
    uint8_t *xen_entry_note;

    (void)state;
    /* namesz running past the segment. */
    make_elf(8);
    put_le(elf + 0x800, 0x10000, 4);
    expect_err(X86_BOOT_E_ELF_NOTE, "namesz 65536");
    /* descsz running past the segment, and near 2^32 (no wrap). */
    make_elf(8);
    put_le(elf + 0x804, ph[4].filesz, 4);
    expect_err(X86_BOOT_E_ELF_NOTE, "the note at 0x0");
    make_elf(8);
    put_le(elf + 0x804, 0xffffffff, 4);
    expect_err(X86_BOOT_E_ELF_NOTE, "descsz 4294967295");
    /* Trailing bytes shorter than a note header are padding. */
    make_elf(8);
    ph[4].filesz += 11;
    write_headers();
    assert_int_equal(x86_pvh_parse(elf, elf_len, &(x86_pvh_info_t){0}), 0);

    /* The entry note: GNU (12 + 4 + 20), Xen 6 (12 + 4 + 8), then ours. */
    make_elf(8);
    xen_entry_note = elf + 0x800 + 36 + 24;
    assert_int_equal(get_le(xen_entry_note + 8, 4), 18);
    put_le(xen_entry_note + 8, 17, 4);
    expect_err(X86_BOOT_E_PVH_NO_ENTRY, "PVH entry");
    make_elf(8);
    memcpy(xen_entry_note + 12, "Xem", 4);
    expect_err(X86_BOOT_E_PVH_NO_ENTRY, "XEN_ELFNOTE_PHYS32_ENTRY");
    make_elf(8);
    put_le(xen_entry_note + 4, 2, 4); /* descsz 2 */
    expect_err(X86_BOOT_E_PVH_ENTRY, "2-byte descriptor");
    make_elf(8);
    put_le(xen_entry_note + 16, 0x100000000ull + ENTRY, 8);
    expect_err(X86_BOOT_E_PVH_ENTRY, "0x101000850 is above 4 GiB");
    /* Inside a segment's BSS, not its file bytes: not code the loader copies. */
    make_elf(8);
    put_le(xen_entry_note + 16, 0x1200800, 8);
    expect_err(X86_BOOT_E_PVH_ENTRY, "0x1200800 lies in no loaded segment");
    make_elf(8);
    put_le(xen_entry_note + 16, 0x800000, 8);
    expect_err(X86_BOOT_E_PVH_ENTRY, "no loaded segment");
}

static void test_first_entry_note_wins(void **state)
{
    uint64_t other = 0x1000100;
    x86_pvh_info_t info;
    size_t pos;

    (void)state;
    make_elf(8);
    pos = 0x800 + ph[4].filesz;
    put_note(&pos, "Xen", X86_PVH_ELFNOTE_PHYS32_ENTRY, &other, 8, 4);
    ph[4].filesz = pos - 0x800;
    write_headers();
    assert_int_equal(x86_pvh_parse(elf, elf_len, &info), 0);
    assert_int_equal(info.entry, ENTRY);
}

/* ---- layout and start info ---- */

static x86_pvh_info_t vmlinux(void)
{
    x86_pvh_info_t info;

    make_elf(8);
    assert_int_equal(x86_pvh_parse(elf, elf_len, &info), 0);
    return info;
}

static void test_pvh_layout(void **state)
{
    x86_pvh_info_t k = vmlinux();
    x86_boot_layout_t l;
    char msg[256];

    (void)state;
    assert_int_equal(x86_pvh_layout(&k, 512 * MiB, 0, 20 * MiB + 1, 13, &l), 0);
    assert_int_equal(l.boot_params_addr, X86_BOOT_PVH_START_INFO_ADDR);
    assert_int_equal(l.cmdline_addr, X86_BOOT_CMDLINE_ADDR);
    assert_int_equal(l.cmdline_size, 14);
    assert_int_equal(l.entry, ENTRY);
    assert_int_equal(l.kernel_load_addr, 0x1000000);
    assert_int_equal(l.kernel_start, 0x1000000);
    assert_int_equal(l.kernel_end, 0x3400000);
    assert_int_equal(l.initrd_addr, 512 * MiB - 20 * MiB - 4096);
    /* Never above 4 GiB, even with high RAM. */
    assert_int_equal(x86_pvh_layout(&k, 64 * MiB, 8 * GiB, 40 * MiB, 13, &l), -X86_BOOT_E_NO_ROOM);
    assert_int_equal(l.ram_needed, 0x3400000 + 40 * MiB);
    assert_int_equal(x86_pvh_layout(&k, 3 * GiB, 8 * GiB, 4 * GiB, 13, &l),
                     -X86_BOOT_E_INITRD_TOO_BIG);
    /* The kernel itself must fit low RAM. */
    assert_int_equal(x86_pvh_layout(&k, 0x3400000 - 1, 0, 0, 0, &l), -X86_BOOT_E_NO_ROOM);
    assert_int_equal(x86_pvh_layout(&k, 0x3400000, 0, 0, 0, &l), 0);
    /* Below 1 MiB is the boot area. */
    k.start = 0xf0000;
    assert_int_equal(x86_pvh_layout(&k, GiB, 0, 0, 0, &l), -X86_BOOT_E_KERNEL_LOW);
    x86_boot_layout_describe(-X86_BOOT_E_KERNEL_LOW, &l, msg, sizeof(msg));
    assert_non_null(strstr(msg, "0xf0000"));
    k = vmlinux();
    assert_int_equal(x86_pvh_layout(&k, GiB, 0, 0, X86_BOOT_CMDLINE_MAX - 1, &l), 0);
    assert_int_equal(x86_pvh_layout(&k, GiB, 0, 0, X86_BOOT_CMDLINE_MAX, &l),
                     -X86_BOOT_E_CMDLINE_TOO_LONG);
    assert_int_equal(x86_pvh_layout(&k, 5 * GiB, 0, 0, 0, &l), -X86_BOOT_E_RAM_MAP);
    assert_int_equal(x86_pvh_layout(NULL, GiB, 0, 0, 0, &l), -X86_BOOT_E_INVALID_ARG);
    k.nr_segments = 0;
    assert_int_equal(x86_pvh_layout(&k, GiB, 0, 0, 0, &l), -X86_BOOT_E_INVALID_ARG);
}

static const x86_e820_entry_t e820[] = {
    {0, 0x9fc00, X86_E820_RAM},
    {0x9fc00, 0x60400, X86_E820_RESERVED},
    {0x100000, 511 * MiB, X86_E820_RAM},
};

static void test_start_info(void **state)
{
    x86_pvh_info_t k = vmlinux();
    x86_boot_layout_t l;
    static uint8_t buf[X86_PVH_START_INFO_MAX_SIZE];
    const uint64_t gpa = X86_BOOT_PVH_START_INFO_ADDR;
    int n;

    (void)state;
    assert_int_equal(x86_pvh_layout(&k, 512 * MiB, 0, 20 * MiB, 13, &l), 0);
    memset(buf, 0xaa, sizeof(buf));
    n = x86_pvh_start_info_build(buf, sizeof(buf), gpa, &l, e820, 3, 0xe0000);
    assert_int_equal(n, 56 + 32 + 3 * 24);
    /* Offsets from start_info.h's picture. */
    assert_int_equal(get_le(buf + 0, 4), 0x336ec578);
    assert_int_equal(get_le(buf + 4, 4), 1);
    assert_int_equal(get_le(buf + 8, 4), 0);
    assert_int_equal(get_le(buf + 12, 4), 1);
    assert_int_equal(get_le(buf + 16, 8), gpa + 56);
    assert_int_equal(get_le(buf + 24, 8), X86_BOOT_CMDLINE_ADDR);
    assert_int_equal(get_le(buf + 32, 8), 0xe0000);
    assert_int_equal(get_le(buf + 40, 8), gpa + 88);
    assert_int_equal(get_le(buf + 48, 4), 3);
    assert_int_equal(get_le(buf + 52, 4), 0);
    /* The module. */
    assert_int_equal(get_le(buf + 56, 8), l.initrd_addr);
    assert_int_equal(get_le(buf + 64, 8), 20 * MiB);
    assert_int_equal(get_le(buf + 72, 8), 0);
    assert_int_equal(get_le(buf + 80, 8), 0);
    /* The memory map: E820 types, reserved 0. */
    assert_int_equal(get_le(buf + 88 + 24, 8), 0x9fc00);
    assert_int_equal(get_le(buf + 88 + 24 + 8, 8), 0x60400);
    assert_int_equal(get_le(buf + 88 + 24 + 16, 4), X86_E820_RESERVED);
    assert_int_equal(get_le(buf + 88 + 24 + 20, 4), 0);
    assert_int_equal(get_le(buf + 88 + 48, 8), 0x100000);
    assert_int_equal(buf[n], 0xaa); /* nothing written past it */

    /* No initrd: no module, the map right after the structure. */
    assert_int_equal(x86_pvh_layout(&k, 512 * MiB, 0, 0, 0, &l), 0);
    n = x86_pvh_start_info_build(buf, sizeof(buf), 0x8000, &l, e820, 3, 0);
    assert_int_equal(n, 56 + 3 * 24);
    assert_int_equal(get_le(buf + 12, 4), 0);
    assert_int_equal(get_le(buf + 16, 8), 0);
    assert_int_equal(get_le(buf + 32, 8), 0);
    assert_int_equal(get_le(buf + 40, 8), 0x8000 + 56);
    assert_int_equal(get_le(buf + 56, 8), 0);
    assert_int_equal(get_le(buf + 56 + 8, 8), 0x9fc00);
}

static void test_start_info_errors(void **state)
{
    x86_pvh_info_t k = vmlinux();
    x86_boot_layout_t l;
    static uint8_t buf[X86_PVH_START_INFO_MAX_SIZE + 64];
    static x86_e820_entry_t many[X86_E820_MAX_ENTRIES + 1];

    (void)state;
    assert_int_equal(x86_pvh_layout(&k, 512 * MiB, 0, 20 * MiB, 13, &l), 0);
    assert_int_equal(x86_pvh_start_info_build(buf, 56 + 32 + 3 * 24 - 1, 0x6000, &l, e820, 3, 0),
                     -X86_BOOT_E_BUFFER_TOO_SMALL);
    assert_int_equal(x86_pvh_start_info_build(buf, 56 + 32 + 3 * 24, 0x6000, &l, e820, 3, 0),
                     56 + 32 + 3 * 24);
    assert_int_equal(x86_pvh_start_info_build(buf, sizeof(buf), 4 * GiB - 100, &l, e820, 3, 0),
                     -X86_BOOT_E_ABOVE_4G);
    assert_int_equal(x86_pvh_start_info_build(buf, sizeof(buf), UINT64_MAX - 10, &l, e820, 3, 0),
                     -X86_BOOT_E_ABOVE_4G);
    assert_int_equal(x86_pvh_start_info_build(buf, sizeof(buf), 0x6000, &l, e820, 0, 0),
                     -X86_BOOT_E_E820_NO_RAM);
    for (unsigned i = 0; i < X86_E820_MAX_ENTRIES + 1; i++)
        many[i] = (x86_e820_entry_t){i * 2 * MiB, MiB, X86_E820_RAM};
    assert_int_equal(
        x86_pvh_start_info_build(buf, sizeof(buf), 0x6000, &l, many, X86_E820_MAX_ENTRIES + 1, 0),
        -X86_BOOT_E_E820_TOO_MANY);
    assert_int_equal(
        x86_pvh_start_info_build(buf, sizeof(buf), 0x6000, &l, many, X86_E820_MAX_ENTRIES, 0),
        (int)X86_PVH_START_INFO_MAX_SIZE);
    assert_int_equal(x86_pvh_start_info_build(NULL, sizeof(buf), 0x6000, &l, e820, 3, 0),
                     -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_pvh_start_info_build(buf, sizeof(buf), 0x6000, NULL, e820, 3, 0),
                     -X86_BOOT_E_INVALID_ARG);
    assert_int_equal(x86_pvh_start_info_build(buf, sizeof(buf), 0x6000, &l, NULL, 3, 0),
                     -X86_BOOT_E_INVALID_ARG);
    /* A hand-made plan with the initrd above 4 GiB (Linux reads 32 bits). */
    l.initrd_addr = 4 * GiB;
    assert_int_equal(x86_pvh_start_info_build(buf, sizeof(buf), 0x6000, &l, e820, 3, 0),
                     -X86_BOOT_E_ABOVE_4G);
}

static void test_describe_fallback(void **state)
{
    char msg[128];

    (void)state;
    make_elf(8);
    /* The file parses: an error it does not give is named plainly. */
    x86_pvh_describe(-X86_BOOT_E_ELF_OVERLAP, elf, elf_len, msg, sizeof(msg));
    assert_string_equal(msg, x86_boot_strerror(X86_BOOT_E_ELF_OVERLAP));
    x86_pvh_describe(-X86_BOOT_E_INVALID_ARG, NULL, 0, msg, sizeof(msg));
    assert_string_equal(msg, x86_boot_strerror(X86_BOOT_E_INVALID_ARG));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vmlinux),     cmocka_unit_test(test_notes_aligned_8),
        cmocka_unit_test(test_elf_header_errors), cmocka_unit_test(test_phdr_table_outside),
        cmocka_unit_test(test_segment_errors),    cmocka_unit_test(test_segment_count),
        cmocka_unit_test(test_note_errors),       cmocka_unit_test(test_first_entry_note_wins),
        cmocka_unit_test(test_pvh_layout),        cmocka_unit_test(test_start_info),
        cmocka_unit_test(test_start_info_errors), cmocka_unit_test(test_describe_fallback),
    };

    return cmocka_run_group_tests_name("x86_pvh", tests, NULL, NULL);
}
