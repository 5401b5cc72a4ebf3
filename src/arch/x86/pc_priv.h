/*
 * pc_priv.h - what the x86 pc board's files share (not public).
 */
#ifndef VMMKIT_X86_PC_PRIV_H
#define VMMKIT_X86_PC_PRIV_H

#include <pthread.h>
#include <stdint.h>

#include <vmmkit/acpi_pm.h>
#include <vmmkit/cmos_rtc.h>
#include <vmmkit/framebuffer.h>
#include <vmmkit/i8042.h>
#include <vmmkit/ioports.h>
#include <vmmkit/log.h>
#include <vmmkit/uart_8250.h>
#include <vmmkit/x86_boot.h>
#include <vmmkit/x86_pc.h>

#include "board/board_priv.h"

/* Ranges the board gives x86_e820_build(): RAM (2), the BIOS area, the ECAM, the framebuffer. */
#define PC_E820_INPUTS 8u

/* Where everything goes in guest RAM, worked out from the files' sizes. */
typedef struct pc_plan {
    bool pvh;                              /* an ELF vmlinux through its PVH entry */
    x86_bzimage_info_t bz;                 /* !pvh */
    uint8_t setup[X86_BZIMAGE_PROBE_SIZE]; /* the bzImage's first bytes (its setup header) */
    x86_pvh_info_t elf;                    /* pvh */
    uint64_t kernel_size;                  /* file size */
    uint64_t initrd_size;
    uint64_t low_ram, high_ram; /* [0, low_ram) and [4 GiB, 4 GiB + high_ram) */
    const char *cmdline;        /* the configured one, or the board's default */
    x86_boot_layout_t layout;
    x86_e820_entry_t e820[X86_E820_MAX_ENTRIES];
    unsigned int nr_e820;
} pc_plan_t;

/* The board (x86_pc.h); its files share it. */
struct x86_pc {
    board_config_t cfg; /* paths are the caller's, not copied */
    pc_plan_t plan;
    board_layout_t layout;
    board_devices_t dev;
    vm_t *vm;

    /*
     * The legacy devices on ports: reached from vCPU threads (port exits)
     * and, for the UART, from the console input thread.  One lock for all
     * of them: they are slow by nature.  Their callbacks run under it and
     * never take it again.
     */
    pthread_mutex_t legacy_lock;
    uart_8250_t uart;
    i8042_t kbc;
    cmos_rtc_t rtc;
    int rtc_timer;         /* timerfd (CLOCK_REALTIME) for the RTC's interrupts */
    iothread_t *legacy_io; /* serves rtc_timer */
    acpi_pm_t pm;
    vmm_ratelimit_t pm_rl;
    const char *reset_by; /* what asked for the reset under way (atomic), NULL: none */
    uint32_t pci_addr;    /* CONFIG_ADDRESS (0xcf8), atomic */

    /* the linear framebuffer (pc_fb.c); fb.fd < 0: none */
    fb_t fb;
    vm_memory_reservation_t *fb_res;
};

/* The ACPI reset register (FADT RESET_REG): a byte port inside 0xcf8-0xcff, as on a PC. */
#define X86_PC_RESET_PORT 0xcf9u

/* pc.c: the guest powered off through @by (the ACPI PM's \_S5, ...). */
void pc_request_poweroff(x86_pc_t *pc, const char *by);
void pc_request_reset(x86_pc_t *pc, const char *by);

/*
 * pc_legacy.c: the CMOS RTC and the ACPI PM registers on their ports (under
 * legacy_lock); _reset under legacy_lock.  0 or -errno + @err.
 */
int pc_legacy_create(x86_pc_t *pc, char *err, size_t errlen);
void pc_legacy_reset(x86_pc_t *pc);
void pc_legacy_destroy(x86_pc_t *pc);
/* pc_pm.c: the ACPI PM block (x86_acpi.h); _reset under legacy_lock. */
int pc_pm_create(x86_pc_t *pc, char *err, size_t errlen);
void pc_pm_reset(x86_pc_t *pc);
/* A guest byte write to the reset register (0xcf9), from pc.c's PCI ports. */
void pc_pm_write_reset(x86_pc_t *pc, unsigned int value);

/*
 * pc_fb.c: the linear framebuffer (cfg.fb_width): its memory mapped at
 * X86_PC_FB_BASE; _describe fills @fb for the zero page (NULL: none).
 */
int pc_framebuffer_create(x86_pc_t *pc, char *err, size_t errlen);
const x86_framebuffer_t *pc_framebuffer_describe(const x86_pc_t *pc, x86_framebuffer_t *fb);
/* Make the zero page's framebuffer one Linux's efifb takes (it has no VESA driver). */
void pc_framebuffer_set_type(x86_boot_params_t *zp);
void pc_framebuffer_destroy(x86_pc_t *pc);

/*
 * pc_acpi.c: the ACPI tables (0xe0000) and the MP table (0xf0000) from the
 * board's real layout, written to guest RAM at every boot; the RSDP's
 * address in *@rsdp.  0 or -errno + @err.
 */
int pc_tables_write(x86_pc_t *pc, uint64_t *rsdp, char *err, size_t errlen);
/* The MP table at 0xf0000 (x86_mptable.h), for guests booted with acpi=off. */
int pc_mptable_write(x86_pc_t *pc, char *err, size_t errlen);

/* pc_images.c (pure: builds and runs on every host) */
/* The board's memory map for the shared devices of @cfg. */
void pc_layout(const board_config_t *cfg, board_layout_t *lay);
/* Check the files of @cfg and lay them out in RAM.  0 or -errno + @err. */
int pc_plan(const board_config_t *cfg, pc_plan_t *plan, char *err, size_t errlen);

#endif
