/*
 * x86_boot.h - the x86 Linux boot protocol: bzImage header, boot memory
 * plan, zero page, E820 map, and the PVH entry of an ELF vmlinux.
 *
 * An x86_64 Linux kernel is booted here without firmware, in one of two ways:
 *
 *  - a bzImage (the "vmlinuz" distributions ship) through the 64-bit boot
 *    protocol of Linux Documentation/arch/x86/boot.rst ("boot.rst" below):
 *    the file opens with real-mode setup code carrying a "setup header" at
 *    0x1F1 that says where the protected-mode kernel behind it wants to sit,
 *    how much memory it needs while it decompresses itself (init_size), how
 *    high an initrd may go and how long a command line may be.  The loader
 *    copies the protected-mode kernel into RAM, fills a 4 KiB "zero page"
 *    (struct boot_params, Documentation/arch/x86/zero-page.rst) with a copy
 *    of the setup header, the command line and initrd addresses and the
 *    E820 memory map, and enters the kernel in long mode at its load address
 *    + 0x200 with RSI = the zero page;
 *  - an uncompressed ELF vmlinux through the PVH boot ABI (Xen's
 *    docs/misc/pvh.pandoc, used by other VMMs as well): an ELF note of type
 *    XEN_ELFNOTE_PHYS32_ENTRY gives a 32-bit entry point, the PT_LOAD
 *    segments go to their physical addresses, and EBX points at a struct
 *    hvm_start_info (xen/include/public/arch-x86/hvm/start_info.h) holding
 *    the command line, the initrd as a module and an E820-typed memory map.
 *
 * This module is pure: no I/O, no allocation, no hypervisor.  The board reads the
 * first bytes of the kernel file and calls x86_bzimage_parse() (or
 * x86_pvh_parse() on a whole ELF file), then x86_boot_layout() (or
 * x86_pvh_layout()) to learn where everything goes, x86_e820_build() for the
 * memory map, and x86_boot_params_build() (or x86_pvh_start_info_build()) for
 * the page the kernel finds its parameters in; then it copies the pieces to
 * the addresses it got back and sets up the vCPU.
 *
 * Low memory is laid out the same way for every x86 boot (the X86_BOOT_*
 * addresses below; the plan never puts anything else there):
 *
 *   0x0_0000  real-mode IVT and BIOS data area: left alone (E820 RAM)
 *   0x0_6000  PVH: hvm_start_info, its module list and memory map (a page)
 *   0x0_7000  bzImage: the zero page (struct boot_params)
 *   0x0_8000  the boot stack (RSP = 0x9000 at entry; grows down)
 *   0x0_9000  the board's GDT (__BOOT_CS 0x10, __BOOT_DS 0x18)
 *   0x0_a000  the board's identity page tables: 6 pages, enough to map the
 *             first 4 GiB with 2 MiB pages (PML4, PDPT, four PDs)
 *   0x1_0000  free
 *   0x2_0000  the kernel command line (up to 64 KiB with its NUL)
 *   0x3_0000  free, up to 0x9_f000
 *   0x9_fc00  EBDA, VGA hole, option ROMs and the BIOS area up to 1 MiB:
 *             reserved in E820; the ACPI and MP tables go at 0xe_0000-0xf_ffff
 *   0x10_0000 and up: the kernel (bzImage: at pref_address, normally
 *             16 MiB), then free RAM, the initrd at the top of low RAM
 *
 * The kernel, the zero page and the command line all lie below 4 GiB, so
 * identity page tables for the first 4 GiB are all the 64-bit entry needs
 * (boot.rst, "64-bit Boot Protocol").  Only an initrd may go above 4 GiB,
 * and only when the kernel says it can take one there.
 *
 * Errors are negative values of x86_boot_err_t; x86_boot_strerror() names
 * each in one line; the *_describe() functions write a sentence that also
 * carries the numbers (which field, what value, what would be right, how
 * much RAM is needed).
 */
#ifndef VMMKIT_X86_BOOT_H
#define VMMKIT_X86_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Fixed low addresses (see the map above) ---------------------------- */

#define X86_BOOT_PVH_START_INFO_ADDR 0x6000ull /* PVH: EBX at entry */
#define X86_BOOT_ZERO_PAGE_ADDR 0x7000ull      /* bzImage: RSI at entry */
#define X86_BOOT_STACK_TOP 0x9000ull           /* RSP at entry (stack 0x8000-0x8fff) */
#define X86_BOOT_GDT_ADDR 0x9000ull            /* one page for the board's GDT */
#define X86_BOOT_PAGE_TABLES_ADDR 0xa000ull    /* the board's identity page tables */
#define X86_BOOT_PAGE_TABLES_SIZE 0x6000ull    /* = VM_X86_IDENTITY_PT_BYTES(4 GiB) */
#define X86_BOOT_CMDLINE_ADDR 0x20000ull       /* the command line, NUL-terminated */
#define X86_BOOT_CMDLINE_MAX 0x10000ull        /* bytes of room there, NUL included */
#define X86_BOOT_EBDA_ADDR 0x9fc00ull          /* E820-reserved from here ... */
#define X86_BOOT_BIOS_END 0x100000ull          /* ... to 1 MiB */
#define X86_BOOT_KERNEL_MIN_ADDR 0x100000ull   /* nothing of the kernel goes lower */
#define X86_BOOT_4G 0x100000000ull             /* high RAM starts here */

/* The 64-bit entry is this far into the protected-mode kernel (boot.rst). */
#define X86_BZIMAGE_ENTRY64_OFFSET 0x200ull
/*
 * Read this many bytes of a kernel file for x86_bzimage_parse(): the setup
 * header always lies in the first two sectors (boot.rst, "The Real-Mode
 * Kernel Header": "the boot loader may choose to load only the first two
 * sectors (1K) and then examine the bootup sector size").
 */
#define X86_BZIMAGE_PROBE_SIZE 1024u

