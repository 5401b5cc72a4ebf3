/*
 * pvh.c - an ELF vmlinux's PVH entry and the start info it is booted with.
 *
 * Specs: the ELF-64 Object File Format (headers, program headers, notes:
 * System V gABI, "Program Header" and "Note Section"); Xen's
 * docs/misc/pvh.pandoc (the entry state), xen/include/public/elfnote.h
 * (XEN_ELFNOTE_PHYS32_ENTRY = 18) and
 * xen/include/public/arch-x86/hvm/start_info.h (struct hvm_start_info,
 * version 1).  See include/vmmkit/x86_boot.h.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "boot_priv.h"

/* ELF64 header and program header fields (gABI, "ELF Header"). */
#define EI_CLASS 4
#define EI_DATA 5
#define EI_VERSION 6
#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_NOTE 4
#define PN_XNUM 0xffff
#define EHDR_SIZE 64
#define PHDR_SIZE 56

#define E_TYPE 16
#define E_MACHINE 18
#define E_VERSION 20
#define E_PHOFF 32
#define E_PHENTSIZE 54
#define E_PHNUM 56

#define P_TYPE 0
#define P_OFFSET 8
#define P_PADDR 24
#define P_FILESZ 32
#define P_MEMSZ 40
#define P_ALIGN 48

#define NOTE_HDR_SIZE 12

static int fail(x86_diag_t *diag, int err, unsigned index, uint64_t value, uint64_t limit,
                uint64_t extra)
{
    if (diag) {
        diag->index = index;
        diag->value = value;
        diag->limit = limit;
        diag->extra = extra;
    }
    return -err;
}

/* [off, off + size) lies inside a file of @len bytes. */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
    uint64_t end;

    return x86_add_ok(off, size, &end) && end <= len;
}

/*
 * Walk the notes of one PT_NOTE segment (gABI, "Note Section": namesz,
 * descsz, type, then name and descriptor, each padded to the note
 * alignment).  The first "Xen" note of type XEN_ELFNOTE_PHYS32_ENTRY sets
 * *entry.  @phi names the program header for messages.
 */
static int walk_notes(const uint8_t *seg, uint64_t size, uint64_t align, unsigned phi, bool *found,
                      uint32_t *entry, x86_diag_t *diag)
{
    uint64_t pos = 0;

    while (size - pos >= NOTE_HDR_SIZE) {
        const uint8_t *n = seg + pos;
        uint64_t namesz = x86_read_le(n, 4), descsz = x86_read_le(n + 4, 4);
        uint64_t type = x86_read_le(n + 8, 4);
        uint64_t name_off = pos + NOTE_HDR_SIZE, desc_off, next, v;

        /* 32-bit sizes padded in 64-bit arithmetic: no wrap. */
        desc_off = name_off + ((namesz + align - 1) & ~(align - 1));
        next = desc_off + ((descsz + align - 1) & ~(align - 1));
        if (name_off + namesz > size || desc_off + descsz > size)
            return fail(diag, X86_BOOT_E_ELF_NOTE, phi, pos, size, namesz << 32 | descsz);
        if (!*found && type == X86_PVH_ELFNOTE_PHYS32_ENTRY && namesz == 4 &&
            memcmp(seg + name_off, "Xen", 4) == 0) {
            /* Linux writes it with _ASM_PTR: 8 bytes on x86_64 (4 in older
             * kernels and other guests); either way a 32-bit address. */
            if (descsz == 4)
                v = x86_read_le(seg + desc_off, 4);
            else if (descsz == 8)
                v = x86_read_le(seg + desc_off, 8);
            else
                return fail(diag, X86_BOOT_E_PVH_ENTRY, phi, descsz, 0, 1);
            if (v >= X86_BOOT_4G)
                return fail(diag, X86_BOOT_E_PVH_ENTRY, phi, v, X86_BOOT_4G, 2);
            *entry = (uint32_t)v;
            *found = true;
        }
        if (next >= size)
            break;
        pos = next;
    }
    return 0;
}

