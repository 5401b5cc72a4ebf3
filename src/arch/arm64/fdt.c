/*
 * fdt.c - device tree generation for arm64 Linux guests.
 *
 * Written with libfdt's sequential-write API (fdt_create .. fdt_finish),
 * which produces a packed blob in one pass.  See include/vmmkit/arm64_fdt.h
 * for the bindings followed.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfdt.h>

#include <vmmkit/arm64_fdt.h>

/* <dt-bindings/interrupt-controller/arm-gic.h> and irq.h values. */
#define GIC_SPI 0u
#define GIC_PPI 1u
#define IRQ_TYPE_EDGE_RISING 1u
#define IRQ_TYPE_LEVEL_HIGH 4u
/* GICv2 binding: bits [15:8] of a PPI's flags cell are its CPU mask. */
#define GICV2_PPI_CPU_MASK_SHIFT 8
#define GIC_SPI_FIRST 32u
#define GIC_SPI_LAST 1019u
#define SPI_BASE GIC_SPI_FIRST

/* PCI Bus Binding to Open Firmware: phys.hi space codes and the devfn field. */
#define PCI_SPACE_MEM32 0x02000000u
#define PCI_SPACE_MEM64 0x03000000u
#define PCI_DEVFN_DEV_MASK 0xf8u

/* Architected timer PPIs (arm,arch_timer binding order), as PPI numbers. */
#define TIMER_PPI_SEC_PHYS 13u
#define TIMER_PPI_NONSEC_PHYS 14u
#define TIMER_PPI_VIRT 11u
#define TIMER_PPI_HYP 10u

/* MPIDR_EL1 affinity fields Aff3 [39:32], Aff2..Aff0 [23:0] (Arm ARM D19.2). */
#define MPIDR_AFFINITY_MASK 0xff00ffffffull
#define MPIDR_AFF3_MASK 0xff00000000ull

#define NODE_NAME_MAX 48

/* Give up on the first libfdt error; every helper returns 0 or -FDT_ERR_*. */
#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int try_ret_ = (expr);                                                                     \
        if (try_ret_ < 0)                                                                          \
            return try_ret_;                                                                       \
    } while (0)

uint64_t arm64_fdt_kvm_default_mpidr(unsigned int vcpu_id)
{
    return (1ull << 31) | ((uint64_t)(vcpu_id & 0x0f) << 0) |
           ((uint64_t)((vcpu_id >> 4) & 0xff) << 8) | ((uint64_t)((vcpu_id >> 12) & 0xff) << 16);
}

static uint64_t cpu_mpidr(const arm64_fdt_config_t *cfg, unsigned int i)
{
    uint64_t mpidr = cfg->cpu_mpidr ? cfg->cpu_mpidr[i] : arm64_fdt_kvm_default_mpidr(i);

    return mpidr & MPIDR_AFFINITY_MASK;
}

/* ---- config checks ---------------------------------------------------- */