/* Setup header offsets in the file (and in boot_params), boot.rst. */
#define X86_BZIMAGE_HDR_OFFSET 0x1f1u  /* setup_sects: where the header starts */
#define X86_BZIMAGE_BOOT_FLAG 0xaa55u  /* at 0x1FE */
#define X86_BZIMAGE_HDRS 0x53726448u   /* "HdrS" at 0x202 */
#define X86_BZIMAGE_MIN_VERSION 0x020c /* 2.12: xloadflags, the 64-bit entry */

/* loadflags (boot.rst, "loadflags"). */
#define X86_LOADFLAG_LOADED_HIGH (1u << 0)
#define X86_LOADFLAG_KASLR (1u << 1)
#define X86_LOADFLAG_QUIET (1u << 5)
#define X86_LOADFLAG_KEEP_SEGMENTS (1u << 6)
#define X86_LOADFLAG_CAN_USE_HEAP (1u << 7)

/* xloadflags (boot.rst, "xloadflags"). */
#define X86_XLF_KERNEL_64 (1u << 0)
#define X86_XLF_CAN_BE_LOADED_ABOVE_4G (1u << 1)
#define X86_XLF_EFI_HANDOVER_32 (1u << 2)
#define X86_XLF_EFI_HANDOVER_64 (1u << 3)
#define X86_XLF_EFI_KEXEC (1u << 4)

/* type_of_loader for a loader without an assigned ID (boot.rst). */
#define X86_BOOT_LOADER_TYPE_UNDEFINED 0xffu
/*
 * heap_end_ptr written to the zero page: boot.rst's "Sample Boot
 * Configuration" value (heap end 0xe000 - 0x200).  No setup code runs in the
 * 64-bit protocol; the field is set because boot.rst calls it obligatory.
 */
#define X86_BOOT_HEAP_END_PTR 0xde00u

/* E820 address range types (ACPI 6.5, 15.1 "Address Range Types"). */
#define X86_E820_RAM 1u
#define X86_E820_RESERVED 2u
#define X86_E820_ACPI 3u
#define X86_E820_NVS 4u
#define X86_E820_UNUSABLE 5u
#define X86_E820_DISABLED 6u
#define X86_E820_PMEM 7u
/* Entries the zero page holds (zero-page.rst: e820_table, 0x2D0/0xA00). */
#define X86_E820_MAX_ENTRIES 128u
/* Ranges x86_e820_build() takes at most. */
#define X86_E820_MAX_INPUT 256u

/* screen_info (include/uapi/linux/screen_info.h). */
#define X86_VIDEO_TYPE_VLFB 0x23u                  /* orig_video_isVGA: VESA linear fb */
#define X86_VIDEO_CAPABILITY_SKIP_QUIRKS (1u << 0) /* capabilities */
#define X86_VIDEO_CAPABILITY_64BIT_BASE (1u << 1)  /* ext_lfb_base is valid */
#define X86_VESA_ATTR_NOT_VGA (1u << 5) /* vesa_attributes: no VGA hardware (VBE 2.0, 4.4) */

/* PVH (xen/include/public/elfnote.h and arch-x86/hvm/start_info.h). */
#define X86_PVH_ELFNOTE_PHYS32_ENTRY 18u
#define X86_PVH_START_MAGIC 0x336ec578u /* "xEn3" with the 0x80 bit of the "E" set */
#define X86_PVH_START_VERSION 1u        /* the version with the memory map */
#define X86_PVH_MAX_SEGMENTS 16u        /* PT_LOAD segments x86_pvh_parse() keeps */

/* ---- Errors ------------------------------------------------------------- */