/* Insert @s into the sorted segment list; refuse an overlap. */
static int add_segment(x86_pvh_info_t *out, const x86_pvh_segment_t *s, unsigned phi,
                       x86_diag_t *diag)
{
    unsigned i = out->nr_segments;

    if (i == X86_PVH_MAX_SEGMENTS)
        return fail(diag, X86_BOOT_E_ELF_TOO_MANY_SEGMENTS, phi, i + 1, X86_PVH_MAX_SEGMENTS, 0);
    while (i > 0 && out->segments[i - 1].paddr > s->paddr)
        i--;
    /* Neighbours in paddr order are the only candidates for an overlap. */
    if (i > 0 && out->segments[i - 1].paddr + out->segments[i - 1].memsz > s->paddr)
        return fail(diag, X86_BOOT_E_ELF_OVERLAP, phi, s->paddr, out->segments[i - 1].paddr,
                    out->segments[i - 1].memsz);
    if (i < out->nr_segments && s->paddr + s->memsz > out->segments[i].paddr)
        return fail(diag, X86_BOOT_E_ELF_OVERLAP, phi, s->paddr, out->segments[i].paddr,
                    out->segments[i].memsz);
    memmove(&out->segments[i + 1], &out->segments[i],
            (out->nr_segments - i) * sizeof(out->segments[0]));
    out->segments[i] = *s;
    out->nr_segments++;
    return 0;
}

int x86_pvh_parse_diag(const void *buf_in, size_t len, x86_pvh_info_t *info, x86_diag_t *diag)
{
    const uint8_t *buf = buf_in;
    x86_pvh_info_t out;
    uint64_t phoff, phnum, entry_ok = 0;
    bool found = false;
    uint32_t entry = 0;
    int ret;

    if (!buf_in || !info)
        return -X86_BOOT_E_INVALID_ARG;
    memset(&out, 0, sizeof(out));
    if (len < EHDR_SIZE)
        return fail(diag, X86_BOOT_E_ELF_TRUNCATED, 0, len, EHDR_SIZE, 0);
    if (memcmp(buf,
               "\x7f"
               "ELF",
               4) != 0)
        return fail(diag, X86_BOOT_E_ELF_MAGIC, 0, x86_read_le(buf, 4), 0, 0);
    if (buf[EI_CLASS] != ELFCLASS64)
        return fail(diag, X86_BOOT_E_ELF_CLASS, 0, buf[EI_CLASS], ELFCLASS64, 0);
    if (buf[EI_DATA] != ELFDATA2LSB)
        return fail(diag, X86_BOOT_E_ELF_ENDIAN, 0, buf[EI_DATA], ELFDATA2LSB, 0);
    if (buf[EI_VERSION] != EV_CURRENT || x86_read_le(buf + E_VERSION, 4) != EV_CURRENT)
        return fail(diag, X86_BOOT_E_ELF_VERSION, 0, x86_read_le(buf + E_VERSION, 4), EV_CURRENT,
                    0);
    if (x86_read_le(buf + E_TYPE, 2) != ET_EXEC)
        return fail(diag, X86_BOOT_E_ELF_TYPE, 0, x86_read_le(buf + E_TYPE, 2), ET_EXEC, 0);
    if (x86_read_le(buf + E_MACHINE, 2) != EM_X86_64)
        return fail(diag, X86_BOOT_E_ELF_MACHINE, 0, x86_read_le(buf + E_MACHINE, 2), EM_X86_64, 0);
    if (x86_read_le(buf + E_PHENTSIZE, 2) != PHDR_SIZE)
        return fail(diag, X86_BOOT_E_ELF_PHENTSIZE, 0, x86_read_le(buf + E_PHENTSIZE, 2), PHDR_SIZE,
                    0);
    /* PN_XNUM would put the real count in section header 0: no vmlinux does. */
    phnum = x86_read_le(buf + E_PHNUM, 2);
    if (phnum == 0 || phnum == PN_XNUM)
        return fail(diag, X86_BOOT_E_ELF_PHNUM, 0, phnum, 0, 0);
    phoff = x86_read_le(buf + E_PHOFF, 8);
    if (!in_file(phoff, phnum * PHDR_SIZE, len))
        return fail(diag, X86_BOOT_E_ELF_PHDRS, 0, phoff, len, phnum);

    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = buf + phoff + (uint64_t)i * PHDR_SIZE;
        uint64_t type = x86_read_le(ph + P_TYPE, 4);
        x86_pvh_segment_t s = {
            .paddr = x86_read_le(ph + P_PADDR, 8),
            .offset = x86_read_le(ph + P_OFFSET, 8),
            .filesz = x86_read_le(ph + P_FILESZ, 8),
            .memsz = x86_read_le(ph + P_MEMSZ, 8),
        };
        uint64_t end;

        if (type == PT_LOAD) {
            /* "The file size may not be larger than the memory size." */
            if (s.filesz > s.memsz)
                return fail(diag, X86_BOOT_E_ELF_FILESZ, i, s.filesz, s.memsz, 0);
            if (s.memsz == 0)
                continue;
            if (!in_file(s.offset, s.filesz, len))
                return fail(diag, X86_BOOT_E_ELF_SEGMENT, i, s.offset, len, s.filesz);
            /* The 32-bit entry runs with paging off: everything below 4 GiB. */
            if (!x86_add_ok(s.paddr, s.memsz, &end) || end > X86_BOOT_4G)
                return fail(diag, X86_BOOT_E_ELF_ABOVE_4G, i, s.paddr, X86_BOOT_4G, s.memsz);
            ret = add_segment(&out, &s, i, diag);
            if (ret < 0)
                return ret;
        } else if (type == PT_NOTE) {
            if (!in_file(s.offset, s.filesz, len))
                return fail(diag, X86_BOOT_E_ELF_SEGMENT, i, s.offset, len, s.filesz);
            ret = walk_notes(buf + s.offset, s.filesz, x86_read_le(ph + P_ALIGN, 8) == 8 ? 8 : 4, i,
                             &found, &entry, diag);
            if (ret < 0)
                return ret;
        }
    }
    if (out.nr_segments == 0)
        return fail(diag, X86_BOOT_E_ELF_NO_SEGMENTS, 0, 0, 0, 0);
    if (!found)
        return fail(diag, X86_BOOT_E_PVH_NO_ENTRY, 0, 0, 0, 0);
    /* The entry must be code the loader copies: inside a segment's file bytes. */
    for (unsigned i = 0; i < out.nr_segments; i++)
        if (entry >= out.segments[i].paddr &&
            entry - out.segments[i].paddr < out.segments[i].filesz)
            entry_ok = 1;
    if (!entry_ok)
        return fail(diag, X86_BOOT_E_PVH_ENTRY, 0, entry, 0, 3);

    out.entry = entry;
    out.start = out.segments[0].paddr;
    out.end = 0;
    for (unsigned i = 0; i < out.nr_segments; i++)
        if (out.segments[i].paddr + out.segments[i].memsz > out.end)
            out.end = out.segments[i].paddr + out.segments[i].memsz;
    *info = out;
    return 0;
}