static int fail(char *msg, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *msg, size_t len, const char *fmt, ...)
{
    va_list ap;

    if (msg && len) {
        va_start(ap, fmt);
        vsnprintf(msg, len, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* A named guest-physical range, for the overlap check. */
typedef struct range {
    const char *what;
    size_t index;
    uint64_t base;
    uint64_t size;
} range_t;

/* The @n-th MMIO or RAM range @cfg describes; false past the last one. */
static bool range_at(const arm64_fdt_config_t *cfg, size_t n, range_t *r)
{
    const arm64_fdt_gic_t *g = &cfg->gic;

    if (n < cfg->nr_mem) {
        *r = (range_t){"mem", n, cfg->mem[n].base, cfg->mem[n].size};
        return true;
    }
    n -= cfg->nr_mem;
    if (n < cfg->nr_virtio) {
        *r = (range_t){"virtio", n, cfg->virtio[n].base, cfg->virtio[n].size};
        return true;
    }
    n -= cfg->nr_virtio;
    if (n < 2 * cfg->nr_crossvm) {
        const arm64_fdt_crossvm_t *c = &cfg->crossvm[n / 2];
        if (n % 2)
            *r = (range_t){"crossvm.mem", n / 2, c->mem_base, c->mem_size};
        else
            *r = (range_t){"crossvm.event", n / 2, c->event_base, c->event_size};
        return true;
    }
    n -= 2 * cfg->nr_crossvm;
    switch (n) {
    case 0:
        *r = (range_t){"gic.dist", 0, g->dist_base, g->dist_size};
        return true;
    case 1:
        if (g->version == 2)
            *r = (range_t){"gic.cpu", 0, g->cpu_base, g->cpu_size};
        else
            *r = (range_t){"gic.redist", 0, g->redist_base, g->redist_size};
        return true;
    case 2:
        *r = (range_t){"gic.its", 0, g->version == 3 ? g->its_base : 0,
                       g->version == 3 ? g->its_size : 0};
        return true;
    case 3:
        *r = (range_t){"uart", 0, cfg->uart.base, cfg->uart.size};
        return true;
    case 4:
        *r = (range_t){"pci.ecam", 0, cfg->pci.ecam_base, cfg->pci.ecam_size};
        return true;
    case 5:
        *r = (range_t){"pci.mmio", 0, cfg->pci.mmio_base,
                       cfg->pci.ecam_size ? cfg->pci.mmio_size : 0};
        return true;
    case 6:
        *r = (range_t){"pci.mmio64", 0, cfg->pci.mmio64_base,
                       cfg->pci.ecam_size ? cfg->pci.mmio64_size : 0};
        return true;
    default:
        return false;
    }
}

static bool spi_ok(uint32_t intid)
{
    return intid >= GIC_SPI_FIRST && intid <= GIC_SPI_LAST;
}

static int check_gic(const arm64_fdt_config_t *cfg, char *msg, size_t len)
{
    const arm64_fdt_gic_t *g = &cfg->gic;

    if (g->version != 2 && g->version != 3)
        return fail(msg, len, "gic.version is %u; must be 2 or 3", g->version);
    if (!g->dist_size)
        return fail(msg, len, "gic.dist_size is 0");
    if (g->version == 2) {
        if (!g->cpu_size)
            return fail(msg, len, "gic.cpu_size is 0 (GICv2 needs its CPU interface)");
        if (cfg->nr_cpus > ARM64_FDT_GICV2_MAX_CPUS)
            return fail(msg, len, "%u vCPUs with GICv2, which serves at most %u", cfg->nr_cpus,
                        ARM64_FDT_GICV2_MAX_CPUS);
    } else {
        uint64_t need = (uint64_t)cfg->nr_cpus * ARM64_FDT_GICV3_REDIST_STRIDE;

        if (g->redist_size < need)
            return fail(msg, len,
                        "gic.redist_size is 0x%" PRIx64 "; %u vCPUs need 0x%" PRIx64
                        " (0x20000 each)",
                        g->redist_size, cfg->nr_cpus, need);
    }
    return 0;
}

static int check_pci(const arm64_fdt_config_t *cfg, char *msg, size_t len)
{
    const arm64_fdt_pci_t *p = &cfg->pci;

    if (!p->ecam_size)
        return 0;
    if (p->bus_first > p->bus_last || p->bus_last > 255)
        return fail(msg, len, "pci bus range %u..%u is not within 0..255", p->bus_first,
                    p->bus_last);
    if (p->ecam_size != (uint64_t)(p->bus_last - p->bus_first + 1) << 20 ||
        (p->ecam_base & ((1u << 20) - 1)))
        return fail(msg, len, "pci.ecam must be 1 MiB aligned and 1 MiB per bus");
    if (!p->mmio_size && !p->mmio64_size)
        return fail(msg, len, "pci has no memory window");
    if (p->mmio_size && p->mmio_base + p->mmio_size > (1ull << 32))
        return fail(msg, len, "pci.mmio must lie below 4 GiB");
    if (p->nr_irq_map && !p->irq_map)
        return fail(msg, len, "pci.nr_irq_map is %zu but irq_map is NULL", p->nr_irq_map);
    for (size_t i = 0; i < p->nr_irq_map; i++) {
        const arm64_fdt_pci_irq_t *e = &p->irq_map[i];

        if (e->pin < 1 || e->pin > 4 || e->devfn > 0xff || !spi_ok(e->intid))
            return fail(msg, len, "pci.irq_map[%zu]: devfn %u pin %u intid %u is not valid", i,
                        e->devfn, e->pin, e->intid);
    }
    if (p->msi && !(cfg->gic.version == 3 && cfg->gic.its_size))
        return fail(msg, len, "pci.msi needs a GICv3 with an ITS");
    return 0;
}

int arm64_fdt_check_config(const arm64_fdt_config_t *cfg, char *msg, size_t len)
{
    range_t a, b;
    int ret;

    if (msg && len)
        msg[0] = '\0';
    if (!cfg)
        return fail(msg, len, "no config");
    if (!cfg->mem || !cfg->nr_mem)
        return fail(msg, len, "no memory regions");
    for (size_t i = 0; i < cfg->nr_mem; i++) {
        if (!cfg->mem[i].size)
            return fail(msg, len, "mem[%zu].size is 0", i);
    }
    if (!cfg->nr_cpus || cfg->nr_cpus > ARM64_FDT_MAX_CPUS)
        return fail(msg, len, "nr_cpus is %u; must be 1..%u", cfg->nr_cpus, ARM64_FDT_MAX_CPUS);
    for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
        for (unsigned int j = 0; j < i; j++) {
            if (cpu_mpidr(cfg, i) == cpu_mpidr(cfg, j))
                return fail(msg, len, "vCPUs %u and %u share MPIDR affinity 0x%" PRIx64, j, i,
                            cpu_mpidr(cfg, i));
        }
    }
    ret = check_gic(cfg, msg, len);
    if (ret < 0)
        return ret;
    if (cfg->uart.size && !spi_ok(cfg->uart.intid))
        return fail(msg, len, "uart.intid is %u; an SPI INTID is %u..%u", cfg->uart.intid,
                    GIC_SPI_FIRST, GIC_SPI_LAST);
    if (cfg->nr_virtio && !cfg->virtio)
        return fail(msg, len, "nr_virtio is %zu but virtio is NULL", cfg->nr_virtio);
    for (size_t i = 0; i < cfg->nr_virtio; i++) {
        const arm64_fdt_virtio_mmio_t *v = &cfg->virtio[i];

        if (!v->size)
            return fail(msg, len, "virtio[%zu].size is 0", i);
        if (!spi_ok(v->intid))
            return fail(msg, len, "virtio[%zu].intid is %u; an SPI INTID is %u..%u", i, v->intid,
                        GIC_SPI_FIRST, GIC_SPI_LAST);
        if (cfg->uart.size && v->intid == cfg->uart.intid)
            return fail(msg, len, "virtio[%zu].intid %u is the UART's", i, v->intid);
        for (size_t j = 0; j < i; j++) {
            if (cfg->virtio[j].intid == v->intid)
                return fail(msg, len, "virtio[%zu] and virtio[%zu] share intid %u", j, i, v->intid);
        }
    }
    if (cfg->nr_crossvm && !cfg->crossvm)
        return fail(msg, len, "nr_crossvm is %zu but crossvm is NULL", cfg->nr_crossvm);
    for (size_t i = 0; i < cfg->nr_crossvm; i++) {
        const arm64_fdt_crossvm_t *c = &cfg->crossvm[i];

        if (!c->name || !c->event_size || !c->mem_size)
            return fail(msg, len, "crossvm[%zu] has no name, event page or memory", i);
        if (!spi_ok(c->intid))
            return fail(msg, len, "crossvm[%zu].intid is %u; an SPI INTID is %u..%u", i, c->intid,
                        GIC_SPI_FIRST, GIC_SPI_LAST);
        if (cfg->uart.size && c->intid == cfg->uart.intid)
            return fail(msg, len, "crossvm[%zu].intid %u is the UART's", i, c->intid);
        for (size_t j = 0; j < cfg->nr_virtio; j++) {
            if (cfg->virtio[j].intid == c->intid)
                return fail(msg, len, "crossvm[%zu] and virtio[%zu] share intid %u", i, j,
                            c->intid);
        }
        for (size_t j = 0; j < i; j++) {
            if (cfg->crossvm[j].intid == c->intid)
                return fail(msg, len, "crossvm[%zu] and crossvm[%zu] share intid %u", j, i,
                            c->intid);
        }
    }
    ret = check_pci(cfg, msg, len);
    if (ret < 0)
        return ret;
    /* Every range must fit 64 bits and none may overlap another. */
    for (size_t i = 0; range_at(cfg, i, &a); i++) {
        uint64_t end;

        if (!a.size)
            continue;
        if (__builtin_add_overflow(a.base, a.size, &end))
            return fail(msg, len, "%s[%zu] at 0x%" PRIx64 " size 0x%" PRIx64 " wraps", a.what,
                        a.index, a.base, a.size);
        for (size_t j = 0; j < i && range_at(cfg, j, &b); j++) {
            if (b.size && a.base < b.base + b.size && b.base < end)
                return fail(msg, len,
                            "%s[%zu] [0x%" PRIx64 ", +0x%" PRIx64 ") overlaps %s[%zu] [0x%" PRIx64
                            ", +0x%" PRIx64 ")",
                            a.what, a.index, a.base, a.size, b.what, b.index, b.base, b.size);
        }
    }
    if (cfg->initrd_size) {
        uint64_t end;

        if (__builtin_add_overflow(cfg->initrd_start, cfg->initrd_size, &end))
            return fail(msg, len, "initrd at 0x%" PRIx64 " size 0x%" PRIx64 " wraps",
                        cfg->initrd_start, cfg->initrd_size);
    }
    if (cfg->rng_seed_len && !cfg->rng_seed)
        return fail(msg, len, "rng_seed_len is %zu but rng_seed is NULL", cfg->rng_seed_len);
    if (cfg->rng_seed_len > INT_MAX)
        return fail(msg, len, "rng_seed_len %zu is too large", cfg->rng_seed_len);
    return 0;
}

/* ---- tree writing ----------------------------------------------------- */

/* A "reg" of (base, size) pairs in 2+2 cells (the root's #address/#size-cells). */
static int prop_reg(void *fdt, const uint64_t *pairs, unsigned int n)
{
    fdt64_t cells[4];

    if (n > 2)
        return -FDT_ERR_INTERNAL;
    for (unsigned int i = 0; i < 2 * n; i++)
        cells[i] = cpu_to_fdt64(pairs[i]);
    return fdt_property(fdt, "reg", cells, sizeof(cells[0]) * 2 * n);
}

/* "interrupts" = <GIC_SPI intid-32 flags> for an SPI. */
static int prop_spi(void *fdt, uint32_t intid, uint32_t flags)
{
    fdt32_t cells[3] = {cpu_to_fdt32(GIC_SPI), cpu_to_fdt32(intid - GIC_SPI_FIRST),
                        cpu_to_fdt32(flags)};

    return fdt_property(fdt, "interrupts", cells, sizeof(cells));
}

/* fdt_begin_node() with a printf-formatted name. */
static int begin_node(void *fdt, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int begin_node(void *fdt, const char *fmt, ...)
{
    char name[NODE_NAME_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    return fdt_begin_node(fdt, name);
}

/* The name of the UART node, for the node itself and for stdout-path. */
static void uart_path(const arm64_fdt_config_t *cfg, char *buf, size_t len)
{
    snprintf(buf, len, "/pl011@%" PRIx64, cfg->uart.base);
}

/* /chosen (Devicetree Specification v0.4, 3.6; Linux booting-without-of). */
static int write_chosen(void *fdt, const arm64_fdt_config_t *cfg)
{
    TRY(fdt_begin_node(fdt, "chosen"));
    if (cfg->bootargs)
        TRY(fdt_property_string(fdt, "bootargs", cfg->bootargs));
    if (cfg->uart.size) {
        char path[NODE_NAME_MAX];

        uart_path(cfg, path, sizeof(path));
        TRY(fdt_property_string(fdt, "stdout-path", path));
    }
    if (cfg->initrd_size) {
        /* 64-bit values: Linux reads these with of_read_number(len / 4). */
        TRY(fdt_property_u64(fdt, "linux,initrd-start", cfg->initrd_start));
        TRY(fdt_property_u64(fdt, "linux,initrd-end", cfg->initrd_start + cfg->initrd_size));
    }
    if (cfg->rng_seed_len)
        TRY(fdt_property(fdt, "rng-seed", cfg->rng_seed, (int)cfg->rng_seed_len));
    if (cfg->has_kaslr_seed)
        TRY(fdt_property_u64(fdt, "kaslr-seed", cfg->kaslr_seed));
    return fdt_end_node(fdt);
}

/* One /memory@base node per region (Devicetree Specification v0.4, 3.4). */
static int write_memory(void *fdt, const arm64_fdt_config_t *cfg)
{
    for (size_t i = 0; i < cfg->nr_mem; i++) {
        uint64_t reg[2] = {cfg->mem[i].base, cfg->mem[i].size};

        TRY(begin_node(fdt, "memory@%" PRIx64, cfg->mem[i].base));
        TRY(fdt_property_string(fdt, "device_type", "memory"));
        TRY(prop_reg(fdt, reg, 1));
        TRY(fdt_end_node(fdt));
    }
    return 0;
}

/*
 * /cpus (bindings arm/cpus.yaml): reg is the MPIDR affinity, one cell unless
 * some vCPU has a non-zero Aff3; every vCPU is started through PSCI.
 */
static int write_cpus(void *fdt, const arm64_fdt_config_t *cfg)
{
    const char *compatible = cfg->cpu_compatible ? cfg->cpu_compatible : "arm,arm-v8";
    bool two_cells = false;

    for (unsigned int i = 0; i < cfg->nr_cpus; i++)
        two_cells |= (cpu_mpidr(cfg, i) & MPIDR_AFF3_MASK) != 0;

    TRY(fdt_begin_node(fdt, "cpus"));
    TRY(fdt_property_cell(fdt, "#address-cells", two_cells ? 2 : 1));
    TRY(fdt_property_cell(fdt, "#size-cells", 0));
    for (unsigned int i = 0; i < cfg->nr_cpus; i++) {
        uint64_t mpidr = cpu_mpidr(cfg, i);

        TRY(begin_node(fdt, "cpu@%" PRIx64, mpidr));
        TRY(fdt_property_string(fdt, "device_type", "cpu"));
        TRY(fdt_property_string(fdt, "compatible", compatible));
        if (two_cells)
            TRY(fdt_property_u64(fdt, "reg", mpidr));
        else
            TRY(fdt_property_cell(fdt, "reg", (uint32_t)mpidr));
        TRY(fdt_property_string(fdt, "enable-method", "psci"));
        TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

/* /psci (bindings arm/psci.yaml): 0.2+ function IDs are standard, no ids. */
static int write_psci(void *fdt)
{
    static const char compatible[] = "arm,psci-1.0\0arm,psci-0.2";

    TRY(fdt_begin_node(fdt, "psci"));
    TRY(fdt_property(fdt, "compatible", compatible, sizeof(compatible)));
    TRY(fdt_property_string(fdt, "method", "hvc"));
    return fdt_end_node(fdt);
}

/* The GIC (bindings interrupt-controller/arm,gic.yaml, arm,gic-v3.yaml). */
static int write_gic(void *fdt, const arm64_fdt_config_t *cfg)
{
    const arm64_fdt_gic_t *g = &cfg->gic;
    uint64_t reg[4] = {g->dist_base, g->dist_size};
    bool its = g->version == 3 && g->its_size;

    if (g->version == 2) {
        reg[2] = g->cpu_base;
        reg[3] = g->cpu_size;
    } else {
        reg[2] = g->redist_base;
        reg[3] = g->redist_size;
    }
    TRY(begin_node(fdt, "interrupt-controller@%" PRIx64, g->dist_base));
    TRY(fdt_property_string(fdt, "compatible",
                            g->version == 2 ? "arm,cortex-a15-gic" : "arm,gic-v3"));
    TRY(fdt_property_cell(fdt, "#interrupt-cells", 3));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    /* dtc wants #address-cells on every interrupt provider; children (the
     * ITS) are addressed like the root's. */
    TRY(fdt_property_cell(fdt, "#address-cells", 2));
    TRY(fdt_property_cell(fdt, "#size-cells", 2));
    if (its)
        TRY(fdt_property(fdt, "ranges", NULL, 0));
    TRY(prop_reg(fdt, reg, 2));
    TRY(fdt_property_cell(fdt, "phandle", ARM64_FDT_PHANDLE_GIC));
    if (its) {
        uint64_t its_reg[2] = {g->its_base, g->its_size};

        TRY(begin_node(fdt, "msi-controller@%" PRIx64, g->its_base));
        TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3-its"));
        TRY(fdt_property(fdt, "msi-controller", NULL, 0));
        TRY(fdt_property_cell(fdt, "#msi-cells", 1));
        TRY(prop_reg(fdt, its_reg, 1));
        TRY(fdt_property_cell(fdt, "phandle", ARM64_FDT_PHANDLE_ITS));
        TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

/*
 * The architected timer (bindings timer/arm,arch_timer.yaml): four PPIs in
 * the order secure physical, non-secure physical, virtual, hypervisor.  KVM's
 * timers are level-triggered, active-high (as QEMU describes them).  Under
 * GICv2 a PPI's flags also carry the mask of CPUs it is wired to.
 */
static int write_timer(void *fdt, const arm64_fdt_config_t *cfg)
{
    static const uint32_t ppis[4] = {TIMER_PPI_SEC_PHYS, TIMER_PPI_NONSEC_PHYS, TIMER_PPI_VIRT,
                                     TIMER_PPI_HYP};
    uint32_t flags = IRQ_TYPE_LEVEL_HIGH;
    fdt32_t cells[12];

    if (cfg->gic.version == 2)
        flags |= ((1u << cfg->nr_cpus) - 1) << GICV2_PPI_CPU_MASK_SHIFT;
    for (unsigned int i = 0; i < 4; i++) {
        cells[3 * i] = cpu_to_fdt32(GIC_PPI);
        cells[3 * i + 1] = cpu_to_fdt32(ppis[i]);
        cells[3 * i + 2] = cpu_to_fdt32(flags);
    }
    TRY(fdt_begin_node(fdt, "timer"));
    TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
    TRY(fdt_property(fdt, "interrupts", cells, sizeof(cells)));
    /* The virtual timer keeps counting in any idle state a guest can enter. */
    TRY(fdt_property(fdt, "always-on", NULL, 0));
    return fdt_end_node(fdt);
}

/*
 * The PL011 (bindings serial/pl011.yaml) and the fixed clock it names twice:
 * "uartclk" (the baud clock) and "apb_pclk" (the AMBA bus clock that the
 * primecell bus driver enables before reading the ID registers).
 */
static int write_uart(void *fdt, const arm64_fdt_config_t *cfg)
{
    static const char compatible[] = "arm,pl011\0arm,primecell";
    static const char clock_names[] = "uartclk\0apb_pclk";
    const fdt32_t clocks[2] = {cpu_to_fdt32(ARM64_FDT_PHANDLE_APB_PCLK),
                               cpu_to_fdt32(ARM64_FDT_PHANDLE_APB_PCLK)};
    uint64_t reg[2] = {cfg->uart.base, cfg->uart.size};
    char path[NODE_NAME_MAX];

    TRY(fdt_begin_node(fdt, "apb-pclk"));
    TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
    TRY(fdt_property_cell(fdt, "#clock-cells", 0));
    TRY(fdt_property_cell(fdt, "clock-frequency",
                          cfg->uart.clock_hz ? cfg->uart.clock_hz : ARM64_FDT_UART_CLOCK_HZ));
    TRY(fdt_property_string(fdt, "clock-output-names", "apb_pclk"));
    TRY(fdt_property_cell(fdt, "phandle", ARM64_FDT_PHANDLE_APB_PCLK));
    TRY(fdt_end_node(fdt));

    uart_path(cfg, path, sizeof(path));
    TRY(fdt_begin_node(fdt, path + 1));
    TRY(fdt_property(fdt, "compatible", compatible, sizeof(compatible)));
    TRY(prop_reg(fdt, reg, 1));
    TRY(prop_spi(fdt, cfg->uart.intid, IRQ_TYPE_LEVEL_HIGH));
    TRY(fdt_property(fdt, "clock-names", clock_names, sizeof(clock_names)));
    TRY(fdt_property(fdt, "clocks", clocks, sizeof(clocks)));
    return fdt_end_node(fdt);
}

/* virtio-mmio transports (bindings virtio/mmio.yaml). */
static int write_virtio(void *fdt, const arm64_fdt_config_t *cfg)
{
    for (size_t i = 0; i < cfg->nr_virtio; i++) {
        const arm64_fdt_virtio_mmio_t *v = &cfg->virtio[i];
        uint64_t reg[2] = {v->base, v->size};

        TRY(begin_node(fdt, "virtio_mmio@%" PRIx64, v->base));
        TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
        TRY(prop_reg(fdt, reg, 1));
        TRY(prop_spi(fdt, v->intid,
                     v->level_triggered ? IRQ_TYPE_LEVEL_HIGH : IRQ_TYPE_EDGE_RISING));
        /* Guest RAM is ordinary cacheable memory to the VMM's device models. */
        TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
        TRY(fdt_end_node(fdt));
    }
    return 0;
}

/* Cross-VM channel ends on MMIO (arm64_fdt.h, crossvm.h). */
static int write_crossvm(void *fdt, const arm64_fdt_config_t *cfg)
{
    for (size_t i = 0; i < cfg->nr_crossvm; i++) {
        const arm64_fdt_crossvm_t *c = &cfg->crossvm[i];
        uint64_t reg[4] = {c->event_base, c->event_size, c->mem_base, c->mem_size};

        TRY(begin_node(fdt, "crossvm@%" PRIx64, c->event_base));
        TRY(fdt_property_string(fdt, "compatible", "vmmkit,crossvm"));
        TRY(prop_reg(fdt, reg, 2));
        TRY(prop_spi(fdt, c->intid, IRQ_TYPE_LEVEL_HIGH));
        TRY(fdt_property_string(fdt, "label", c->name));
        TRY(fdt_end_node(fdt));
    }
    return 0;
}

/* One "ranges" entry of a PCI bridge: 3 PCI cells, 2 CPU cells, 2 size cells. */
static void pci_range(fdt32_t *c, uint32_t space, uint64_t base, uint64_t size)
{
    c[0] = cpu_to_fdt32(space);
    c[1] = cpu_to_fdt32((uint32_t)(base >> 32));
    c[2] = cpu_to_fdt32((uint32_t)base);
    c[3] = cpu_to_fdt32((uint32_t)(base >> 32));
    c[4] = cpu_to_fdt32((uint32_t)base);
    c[5] = cpu_to_fdt32((uint32_t)(size >> 32));
    c[6] = cpu_to_fdt32((uint32_t)size);
}

/*
 * The ECAM host bridge (bindings pci/host-generic-pci.yaml, pci/pci.txt for
 * ranges and interrupt-map; PCI Bus Binding to Open Firmware 2.2.1.1 for
 * the phys.hi cell: space code bits 24-25, devfn bits 8-15).
 */
static int write_pci(void *fdt, const arm64_fdt_config_t *cfg)
{
    const arm64_fdt_pci_t *p = &cfg->pci;
    uint64_t reg[2] = {p->ecam_base, p->ecam_size};
    const fdt32_t bus_range[2] = {cpu_to_fdt32(p->bus_first), cpu_to_fdt32(p->bus_last)};
    const fdt32_t map_mask[4] = {cpu_to_fdt32(PCI_DEVFN_DEV_MASK << 8), 0, 0, cpu_to_fdt32(7)};
    fdt32_t ranges[14];
    int nr_ranges = 0;

    TRY(begin_node(fdt, "pcie@%" PRIx64, p->ecam_base));
    TRY(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
    TRY(fdt_property_string(fdt, "device_type", "pci"));
    TRY(fdt_property_cell(fdt, "#address-cells", 3));
    TRY(fdt_property_cell(fdt, "#size-cells", 2));
    TRY(fdt_property_cell(fdt, "#interrupt-cells", 1));
    TRY(prop_reg(fdt, reg, 1));
    TRY(fdt_property(fdt, "bus-range", bus_range, sizeof(bus_range)));
    TRY(fdt_property_cell(fdt, "linux,pci-domain", 0));
    TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
    if (p->mmio_size)
        pci_range(&ranges[7 * nr_ranges++], PCI_SPACE_MEM32, p->mmio_base, p->mmio_size);
    if (p->mmio64_size)
        pci_range(&ranges[7 * nr_ranges++], PCI_SPACE_MEM64, p->mmio64_base, p->mmio64_size);
    TRY(fdt_property(fdt, "ranges", ranges, (int)(nr_ranges * 7 * sizeof(fdt32_t))));
    if (p->nr_irq_map) {
        /* child (3 + 1 cells), parent phandle, parent unit address (the GIC's
         * #address-cells = 2), parent specifier (3 cells): 10 cells an entry. */
        size_t n = p->nr_irq_map;
        fdt32_t *map = calloc(n * 10, sizeof(*map));
        int r;

        if (!map)
            return -FDT_ERR_NOSPACE;
        for (size_t i = 0; i < n; i++) {
            fdt32_t *e = &map[i * 10];
            e[0] = cpu_to_fdt32((p->irq_map[i].devfn & 0xff) << 8);
            e[3] = cpu_to_fdt32(p->irq_map[i].pin);
            e[4] = cpu_to_fdt32(ARM64_FDT_PHANDLE_GIC);
            e[7] = cpu_to_fdt32(GIC_SPI);
            e[8] = cpu_to_fdt32(p->irq_map[i].intid - SPI_BASE);
            e[9] = cpu_to_fdt32(IRQ_TYPE_LEVEL_HIGH);
        }
        r = fdt_property(fdt, "interrupt-map", map, (int)(n * 10 * sizeof(*map)));
        free(map);
        TRY(r);
        TRY(fdt_property(fdt, "interrupt-map-mask", map_mask, sizeof(map_mask)));
    }
    if (p->msi && cfg->gic.version == 3 && cfg->gic.its_size) {
        /* Every requester ID maps to the same ITS device ID (bindings pci/pci-msi.txt). */
        const fdt32_t msi_map[4] = {0, cpu_to_fdt32(ARM64_FDT_PHANDLE_ITS), 0,
                                    cpu_to_fdt32(0x10000)};
        TRY(fdt_property(fdt, "msi-map", msi_map, sizeof(msi_map)));
    }
    return fdt_end_node(fdt);
}

static int write_tree(void *fdt, int size, const arm64_fdt_config_t *cfg)
{
    TRY(fdt_create(fdt, size));
    TRY(fdt_finish_reservemap(fdt));

    TRY(fdt_begin_node(fdt, ""));
    TRY(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
    TRY(fdt_property_string(fdt, "model", cfg->model ? cfg->model : "vmmkit arm64 virt"));
    TRY(fdt_property_cell(fdt, "#address-cells", 2));
    TRY(fdt_property_cell(fdt, "#size-cells", 2));
    TRY(fdt_property_cell(fdt, "interrupt-parent", ARM64_FDT_PHANDLE_GIC));

    TRY(write_chosen(fdt, cfg));
    TRY(write_memory(fdt, cfg));
    TRY(write_cpus(fdt, cfg));
    TRY(write_psci(fdt));
    TRY(write_gic(fdt, cfg));
    TRY(write_timer(fdt, cfg));
    if (cfg->uart.size)
        TRY(write_uart(fdt, cfg));
    TRY(write_virtio(fdt, cfg));
    TRY(write_crossvm(fdt, cfg));
    if (cfg->pci.ecam_size)
        TRY(write_pci(fdt, cfg));

    TRY(fdt_end_node(fdt));
    return fdt_finish(fdt);
}

int arm64_fdt_build(const arm64_fdt_config_t *cfg, void *buf, size_t bufsize)
{
    int ret;

    if (!buf)
        return -EINVAL;
    ret = arm64_fdt_check_config(cfg, NULL, 0);
    if (ret < 0)
        return ret;
    ret = write_tree(buf, bufsize > INT_MAX ? INT_MAX : (int)bufsize, cfg);
    if (ret == -FDT_ERR_NOSPACE)
        return -ENOSPC;
    return ret < 0 ? -EIO : 0;
}