/* Why a kernel, a plan or a table was refused.  Functions return the negative. */
typedef enum x86_boot_err {
    X86_BOOT_OK = 0,
    X86_BOOT_E_INVALID_ARG = 1, /* NULL pointer or a nonsensical argument */
    /* bzImage setup header (x86_bzimage_parse) */
    X86_BOOT_E_TRUNCATED = 2,         /* the buffer ends before the setup header does */
    X86_BOOT_E_BOOT_FLAG = 3,         /* no 0xAA55 at 0x1FE */
    X86_BOOT_E_NO_HDRS = 4,           /* no "HdrS" at 0x202: not a bzImage */
    X86_BOOT_E_PROTOCOL = 5,          /* boot protocol older than 2.12 */
    X86_BOOT_E_HEADER_SIZE = 6,       /* the jump at 0x200 ends the header outside 0x264-0x290 */
    X86_BOOT_E_SYSSIZE = 7,           /* syssize 0: no protected-mode kernel */
    X86_BOOT_E_FILE_TRUNCATED = 8,    /* file shorter than setup + syssize * 16 */
    X86_BOOT_E_NOT_LOADED_HIGH = 9,   /* loadflags LOADED_HIGH clear: a zImage */
    X86_BOOT_E_NO_64BIT_ENTRY = 10,   /* xloadflags XLF_KERNEL_64 clear */
    X86_BOOT_E_KERNEL_ALIGNMENT = 11, /* not a power of two in 4 KiB .. 1 GiB */
    X86_BOOT_E_MIN_ALIGNMENT = 12,    /* 1 << min_alignment above kernel_alignment */
    X86_BOOT_E_PREF_ADDRESS = 13,     /* below 1 MiB, misaligned, or wrapping with init_size */
    X86_BOOT_E_INIT_SIZE = 14,        /* init_size smaller than the kernel */
    X86_BOOT_E_INITRD_ADDR_MAX = 15,  /* initrd_addr_max below 1 MiB */
    X86_BOOT_E_CMDLINE_SIZE = 16,     /* cmdline_size 0 */
    /* the boot memory plan (x86_boot_layout, x86_pvh_layout) */
    X86_BOOT_E_RAM_MAP = 17,          /* low RAM ending above 4 GiB, or high RAM wrapping */
    X86_BOOT_E_NO_ROOM = 18,          /* low RAM too small for kernel (+ initrd) */
    X86_BOOT_E_INITRD_TOO_BIG = 19,   /* the initrd fits nowhere the kernel can take it */
    X86_BOOT_E_CMDLINE_TOO_LONG = 20, /* longer than cmdline_size or the room at 0x20000 */
    X86_BOOT_E_KERNEL_LOW = 21,       /* a PVH segment below 1 MiB (the boot area) */
    /* zero page and start info */
    X86_BOOT_E_ABOVE_4G = 22,         /* an address the kernel reads as 32 bits lies above 4 GiB */
    X86_BOOT_E_FRAMEBUFFER = 23,      /* framebuffer geometry or address is inconsistent */
    X86_BOOT_E_BUFFER_TOO_SMALL = 24, /* the start info does not fit the caller's buffer */
    /* E820 (x86_e820_build) */
    X86_BOOT_E_E820_ZERO_SIZE = 25, /* a range of size 0 */
    X86_BOOT_E_E820_WRAP = 26,      /* addr + size wraps 64 bits */
    X86_BOOT_E_E820_TYPE = 27,      /* type 0 */
    X86_BOOT_E_E820_TOO_MANY = 28,  /* more entries than the table holds */
    X86_BOOT_E_E820_NO_RAM = 29,    /* no RAM left in the map */
    /* ELF vmlinux (x86_pvh_parse) */
    X86_BOOT_E_ELF_TRUNCATED = 30,         /* shorter than the 64-byte ELF header */
    X86_BOOT_E_ELF_MAGIC = 31,             /* no "\x7fELF" */
    X86_BOOT_E_ELF_CLASS = 32,             /* not ELFCLASS64 */
    X86_BOOT_E_ELF_ENDIAN = 33,            /* not ELFDATA2LSB */
    X86_BOOT_E_ELF_VERSION = 34,           /* e_ident[EI_VERSION] or e_version not 1 */
    X86_BOOT_E_ELF_TYPE = 35,              /* not ET_EXEC */
    X86_BOOT_E_ELF_MACHINE = 36,           /* not EM_X86_64 */
    X86_BOOT_E_ELF_PHENTSIZE = 37,         /* e_phentsize not 56 */
    X86_BOOT_E_ELF_PHNUM = 38,             /* no program headers, or PN_XNUM */
    X86_BOOT_E_ELF_PHDRS = 39,             /* the program header table lies outside the file */
    X86_BOOT_E_ELF_SEGMENT = 40,           /* a segment's bytes lie outside the file */
    X86_BOOT_E_ELF_FILESZ = 41,            /* p_filesz > p_memsz */
    X86_BOOT_E_ELF_ABOVE_4G = 42,          /* a PT_LOAD segment wraps or ends above 4 GiB */
    X86_BOOT_E_ELF_OVERLAP = 43,           /* two PT_LOAD segments overlap in physical memory */
    X86_BOOT_E_ELF_TOO_MANY_SEGMENTS = 44, /* more than X86_PVH_MAX_SEGMENTS PT_LOADs */
    X86_BOOT_E_ELF_NO_SEGMENTS = 45,       /* no PT_LOAD segment with memory */
    X86_BOOT_E_ELF_NOTE = 46,              /* a note runs past its PT_NOTE segment */
    X86_BOOT_E_PVH_NO_ENTRY = 47,          /* no "Xen" note of type 18: no PVH entry */
    X86_BOOT_E_PVH_ENTRY = 48,             /* entry note of a bad size, or outside the segments */
    X86_BOOT_E_COUNT
} x86_boot_err_t;

/* ---- Boot ABI structures (checked against the specs below) -------------- */

/* One E820 entry as the zero page holds it (zero-page.rst; bootparam.h). */
typedef struct __attribute__((packed)) x86_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type; /* X86_E820_* */
} x86_e820_entry_t;

/* The setup header, at 0x1F1 of the file and of boot_params (boot.rst). */
typedef struct __attribute__((packed)) x86_setup_header {
    uint8_t setup_sects;            /* 0x1f1 */
    uint16_t root_flags;            /* 0x1f2 */
    uint32_t syssize;               /* 0x1f4 */
    uint16_t ram_size;              /* 0x1f8 */
    uint16_t vid_mode;              /* 0x1fa */
    uint16_t root_dev;              /* 0x1fc */
    uint16_t boot_flag;             /* 0x1fe */
    uint16_t jump;                  /* 0x200 */
    uint32_t header;                /* 0x202 */
    uint16_t version;               /* 0x206 */
    uint32_t realmode_swtch;        /* 0x208 */
    uint16_t start_sys_seg;         /* 0x20c */
    uint16_t kernel_version;        /* 0x20e */
    uint8_t type_of_loader;         /* 0x210 */
    uint8_t loadflags;              /* 0x211 */
    uint16_t setup_move_size;       /* 0x212 */
    uint32_t code32_start;          /* 0x214 */
    uint32_t ramdisk_image;         /* 0x218 */
    uint32_t ramdisk_size;          /* 0x21c */
    uint32_t bootsect_kludge;       /* 0x220 */
    uint16_t heap_end_ptr;          /* 0x224 */
    uint8_t ext_loader_ver;         /* 0x226 */
    uint8_t ext_loader_type;        /* 0x227 */
    uint32_t cmd_line_ptr;          /* 0x228 */
    uint32_t initrd_addr_max;       /* 0x22c */
    uint32_t kernel_alignment;      /* 0x230 */
    uint8_t relocatable_kernel;     /* 0x234 */
    uint8_t min_alignment;          /* 0x235 */
    uint16_t xloadflags;            /* 0x236 */
    uint32_t cmdline_size;          /* 0x238 */
    uint32_t hardware_subarch;      /* 0x23c */
    uint64_t hardware_subarch_data; /* 0x240 */
    uint32_t payload_offset;        /* 0x248 */
    uint32_t payload_length;        /* 0x24c */
    uint64_t setup_data;            /* 0x250 */
    uint64_t pref_address;          /* 0x258 */
    uint32_t init_size;             /* 0x260 */
    uint32_t handover_offset;       /* 0x264 */
    uint32_t kernel_info_offset;    /* 0x268 */
} x86_setup_header_t;