int x86_pvh_parse(const void *buf, size_t len, x86_pvh_info_t *info)
{
    return x86_pvh_parse_diag(buf, len, info, NULL);
}

int x86_pvh_describe(int err, const void *buf, size_t len, char *out, size_t out_len)
{
    x86_pvh_info_t info;
    x86_diag_t d = {0};
    int r;

    if (err < 0)
        err = -err;
    r = x86_pvh_parse_diag(buf, len, &info, &d);
    if (-r != err)
        return snprintf(out, out_len, "%s", x86_boot_strerror(err));
    switch (err) {
    case X86_BOOT_E_ELF_TRUNCATED:
        return snprintf(out, out_len, "ELF file of %" PRIu64 " bytes is shorter than its header",
                        d.value);
    case X86_BOOT_E_ELF_CLASS:
    case X86_BOOT_E_ELF_ENDIAN:
    case X86_BOOT_E_ELF_VERSION:
    case X86_BOOT_E_ELF_TYPE:
    case X86_BOOT_E_ELF_MACHINE:
    case X86_BOOT_E_ELF_PHENTSIZE:
        return snprintf(out, out_len, "%s (it is %" PRIu64 ", want %" PRIu64 ")",
                        x86_boot_strerror(err), d.value, d.limit);
    case X86_BOOT_E_ELF_PHNUM:
        return snprintf(out, out_len, "ELF e_phnum is %" PRIu64 ": no usable program headers",
                        d.value);
    case X86_BOOT_E_ELF_PHDRS:
        return snprintf(out, out_len,
                        "ELF program headers (%" PRIu64 " at 0x%" PRIx64 ") run past the %" PRIu64
                        "-byte file",
                        d.extra, d.value, d.limit);
    case X86_BOOT_E_ELF_SEGMENT:
        return snprintf(out, out_len,
                        "program header %u: 0x%" PRIx64 " bytes at offset 0x%" PRIx64
                        " run past the %" PRIu64 "-byte file",
                        d.index, d.extra, d.value, d.limit);
    case X86_BOOT_E_ELF_FILESZ:
        return snprintf(out, out_len,
                        "program header %u: p_filesz 0x%" PRIx64 " exceeds p_memsz 0x%" PRIx64,
                        d.index, d.value, d.limit);
    case X86_BOOT_E_ELF_ABOVE_4G:
        return snprintf(out, out_len,
                        "program header %u: 0x%" PRIx64 " bytes at paddr 0x%" PRIx64
                        " end above 4 GiB",
                        d.index, d.extra, d.value);
    case X86_BOOT_E_ELF_OVERLAP:
        return snprintf(out, out_len,
                        "program header %u: segment at paddr 0x%" PRIx64 " overlaps the one at "
                        "0x%" PRIx64 " (0x%" PRIx64 " bytes)",
                        d.index, d.value, d.limit, d.extra);
    case X86_BOOT_E_ELF_TOO_MANY_SEGMENTS:
        return snprintf(out, out_len, "more than %" PRIu64 " PT_LOAD segments", d.limit);
    case X86_BOOT_E_ELF_NOTE:
        return snprintf(out, out_len,
                        "program header %u: the note at 0x%" PRIx64 " (namesz %" PRIu64
                        ", descsz %" PRIu64 ") runs past the 0x%" PRIx64 "-byte segment",
                        d.index, d.value, d.extra >> 32, d.extra & 0xffffffffu, d.limit);
    case X86_BOOT_E_PVH_ENTRY:
        if (d.extra == 1)
            return snprintf(out, out_len,
                            "program header %u: PVH entry note has a %" PRIu64
                            "-byte descriptor, not 4 or 8",
                            d.index, d.value);
        if (d.extra == 2)
            return snprintf(out, out_len,
                            "program header %u: PVH entry 0x%" PRIx64 " is above 4 GiB", d.index,
                            d.value);
        return snprintf(out, out_len, "PVH entry 0x%" PRIx64 " lies in no loaded segment", d.value);
    default:
        return snprintf(out, out_len, "%s", x86_boot_strerror(err));
    }
}

