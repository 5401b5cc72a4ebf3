/*
 * pc_acpi.c - the x86 pc board's ACPI tables (x86_acpi.h) and MP table,
 * generated from the board's real layout at every boot: the vCPUs, the
 * IOAPIC, the ACPI PM block, COM1, the RTC, the i8042, the PCI host
 * bridge with its interrupt routing or the virtio-mmio windows.
 *
 * The ACPI blob goes at X86_ACPI_DEFAULT_BASE (0xe0000, inside the
 * E820-reserved BIOS area, where Linux scans for the RSDP); the zero page
 * also carries the RSDP's address.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vmmkit/cmos_rtc.h>
#include <vmmkit/x86_acpi.h>
#include <vmmkit/x86_mptable.h>

#include "arch/x86/pc_priv.h"

/* Fill @c from the board; @uart, @virtio and @prt hold what it points at. */
static void acpi_config(const x86_pc_t *pc, x86_acpi_config_t *c, x86_acpi_uart_t *uart,
                        x86_acpi_virtio_mmio_t *virtio, x86_acpi_pci_irq_t *prt, size_t max_prt)
{
    const board_devices_t *d = &pc->dev;

    *uart = (x86_acpi_uart_t){.port = X86_PC_COM1_PORT, .irq = X86_PC_COM1_GSI};
    *c = (x86_acpi_config_t){
        .nr_cpus = pc->cfg.cpus,
        .ioapic_addr = (uint32_t)X86_PC_IOAPIC_BASE,
        .lapic_addr = (uint32_t)X86_PC_LAPIC_BASE,
        .sci_irq = X86_PC_SCI_GSI,
        .reset_port = X86_PC_RESET_PORT,
        .uarts = uart,
        .nr_uarts = 1,
        .rtc = true,
        .rtc_century = CMOS_RTC_CENTURY,
        .i8042 = true,
        .virtio = virtio,
        .nr_virtio = d->nr_mmio,
        .oem_id = "VMMKIT",
        .oem_table_id = "VMMKITPC",
    };
    for (unsigned int i = 0; i < d->nr_mmio; i++)
        virtio[i] = (x86_acpi_virtio_mmio_t){
            .base = d->mmio_desc[i].base, .size = d->mmio_desc[i].size, .gsi = d->mmio_desc[i].irq};
    if (!d->pci)
        return;

    const pci_host_config_t *hc = pci_host_get_config(d->pci);
    pci_irq_route_t routes[128];
    size_t n = pci_host_irq_map(d->pci, routes, 128);

    if (n > max_prt)
        n = max_prt;
    for (size_t i = 0; i < n; i++)
        prt[i] = (x86_acpi_pci_irq_t){.slot = (uint8_t)(routes[i].devfn >> 3),
                                      .pin = (uint8_t)routes[i].pin,
                                      .gsi = routes[i].irq};
    c->pci = (x86_acpi_pci_t){
        .ecam_base = hc->ecam_base,
        .ecam_size = pci_host_ecam_size(d->pci),
        .bus_first = 0,
        .bus_last = (uint8_t)((pci_host_ecam_size(d->pci) >> 20) - 1),
        .mmio_base = hc->mmio32_base,
        .mmio_size = hc->mmio32_size,
        .mmio64_base = hc->mmio64_base,
        .mmio64_size = hc->mmio64_size,
        .prt = prt,
        .nr_prt = n,
    };
    for (unsigned int pin = 0; pin < 4; pin++)
        c->pci.intx_gsi[pin] = hc->intx_irq[pin];
}

/* Build the tables into @buf (X86_ACPI_DEFAULT_SIZE bytes) for guest address X86_ACPI_DEFAULT_BASE.
 */