/* struct screen_info (include/uapi/linux/screen_info.h), 64 bytes. */
typedef struct __attribute__((packed)) x86_screen_info {
    uint8_t orig_x;             /* 0x00 */
    uint8_t orig_y;             /* 0x01 */
    uint16_t ext_mem_k;         /* 0x02 */
    uint16_t orig_video_page;   /* 0x04 */
    uint8_t orig_video_mode;    /* 0x06 */
    uint8_t orig_video_cols;    /* 0x07 */
    uint8_t flags;              /* 0x08 */
    uint8_t unused2;            /* 0x09 */
    uint16_t orig_video_ega_bx; /* 0x0a */
    uint16_t unused3;           /* 0x0c */
    uint8_t orig_video_lines;   /* 0x0e */
    uint8_t orig_video_isVGA;   /* 0x0f: X86_VIDEO_TYPE_VLFB */
    uint16_t orig_video_points; /* 0x10 */
    uint16_t lfb_width;         /* 0x12 */
    uint16_t lfb_height;        /* 0x14 */
    uint16_t lfb_depth;         /* 0x16: bits per pixel */
    uint32_t lfb_base;          /* 0x18 */
    uint32_t lfb_size;          /* 0x1c: in 64 KiB units for VIDEO_TYPE_VLFB */
    uint16_t cl_magic;          /* 0x20 */
    uint16_t cl_offset;         /* 0x22 */
    uint16_t lfb_linelength;    /* 0x24: bytes per line */
    uint8_t red_size;           /* 0x26 */
    uint8_t red_pos;            /* 0x27 */
    uint8_t green_size;         /* 0x28 */
    uint8_t green_pos;          /* 0x29 */
    uint8_t blue_size;          /* 0x2a */
    uint8_t blue_pos;           /* 0x2b */
    uint8_t rsvd_size;          /* 0x2c */
    uint8_t rsvd_pos;           /* 0x2d */
    uint16_t vesapm_seg;        /* 0x2e */
    uint16_t vesapm_off;        /* 0x30 */
    uint16_t pages;             /* 0x32 */
    uint16_t vesa_attributes;   /* 0x34 */
    uint32_t capabilities;      /* 0x36 */
    uint32_t ext_lfb_base;      /* 0x3a: lfb_base bits 32-63 */
    uint8_t reserved[2];        /* 0x3e */
} x86_screen_info_t;

/* struct boot_params, "the zero page" (zero-page.rst), 4096 bytes. */
typedef struct __attribute__((packed)) x86_boot_params {
    x86_screen_info_t screen_info;    /* 0x000 */
    uint8_t apm_bios_info[0x14];      /* 0x040 */
    uint8_t pad2[4];                  /* 0x054 */
    uint64_t tboot_addr;              /* 0x058 */
    uint8_t ist_info[0x10];           /* 0x060 */
    uint64_t acpi_rsdp_addr;          /* 0x070 */
    uint8_t pad3[8];                  /* 0x078 */
    uint8_t hd0_info[0x10];           /* 0x080 */
    uint8_t hd1_info[0x10];           /* 0x090 */
    uint8_t sys_desc_table[0x10];     /* 0x0a0 */
    uint8_t olpc_ofw_header[0x10];    /* 0x0b0 */
    uint32_t ext_ramdisk_image;       /* 0x0c0 */
    uint32_t ext_ramdisk_size;        /* 0x0c4 */
    uint32_t ext_cmd_line_ptr;        /* 0x0c8 */
    uint8_t pad4[0x70];               /* 0x0cc */
    uint32_t cc_blob_address;         /* 0x13c */
    uint8_t edid_info[0x80];          /* 0x140 */
    uint8_t efi_info[0x20];           /* 0x1c0 */
    uint32_t alt_mem_k;               /* 0x1e0 */
    uint32_t scratch;                 /* 0x1e4 */
    uint8_t e820_entries;             /* 0x1e8 */
    uint8_t eddbuf_entries;           /* 0x1e9 */
    uint8_t edd_mbr_sig_buf_entries;  /* 0x1ea */
    uint8_t kbd_status;               /* 0x1eb */
    uint8_t secure_boot;              /* 0x1ec */
    uint8_t pad5[2];                  /* 0x1ed */
    uint8_t sentinel;                 /* 0x1ef: 0 = the loader copied only the header */
    uint8_t pad6[1];                  /* 0x1f0 */
    x86_setup_header_t hdr;           /* 0x1f1 */
    uint8_t pad7[0x290 - 0x26c];      /* 0x26c */
    uint8_t edd_mbr_sig_buffer[0x40]; /* 0x290 */
    x86_e820_entry_t e820_table[X86_E820_MAX_ENTRIES]; /* 0x2d0 */
    uint8_t pad8[0x30];                                /* 0xcd0 */
    uint8_t eddbuf[0x1ec];                             /* 0xd00 */
    uint8_t pad9[0x114];                               /* 0xeec */
} x86_boot_params_t;

#define X86_ZERO_PAGE_SIZE 4096u

/* struct hvm_start_info (start_info.h), version 1. */
typedef struct x86_pvh_start_info {
    uint32_t magic;          /* 0x00: X86_PVH_START_MAGIC */
    uint32_t version;        /* 0x04 */
    uint32_t flags;          /* 0x08: SIF_* (0) */
    uint32_t nr_modules;     /* 0x0c */
    uint64_t modlist_paddr;  /* 0x10 */
    uint64_t cmdline_paddr;  /* 0x18 */
    uint64_t rsdp_paddr;     /* 0x20 */
    uint64_t memmap_paddr;   /* 0x28: version 1 */
    uint32_t memmap_entries; /* 0x30 */
    uint32_t reserved;       /* 0x34 */
} x86_pvh_start_info_t;