int x86_pvh_start_info_build(void *buf_in, size_t buf_len, uint64_t buf_gpa,
                             const x86_boot_layout_t *layout, const x86_e820_entry_t *e820,
                             size_t nr_e820, uint64_t rsdp_paddr)
{
    uint8_t *buf = buf_in;
    x86_pvh_start_info_t si = {0};
    x86_pvh_modlist_entry_t mod = {0};
    uint64_t need, off, end;

    if (!buf_in || !layout || !e820)
        return -X86_BOOT_E_INVALID_ARG;
    if (nr_e820 == 0)
        return -X86_BOOT_E_E820_NO_RAM;
    if (nr_e820 > X86_E820_MAX_ENTRIES)
        return -X86_BOOT_E_E820_TOO_MANY;
    need = sizeof(si) + (layout->initrd_size ? sizeof(mod) : 0) +
           nr_e820 * sizeof(x86_pvh_memmap_entry_t);
    if (buf_len < need)
        return -X86_BOOT_E_BUFFER_TOO_SMALL;
    /* EBX holds the start info's address, and Linux reads the command line
     * and the module's address into 32-bit boot_params fields. */
    if (!x86_add_ok(buf_gpa, need, &end) || end > X86_BOOT_4G ||
        !x86_add_ok(layout->cmdline_addr, layout->cmdline_size, &end) || end > X86_BOOT_4G ||
        (layout->initrd_size &&
         (!x86_add_ok(layout->initrd_addr, layout->initrd_size, &end) || end > X86_BOOT_4G)))
        return -X86_BOOT_E_ABOVE_4G;

    /* start_info.h: "nothing will be loaded at physical address 0, so a 0
     * value in any of the address fields should be treated as not present". */
    si.magic = X86_PVH_START_MAGIC;
    si.version = X86_PVH_START_VERSION;
    si.cmdline_paddr = layout->cmdline_addr;
    si.rsdp_paddr = rsdp_paddr;
    off = sizeof(si);
    if (layout->initrd_size) {
        si.nr_modules = 1;
        si.modlist_paddr = buf_gpa + off;
        mod.paddr = layout->initrd_addr;
        mod.size = layout->initrd_size;
        memcpy(buf + off, &mod, sizeof(mod));
        off += sizeof(mod);
    }
    /* Version 1: "memmap_paddr/memmap_entries ... can be used to pass a
     * memory map to the guest"; Linux outside Xen has no other source. */
    si.memmap_paddr = buf_gpa + off;
    si.memmap_entries = (uint32_t)nr_e820;
    for (size_t i = 0; i < nr_e820; i++) {
        x86_pvh_memmap_entry_t m = {
            .addr = e820[i].addr,
            .size = e820[i].size,
            .type = e820[i].type,
        };

        memcpy(buf + off, &m, sizeof(m));
        off += sizeof(m);
    }
    memcpy(buf, &si, sizeof(si));
    return (int)off;
}