static int acpi_build(const x86_pc_t *pc, uint8_t *buf, x86_acpi_tables_t *t, char *err,
                      size_t errlen)
{
    x86_acpi_config_t c;
    x86_acpi_uart_t uart;
    x86_acpi_virtio_mmio_t virtio[BOARD_VIRTIO_MMIO_MAX];
    x86_acpi_pci_irq_t prt[128];
    char why[256] = "";

    acpi_config(pc, &c, &uart, virtio, prt, 128);
    int r =
        x86_acpi_build(&c, buf, X86_ACPI_DEFAULT_BASE, X86_ACPI_DEFAULT_SIZE, t, why, sizeof(why));
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot build the ACPI tables: %s", why);
    return 0;
}

int pc_tables_write(x86_pc_t *pc, uint64_t *rsdp, char *err, size_t errlen)
{
    _Static_assert(X86_ACPI_DEFAULT_SIZE <= 0x10000, "the ACPI blob's buffer");
    uint8_t buf[X86_ACPI_DEFAULT_SIZE];
    x86_acpi_tables_t t;
    int r = acpi_build(pc, buf, &t, err, errlen);

    if (r < 0)
        return r;
    r = vm_guest_write(pc->vm, X86_ACPI_DEFAULT_BASE, buf, t.used);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot write the ACPI tables: %s", strerror(-r));
    *rsdp = t.rsdp;
    return pc_mptable_write(pc, err, errlen);
}

int pc_mptable_write(x86_pc_t *pc, char *err, size_t errlen)
{
    uint8_t buf[4096];
    x86_acpi_config_t c;
    x86_acpi_uart_t uart;
    x86_acpi_virtio_mmio_t virtio[BOARD_VIRTIO_MMIO_MAX];
    x86_acpi_pci_irq_t prt[128];
    x86_mptable_config_t mp;
    x86_mptable_info_t info;
    char why[256] = "";
    int r;

    acpi_config(pc, &c, &uart, virtio, prt, 128);
    x86_mptable_config_from_acpi(&c, &mp);
    r = x86_mptable_build(&mp, buf, X86_MPTABLE_DEFAULT_BASE, sizeof(buf), &info, why, sizeof(why));
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot build the MP table: %s", why);
    r = vm_guest_write(pc->vm, X86_MPTABLE_DEFAULT_BASE, buf, info.used);
    if (r < 0)
        return board_errorf(err, errlen, r, "cannot write the MP table: %s", strerror(-r));
    return 0;
}

/* One table of the blob, by its address, as @dir/SIG.dat (the RSDP as RSDP.dat). */
static int dump_one(const char *dir, const uint8_t *buf, uint64_t addr, char *err, size_t errlen)
{
    const uint8_t *p = buf + (addr - X86_ACPI_DEFAULT_BASE);
    char name[5] = {0}, path[4200];
    uint32_t len;
    int fd;

    if (memcmp(p, "RSD PTR ", 8) == 0) {
        memcpy(name, "RSDP", 4);
        memcpy(&len, p + 20, 4); /* ACPI 6.4, 5.2.5.3: Length (revision 2) */
    } else {
        memcpy(name, p, 4);
        memcpy(&len, p + 4, 4);
    }
    snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return board_errorf(err, errlen, -errno, "--dump-acpi %s: %s", path, strerror(errno));
    ssize_t w = write(fd, p, len);
    int e = w == (ssize_t)len ? 0 : (errno ? errno : EIO);
    if (close(fd) < 0 && !e)
        e = errno;
    if (e)
        return board_errorf(err, errlen, -e, "--dump-acpi %s: %s", path, strerror(e));
    return 0;
}

int x86_pc_dump_acpi(x86_pc_t *pc, const char *dir, char *err, size_t errlen)
{
    uint8_t buf[X86_ACPI_DEFAULT_SIZE];
    x86_acpi_tables_t t;
    int r = acpi_build(pc, buf, &t, err, errlen);

    if (r < 0)
        return r;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return board_errorf(err, errlen, -errno, "--dump-acpi %s: %s", dir, strerror(errno));
    const uint64_t tables[] = {t.rsdp, t.xsdt, t.fadt, t.facs, t.dsdt, t.madt, t.mcfg};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        if (!tables[i])
            continue;
        r = dump_one(dir, buf, tables[i], err, errlen);
        if (r < 0)
            return r;
    }
    return 0;
}