/* struct hvm_modlist_entry (start_info.h). */
typedef struct x86_pvh_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
} x86_pvh_modlist_entry_t;

/* struct hvm_memmap_table_entry (start_info.h); types are X86_E820_*. */
typedef struct x86_pvh_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
} x86_pvh_memmap_entry_t;

/* Bytes x86_pvh_start_info_build() writes at most: info, a module, 128 entries. */
#define X86_PVH_START_INFO_MAX_SIZE                                                                \
    (sizeof(x86_pvh_start_info_t) + sizeof(x86_pvh_modlist_entry_t) +                              \
     X86_E820_MAX_ENTRIES * sizeof(x86_pvh_memmap_entry_t))

#ifndef __cplusplus
_Static_assert(sizeof(x86_e820_entry_t) == 20, "boot_e820_entry is 20 bytes");
_Static_assert(sizeof(x86_screen_info_t) == 0x40, "screen_info is 64 bytes");
_Static_assert(offsetof(x86_screen_info_t, orig_video_isVGA) == 0x0f, "screen_info");
_Static_assert(offsetof(x86_screen_info_t, lfb_base) == 0x18, "screen_info");
_Static_assert(offsetof(x86_screen_info_t, lfb_linelength) == 0x24, "screen_info");
_Static_assert(offsetof(x86_screen_info_t, capabilities) == 0x36, "screen_info");
_Static_assert(offsetof(x86_screen_info_t, ext_lfb_base) == 0x3a, "screen_info");
_Static_assert(offsetof(x86_setup_header_t, boot_flag) == 0x1fe - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, header) == 0x202 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, type_of_loader) == 0x210 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, ramdisk_image) == 0x218 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, heap_end_ptr) == 0x224 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, cmd_line_ptr) == 0x228 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, kernel_alignment) == 0x230 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, xloadflags) == 0x236 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, cmdline_size) == 0x238 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, pref_address) == 0x258 - 0x1f1, "boot.rst");
_Static_assert(offsetof(x86_setup_header_t, init_size) == 0x260 - 0x1f1, "boot.rst");
_Static_assert(sizeof(x86_setup_header_t) == 0x26c - 0x1f1, "boot.rst: header to 0x26c");
_Static_assert(offsetof(x86_boot_params_t, acpi_rsdp_addr) == 0x070, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, ext_ramdisk_image) == 0x0c0, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, ext_ramdisk_size) == 0x0c4, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, ext_cmd_line_ptr) == 0x0c8, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, cc_blob_address) == 0x13c, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, edid_info) == 0x140, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, efi_info) == 0x1c0, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, e820_entries) == 0x1e8, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, sentinel) == 0x1ef, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, hdr) == 0x1f1, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, edd_mbr_sig_buffer) == 0x290, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, e820_table) == 0x2d0, "zero-page.rst");
_Static_assert(offsetof(x86_boot_params_t, eddbuf) == 0xd00, "zero-page.rst");
_Static_assert(sizeof(x86_boot_params_t) == X86_ZERO_PAGE_SIZE, "zero page is 4 KiB");
_Static_assert(sizeof(x86_pvh_start_info_t) == 56, "hvm_start_info v1 is 56 bytes");
_Static_assert(offsetof(x86_pvh_start_info_t, memmap_paddr) == 40, "start_info.h");
_Static_assert(offsetof(x86_pvh_start_info_t, memmap_entries) == 48, "start_info.h");
_Static_assert(sizeof(x86_pvh_modlist_entry_t) == 32, "hvm_modlist_entry is 32 bytes");
_Static_assert(sizeof(x86_pvh_memmap_entry_t) == 24, "hvm_memmap_table_entry is 24 bytes");
_Static_assert(X86_PVH_START_INFO_MAX_SIZE <= 4096, "the start info fits a page");
#endif

/* ---- bzImage ------------------------------------------------------------ */

/* What x86_bzimage_parse() learnt from a setup header. */
typedef struct x86_bzimage_info {
    uint16_t version;          /* boot protocol, e.g. 0x020f for 2.15 */
    uint8_t loadflags;         /* as read (LOADED_HIGH is always set) */
    uint16_t xloadflags;       /* as read (XLF_KERNEL_64 is always set) */
    uint32_t setup_sects;      /* effective: 0 in the header reads as 4 */
    uint32_t header_end;       /* 0x202 + the byte at 0x201: end of the setup header */
    uint64_t kernel_offset;    /* (setup_sects + 1) * 512: the protected-mode kernel */
    uint64_t kernel_size;      /* syssize * 16: bytes of it to copy from kernel_offset */
    uint64_t file_size;        /* the whole file (may carry a signature after the kernel) */
    bool relocatable;          /* relocatable_kernel != 0 */
    bool above_4g;             /* XLF_CAN_BE_LOADED_ABOVE_4G: the initrd may go high */
    uint64_t kernel_alignment; /* preferred alignment (power of two, 4 KiB .. 1 GiB) */
    uint64_t min_alignment;    /* in bytes: 1 << min_alignment, or kernel_alignment if 0 */
    uint64_t pref_address;     /* preferred (relocatable) or fixed run address; 0 = none */
    uint64_t init_size;        /* bytes from the run address the kernel needs to start */
    uint64_t initrd_addr_max;  /* highest byte an initrd may occupy */
    uint32_t cmdline_size;     /* longest command line, without its NUL */
    uint16_t kernel_version;   /* 0, or the version string's offset - 0x200 */
} x86_bzimage_info_t;

/*
 * Parse and check a bzImage's setup header (boot.rst, "The Real-Mode Kernel
 * Header" and "Details of Header Fields"), given only the file's first bytes
 * and its size, so the caller need not read the whole file.
 * @buf, @len:   the first bytes of the file; X86_BZIMAGE_PROBE_SIZE will do,
 *               at least through the header's end (0x202 + byte at 0x201).
 * @file_size:   the whole file's length in bytes.
 * @info:        filled on success; untouched on failure.
 * Refused, each with its own code: a short buffer or file, no 0xAA55 boot
 * flag, no "HdrS", a protocol older than 2.12, a header length (the jump
 * at 0x200) outside 0x264..0x290, syssize 0, a file that ends before
 * setup + syssize * 16, loadflags without LOADED_HIGH (zImage), xloadflags
 * without XLF_KERNEL_64, a kernel_alignment that is not a power of two in
 * 4 KiB..1 GiB, a min_alignment above it, a nonzero pref_address below 1 MiB
 * or not min-aligned or wrapping with init_size, an init_size smaller than
 * the kernel, an initrd_addr_max below 1 MiB, a cmdline_size of 0.
 * Bytes after setup + syssize * 16 (a signed kernel's signature) are ignored.
 * Returns 0 or a negative x86_boot_err_t.
 */
int x86_bzimage_parse(const void *buf, size_t len, uint64_t file_size, x86_bzimage_info_t *info);

/*
 * The kernel's version string ("6.1.0-... (debian-kernel@...) #1 SMP ..."),
 * found through the header's kernel_version field, for log lines.
 * @buf, @len: the bytes given to x86_bzimage_parse() (or more of the file).
 * Returns a NUL-terminated string inside @buf, or NULL when the header has
 * none, or it is not inside the setup code and @buf, or has no NUL there.
 */
const char *x86_bzimage_kernel_version(const void *buf, size_t len, const x86_bzimage_info_t *info);

/*
 * Write a sentence about @err, a result of x86_bzimage_parse(@buf, @len,
 * @file_size), with the offending field's value and what would be right,
 * e.g. "kernel_alignment 0x3000 (0x230) is not a power of two between
 * 4 KiB and 1 GiB", into @out (always NUL-terminated when @out_len > 0).
 * Returns the length snprintf() would have written.
 */
int x86_bzimage_describe(int err, const void *buf, size_t len, uint64_t file_size, char *out,
                         size_t out_len);

/* ---- The boot memory plan ----------------------------------------------- */

/* Where x86_boot_layout() / x86_pvh_layout() put things (guest-physical). */
typedef struct x86_boot_layout {
    uint64_t low_ram_end;      /* the RAM the plan is for, as given: [0, low_ram_end) */
    uint64_t high_ram_size;    /* and [4 GiB, 4 GiB + high_ram_size) */
    uint64_t boot_params_addr; /* zero page (RSI) or PVH start info (EBX) */
    uint64_t cmdline_addr;     /* X86_BOOT_CMDLINE_ADDR: write the command line here */
    uint64_t cmdline_size;     /* bytes to write there: its length + 1 (the NUL) */
    uint64_t cmdline_max;      /* longest command line allowed, without the NUL */
    uint64_t kernel_load_addr; /* bzImage: copy the protected-mode kernel here;
                                  PVH: the lowest segment's paddr */
    uint64_t kernel_start;     /* lowest byte the kernel owns while it starts */
    uint64_t kernel_end;       /* end of it: init_size from the run address */
    uint64_t entry;            /* bzImage: kernel_load_addr + 0x200, in 64-bit mode;
                                  PVH: the 32-bit entry from the ELF note */
    uint64_t initrd_addr;      /* page aligned; 0 when there is no initrd */
    uint64_t initrd_size;
    uint64_t initrd_limit; /* initrd_addr_max + 1 (bzImage) or 4 GiB (PVH): a low
                              initrd ends at or below it and low_ram_end */
    uint64_t ram_needed;   /* on X86_BOOT_E_NO_ROOM: the smallest low_ram_end that fits */
} x86_boot_layout_t;

/*
 * Plan guest RAM for a bzImage boot (boot.rst, "Loading The Rest of The
 * Kernel", "init_size", "64-bit Boot Protocol").
 * @img:           from x86_bzimage_parse().
 * @low_ram_end:   RAM is [0, low_ram_end), at most 4 GiB (the board's PCI
 *                 hole starts there) ...
 * @high_ram_size: ... plus [4 GiB, 4 GiB + high_ram_size), 0 for none.  The
 *                 board's E820 must make [1 MiB, low_ram_end) and the high
 *                 range RAM (x86_e820_is_ram() checks it).
 * @initrd_size:   bytes of initrd, 0 for none.
 * @cmdline_len:   the command line's length without its NUL.
 * @out:           filled on success; on failure (other than E_INVALID_ARG)
 *                 with what was known by then (the RAM given, the sizes
 *                 asked for, cmdline_max, kernel_start/end, initrd_limit,
 *                 ram_needed) for x86_boot_layout_describe().
 *
 * The plan:
 *  - the zero page, the command line and the board's GDT, stack and page
 *    tables at the fixed X86_BOOT_* addresses below 0x9f000;
 *  - a relocatable kernel is loaded at pref_address rounded up to
 *    kernel_alignment (1 MiB rounded up when pref_address is 0) and runs
 *    there: the decompressor never runs below pref_address anyway
 *    (arch/x86/boot/compressed/head_64.S), so lower would gain nothing;
 *  - a non-relocatable kernel is loaded at 1 MiB (bzImage, LOADED_HIGH) and
 *    runs at pref_address: it owns both ranges;
 *  - [kernel_start, kernel_end) covers the file's protected-mode kernel and
 *    init_size bytes from the run address, inside low RAM;
 *  - the initrd page aligned, as high as it can go below
 *    min(initrd_addr_max + 1, low_ram_end) and above kernel_end; when it
 *    does not fit there and the kernel sets XLF_CAN_BE_LOADED_ABOVE_4G, at
 *    the top of high RAM instead;
 *  - entry = kernel_load_addr + 0x200: the 64-bit entry, to be entered in
 *    long mode with the first 4 GiB identity-mapped, CS = __BOOT_CS (0x10),
 *    DS = ES = SS = __BOOT_DS (0x18), interrupts off, RSI = boot_params_addr.
 * Returns 0 or a negative x86_boot_err_t: E_NO_ROOM (out->ram_needed says
 * how much low RAM would do), E_INITRD_TOO_BIG (no amount of low RAM helps:
 * the initrd is bigger than the window below initrd_addr_max, and high RAM
 * is missing, too small, or not allowed), E_CMDLINE_TOO_LONG, E_RAM_MAP,
 * E_INVALID_ARG.
 */
int x86_boot_layout(const x86_bzimage_info_t *img, uint64_t low_ram_end, uint64_t high_ram_size,
                    uint64_t initrd_size, size_t cmdline_len, x86_boot_layout_t *out);

/*
 * Write a sentence about @err with the numbers from @layout into @buf
 * (always NUL-terminated when @len > 0), e.g. "guest RAM too small: kernel
 * and initrd need low RAM up to 92 MiB (96468992 bytes), it ends at 64 MiB".
 * @layout may be NULL (then this is x86_boot_strerror()).
 * Returns the length snprintf() would have written.
 */
int x86_boot_layout_describe(int err, const x86_boot_layout_t *layout, char *buf, size_t len);

/* ---- The zero page ------------------------------------------------------ */

/* A linear framebuffer to describe in screen_info (VESA VLFB). */
typedef struct x86_framebuffer {
    uint64_t base;        /* guest-physical; above 4 GiB sets CAPABILITY_64BIT_BASE */
    uint64_t size;        /* bytes (rounded up to 64 KiB in lfb_size) */
    uint16_t width;       /* pixels */
    uint16_t height;      /* pixels */
    uint16_t depth;       /* bits per pixel: 8, 15, 16, 24 or 32 */
    uint16_t line_length; /* bytes per line, >= width * bytes per pixel */
    uint8_t red_size, red_pos;
    uint8_t green_size, green_pos;
    uint8_t blue_size, blue_pos;
    uint8_t rsvd_size, rsvd_pos;
} x86_framebuffer_t;

/* What else the zero page can carry. */
typedef struct x86_boot_params_opts {
    uint64_t acpi_rsdp_addr;     /* 0: none (the kernel scans 0xe0000-0xfffff) */
    const x86_framebuffer_t *fb; /* NULL: none */
    bool quiet;                  /* set loadflags QUIET_FLAG */
} x86_boot_params_opts_t;

/*
 * Build the zero page (struct boot_params) for a 64-bit bzImage boot
 * (boot.rst, "64-bit Boot Protocol"; zero-page.rst).
 * @zp:        4096 bytes, written whole; copy them to layout->boot_params_addr.
 * @setup, @setup_len: the file's first bytes as given to x86_bzimage_parse();
 *             the setup header [0x1F1, img->header_end) is copied from them.
 * @img, @layout: from x86_bzimage_parse() and x86_boot_layout().
 * @e820, @nr_e820: the memory map (1 .. X86_E820_MAX_ENTRIES entries, as
 *             x86_e820_build() makes it), copied to e820_table at 0x2D0.
 * @opts:      may be NULL: no RSDP address, no framebuffer, not quiet.
 * The page is zeroed, then: the setup header; type_of_loader 0xFF;
 * loadflags with CAN_USE_HEAP set, KEEP_SEGMENTS clear, QUIET as asked;
 * heap_end_ptr X86_BOOT_HEAP_END_PTR; code32_start = the load address;
 * cmd_line_ptr (+ ext_cmd_line_ptr); ramdisk_image/size (+ the ext_ fields
 * for an initrd above 4 GiB); e820_entries/e820_table; acpi_rsdp_addr
 * (read by kernels since 5.0, harmless padding before); a VLFB screen_info.
 * The sentinel at 0x1EF stays 0: only the header is copied.
 * Returns 0 or a negative x86_boot_err_t: E_TRUNCATED (setup_len short of
 * the header), E_NO_HDRS (not the image @img came from), E_E820_TOO_MANY,
 * E_ABOVE_4G (an initrd above 4 GiB for a kernel without
 * XLF_CAN_BE_LOADED_ABOVE_4G, or a 32-bit-only address above 4 GiB),
 * E_FRAMEBUFFER, E_INVALID_ARG.
 */
int x86_boot_params_build(uint8_t zp[X86_ZERO_PAGE_SIZE], const void *setup, size_t setup_len,
                          const x86_bzimage_info_t *img, const x86_boot_layout_t *layout,
                          const x86_e820_entry_t *e820, size_t nr_e820,
                          const x86_boot_params_opts_t *opts);

/* ---- E820 --------------------------------------------------------------- */

/*
 * Build a sorted, non-overlapping E820 map from ranges of any type.
 * @in, @nr_in: the board's ranges: RAM (X86_E820_RAM) and non-RAM (the
 *              EBDA/BIOS area, ACPI tables, the ECAM window ...), in any
 *              order, overlapping as they like; 1 .. X86_E820_MAX_INPUT.
 * @out, @max_out: receives the map; @out may be NULL with @max_out 0 to
 *              count the entries only.
 * Where ranges overlap, the larger type number wins, as Linux's own E820
 * sanitizer decides (arch/x86/kernel/e820.c): RAM, type 1, always loses, so
 * RAM under a reserved range is split around it.  Adjacent or overlapping
 * pieces of one type are merged.
 * Returns the number of entries (> 0), or a negative x86_boot_err_t:
 * E_E820_ZERO_SIZE, E_E820_WRAP (addr + size beyond 2^64), E_E820_TYPE
 * (type 0), E_E820_TOO_MANY (the map needs more than @max_out entries; with
 * @out NULL never), E_E820_NO_RAM, E_INVALID_ARG.
 */
int x86_e820_build(const x86_e820_entry_t *in, size_t nr_in, x86_e820_entry_t *out, size_t max_out);

/*
 * True when every byte of [@addr, @addr + @size) is RAM in @map (as
 * x86_e820_build() made it); false for size 0 or a wrapping range.
 */
bool x86_e820_is_ram(const x86_e820_entry_t *map, size_t nr, uint64_t addr, uint64_t size);

/*
 * A sentence about @err, a result of x86_e820_build(@in, @nr_in, ...,
 * @max_out), naming the offending range or the entries needed, into @buf.
 * Returns the length snprintf() would have written.
 */
int x86_e820_describe(int err, const x86_e820_entry_t *in, size_t nr_in, size_t max_out, char *buf,
                      size_t len);

/* ---- PVH ---------------------------------------------------------------- */

/* A PT_LOAD segment to copy: file bytes [offset, offset + filesz) to paddr,
 * then zeroes up to paddr + memsz. */
typedef struct x86_pvh_segment {
    uint64_t paddr;
    uint64_t offset;
    uint64_t filesz;
    uint64_t memsz;
} x86_pvh_segment_t;

/* What x86_pvh_parse() learnt from an ELF vmlinux. */
typedef struct x86_pvh_info {
    uint32_t entry;       /* XEN_ELFNOTE_PHYS32_ENTRY: 32-bit protected-mode entry */
    unsigned nr_segments; /* PT_LOAD segments with memory, sorted by paddr */
    x86_pvh_segment_t segments[X86_PVH_MAX_SEGMENTS];
    uint64_t start; /* lowest segment paddr */
    uint64_t end;   /* highest segment paddr + memsz (<= 4 GiB) */
} x86_pvh_info_t;

/*
 * Parse and check an ELF vmlinux for its PVH entry.
 * @buf, @len: the whole file.
 * @info:      filled on success; untouched on failure.
 * Checked: the ELF64 header (ELFCLASS64, ELFDATA2LSB, version 1, ET_EXEC,
 * EM_X86_64, e_phentsize 56, 1 .. 0xfffe program headers inside the file);
 * every PT_LOAD with memory: its file bytes inside the file, p_filesz <=
 * p_memsz, physical range below 4 GiB, no overlap with another, at most
 * X86_PVH_MAX_SEGMENTS; every PT_NOTE inside the file, each note's header,
 * name and descriptor (padded to 4 bytes, or 8 when p_align is 8) inside
 * it.  The first note named "Xen" of type 18 gives the entry: a 4- or
 * 8-byte descriptor whose value is below 4 GiB and inside a loaded
 * segment's file bytes.
 * Returns 0 or a negative x86_boot_err_t (the E_ELF_* and E_PVH_* codes).
 */
int x86_pvh_parse(const void *buf, size_t len, x86_pvh_info_t *info);

/*
 * A sentence about @err, a result of x86_pvh_parse(@buf, @len), naming the
 * program header or note at fault and its numbers, into @out.
 * Returns the length snprintf() would have written.
 */
int x86_pvh_describe(int err, const void *buf, size_t len, char *out, size_t out_len);

/*
 * Plan guest RAM for a PVH boot: like x86_boot_layout(), with the segments
 * where the ELF file puts them.
 * @pvh:     from x86_pvh_parse().
 * Others as for x86_boot_layout(); the command line may be up to
 * X86_BOOT_CMDLINE_MAX - 1 bytes long (the kernel truncates what it cannot
 * take).
 * The plan: start info at X86_BOOT_PVH_START_INFO_ADDR, the command line at
 * X86_BOOT_CMDLINE_ADDR, [kernel_start, kernel_end) = the segments' span
 * (kernel_load_addr = kernel_start), which must lie in [1 MiB, low_ram_end),
 * the initrd page aligned at the top of low RAM above the kernel (Linux
 * reads the module's address as 32 bits, so never above 4 GiB),
 * entry = the note's entry: enter in 32-bit protected mode, paging off,
 * flat CS/DS/ES, EBX = boot_params_addr (pvh.pandoc).
 * Returns 0 or a negative x86_boot_err_t: E_KERNEL_LOW, E_NO_ROOM,
 * E_INITRD_TOO_BIG, E_CMDLINE_TOO_LONG, E_RAM_MAP, E_INVALID_ARG.
 */
int x86_pvh_layout(const x86_pvh_info_t *pvh, uint64_t low_ram_end, uint64_t high_ram_size,
                   uint64_t initrd_size, size_t cmdline_len, x86_boot_layout_t *out);

/*
 * Write the PVH start info: struct hvm_start_info (version 1), then a module
 * entry for the initrd (when layout->initrd_size), then the memory map.
 * @buf, @buf_len: where to write; X86_PVH_START_INFO_MAX_SIZE always does.
 * @buf_gpa:   the guest address @buf will be copied to (normally
 *             layout->boot_params_addr); the structure's pointers are
 *             computed from it and it must end below 4 GiB (EBX is 32 bits).
 * @layout:    from x86_pvh_layout(): command line and initrd.
 * @e820, @nr_e820: the memory map, 1 .. X86_E820_MAX_ENTRIES entries (Linux
 *             needs one outside Xen).
 * @rsdp_paddr: the ACPI RSDP, 0 for none.
 * Returns the bytes written (> 0), or a negative x86_boot_err_t:
 * E_BUFFER_TOO_SMALL, E_ABOVE_4G, E_E820_TOO_MANY, E_INVALID_ARG.
 */
int x86_pvh_start_info_build(void *buf, size_t buf_len, uint64_t buf_gpa,
                             const x86_boot_layout_t *layout, const x86_e820_entry_t *e820,
                             size_t nr_e820, uint64_t rsdp_paddr);

/* ---- Errors ------------------------------------------------------------- */

/*
 * One line naming an error, e.g. "no \"HdrS\" magic at 0x202: not a bzImage".
 * @err: 0 or a negative (or positive) x86_boot_err_t; unknown values get a
 *       generic text.  Never returns NULL.
 */
const char *x86_boot_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
