/*
 * test_arm64_fdt.c - unit tests for src/arch/arm64/fdt.c: build a DTB, read
 * every property back with libfdt, and have dtc check it for warnings.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <libfdt.h>

#include <vmmkit/arm64_fdt.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static uint8_t blob[ARM64_FDT_DEFAULT_SIZE];

static const arm64_fdt_mem_region_t one_region[] = {{0x40000000, 512 * MiB}};
static const arm64_fdt_mem_region_t two_regions[] = {{0x40000000, 1 * GiB},
                                                     {0x100000000ull, 2 * GiB}};
static const arm64_fdt_virtio_mmio_t virtio_devs[] = {
    {.base = 0x0a000000, .size = 0x200, .intid = 48},
    {.base = 0x0a000200, .size = 0x200, .intid = 49, .level_triggered = true},
};
static const uint8_t seed[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* The arm64_virt.h layout with GICv3, 4 vCPUs, initrd and everything optional. */
static arm64_fdt_config_t config_v3(void)
{
    arm64_fdt_config_t c = {
        .mem = one_region,
        .nr_mem = 1,
        .nr_cpus = 4,
        .gic =
            {
                .version = 3,
                .dist_base = 0x08000000,
                .dist_size = 0x10000,
                .redist_base = 0x080a0000,
                .redist_size = 4 * 0x20000,
            },
        .uart = {.base = 0x09000000, .size = 0x1000, .intid = 33},
        .virtio = virtio_devs,
        .nr_virtio = 2,
        .bootargs = "console=ttyAMA0 earlycon",
        .initrd_start = 0x48000000,
        .initrd_size = 0x123456,
        .rng_seed = seed,
        .rng_seed_len = sizeof(seed),
        .has_kaslr_seed = true,
        .kaslr_seed = 0x1122334455667788ull,
    };
    return c;
}

static arm64_fdt_config_t config_v2(void)
{
    arm64_fdt_config_t c = {
        .mem = two_regions,
        .nr_mem = 2,
        .nr_cpus = 2,
        .gic =
            {
                .version = 2,
                .dist_base = 0x08000000,
                .dist_size = 0x10000,
                .cpu_base = 0x08010000,
                .cpu_size = 0x2000,
            },
        .uart = {.base = 0x09000000, .size = 0x1000, .intid = 33},
        .bootargs = "console=ttyAMA0",
    };
    return c;
}

static int node(const char *path)
{
    int off = fdt_path_offset(blob, path);

    if (off < 0)
        fail_msg("no node %s: %s", path, fdt_strerror(off));
    return off;
}

static const void *prop(int off, const char *name, int *len)
{
    const void *p = fdt_getprop(blob, off, name, len);

    if (!p)
        fail_msg("no property %s", name);
    return p;
}

static uint32_t cell(int off, const char *name)
{
    int len;
    const fdt32_t *p = prop(off, name, &len);

    assert_int_equal(len, 4);
    return fdt32_to_cpu(*p);
}

/* 64-bit values in a tree are only 4-byte aligned: load them with memcpy. */
static uint64_t load64(const void *p)
{
    fdt64_t v;

    memcpy(&v, p, sizeof(v));
    return fdt64_to_cpu(v);
}

static uint64_t u64_prop(int off, const char *name)
{
    int len;
    const void *p = prop(off, name, &len);

    assert_int_equal(len, 8);
    return load64(p);
}

static void assert_reg(int off, const uint64_t *want, int pairs)
{
    int len;
    const uint8_t *p = prop(off, "reg", &len);

    assert_int_equal(len, pairs * 16);
    for (int i = 0; i < 2 * pairs; i++)
        assert_int_equal(load64(p + 8 * i), want[i]);
}

static void assert_cells(int off, const char *name, const uint32_t *want, int n)
{
    int len;
    const fdt32_t *p = prop(off, name, &len);

    assert_int_equal(len, 4 * n);
    for (int i = 0; i < n; i++)
        assert_int_equal(fdt32_to_cpu(p[i]), want[i]);
}

static void assert_str(int off, const char *name, const char *want)
{
    int len;
    const char *p = prop(off, name, &len);

    assert_int_equal(len, (int)strlen(want) + 1);
    assert_string_equal(p, want);
}

/* A string-list property equals @want given as "a\0b" with total size @size. */
static void assert_strlist(int off, const char *name, const char *want, int size)
{
    int len;
    const char *p = prop(off, name, &len);

    assert_int_equal(len, size);
    assert_memory_equal(p, want, size);
}

static void build(const arm64_fdt_config_t *cfg)
{
    memset(blob, 0xa5, sizeof(blob));
    assert_int_equal(arm64_fdt_build(cfg, blob, sizeof(blob)), 0);
    assert_int_equal(fdt_check_header(blob), 0);
    assert_true(fdt_totalsize(blob) <= sizeof(blob));
}

static void test_root_and_memory(void **state)
{
    arm64_fdt_config_t c = config_v2();
    int root, gic;

    (void)state;
    build(&c);
    root = node("/");
    assert_str(root, "compatible", "linux,dummy-virt");
    assert_str(root, "model", "vmmkit arm64 virt");
    assert_int_equal(cell(root, "#address-cells"), 2);
    assert_int_equal(cell(root, "#size-cells"), 2);
    gic = fdt_node_offset_by_phandle(blob, cell(root, "interrupt-parent"));
    assert_int_equal(gic, node("/interrupt-controller@8000000"));

    {
        const uint64_t r0[2] = {0x40000000, GiB}, r1[2] = {0x100000000ull, 2 * GiB};
        int m0 = node("/memory@40000000"), m1 = node("/memory@100000000");

        assert_str(m0, "device_type", "memory");
        assert_reg(m0, r0, 1);
        assert_str(m1, "device_type", "memory");
        assert_reg(m1, r1, 1);
    }
}

static void test_cpus_and_psci(void **state)
{
    arm64_fdt_config_t c = config_v3();
    int cpus, off, n = 0, psci;

    (void)state;
    build(&c);
    cpus = node("/cpus");
    assert_int_equal(cell(cpus, "#address-cells"), 1);
    assert_int_equal(cell(cpus, "#size-cells"), 0);
    fdt_for_each_subnode(off, blob, cpus)
    {
        char name[32];

        snprintf(name, sizeof(name), "cpu@%x", n);
        assert_string_equal(fdt_get_name(blob, off, NULL), name);
        assert_str(off, "device_type", "cpu");
        assert_str(off, "compatible", "arm,arm-v8");
        assert_str(off, "enable-method", "psci");
        assert_int_equal(cell(off, "reg"), n);
        n++;
    }
    assert_int_equal(n, 4);
    psci = node("/psci");
    assert_strlist(psci, "compatible", "arm,psci-1.0\0arm,psci-0.2",
                   sizeof("arm,psci-1.0\0arm,psci-0.2"));
    assert_str(psci, "method", "hvc");
}

static void test_cpus_mpidr(void **state)
{
    /* KVM's default MPIDRs for vCPU 0, 17, and an Aff3 one: two-cell reg. */
    static const uint64_t mpidr[3] = {0x80000000, 0x80000101, 0x0100000000ull | 0x80000000};
    arm64_fdt_config_t c = config_v3();
    int cpus, off;

    (void)state;
    assert_int_equal(arm64_fdt_kvm_default_mpidr(0), 0x80000000);
    assert_int_equal(arm64_fdt_kvm_default_mpidr(17), 0x80000101);
    assert_int_equal(arm64_fdt_kvm_default_mpidr(4097), 0x80010001);
    c.nr_cpus = 3;
    c.cpu_mpidr = mpidr;
    c.cpu_compatible = "arm,cortex-a57";
    build(&c);
    cpus = node("/cpus");
    assert_int_equal(cell(cpus, "#address-cells"), 2);
    off = node("/cpus/cpu@101");
    assert_int_equal(u64_prop(off, "reg"), 0x101);
    assert_str(off, "compatible", "arm,cortex-a57");
    off = node("/cpus/cpu@100000000");
    assert_int_equal(u64_prop(off, "reg"), 0x100000000ull);
    /* The default MPIDRs (cpu_mpidr NULL) for 20 vCPUs: Aff1 used from 16. */
    c = config_v3();
    c.nr_cpus = 20;
    c.gic.redist_size = 20 * 0x20000;
    build(&c);
    assert_int_equal(cell(node("/cpus"), "#address-cells"), 1);
    assert_int_equal(cell(node("/cpus/cpu@103"), "reg"), 0x103);
}

static void test_gic_v3_and_its(void **state)
{
    arm64_fdt_config_t c = config_v3();
    const uint64_t reg[4] = {0x08000000, 0x10000, 0x080a0000, 4 * 0x20000};
    const uint64_t its_reg[2] = {0x08080000, 0x20000};
    int gic, its;

    (void)state;
    build(&c);
    gic = node("/interrupt-controller@8000000");
    assert_str(gic, "compatible", "arm,gic-v3");
    assert_int_equal(cell(gic, "#interrupt-cells"), 3);
    assert_non_null(fdt_getprop(blob, gic, "interrupt-controller", NULL));
    assert_reg(gic, reg, 2);
    assert_int_equal(cell(gic, "phandle"), ARM64_FDT_PHANDLE_GIC);
    assert_int_equal(fdt_subnode_offset(blob, gic, "msi-controller@8080000"), -FDT_ERR_NOTFOUND);

    c.gic.its_base = 0x08080000;
    c.gic.its_size = 0x20000;
    build(&c);
    gic = node("/interrupt-controller@8000000");
    its = node("/interrupt-controller@8000000/msi-controller@8080000");
    assert_str(its, "compatible", "arm,gic-v3-its");
    assert_non_null(fdt_getprop(blob, its, "msi-controller", NULL));
    assert_int_equal(cell(its, "#msi-cells"), 1);
    assert_reg(its, its_reg, 1);
    assert_int_equal(cell(its, "phandle"), ARM64_FDT_PHANDLE_ITS);
    assert_non_null(fdt_getprop(blob, gic, "ranges", NULL));
}

static void test_gic_v2(void **state)
{
    arm64_fdt_config_t c = config_v2();
    const uint64_t reg[4] = {0x08000000, 0x10000, 0x08010000, 0x2000};
    int gic;

    (void)state;
    build(&c);
    gic = node("/interrupt-controller@8000000");
    assert_str(gic, "compatible", "arm,cortex-a15-gic");
    assert_int_equal(cell(gic, "#interrupt-cells"), 3);
    assert_non_null(fdt_getprop(blob, gic, "interrupt-controller", NULL));
    assert_reg(gic, reg, 2);
    /* The ITS fields mean nothing to a GICv2. */
    c.gic.its_base = 0x08080000;
    c.gic.its_size = 0x20000;
    build(&c);
    assert_int_equal(
        fdt_subnode_offset(blob, node("/interrupt-controller@8000000"), "msi-controller@8080000"),
        -FDT_ERR_NOTFOUND);
}

static void test_timer(void **state)
{
    arm64_fdt_config_t c = config_v3();
    /* <GIC_PPI n IRQ_TYPE_LEVEL_HIGH> for 13, 14, 11, 10. */
    const uint32_t v3[12] = {1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4};
    /* GICv2 with 2 vCPUs: CPU mask 0b11 in bits [15:8]. */
    const uint32_t v2[12] = {1, 13, 0x304, 1, 14, 0x304, 1, 11, 0x304, 1, 10, 0x304};
    int t;

    (void)state;
    build(&c);
    t = node("/timer");
    assert_str(t, "compatible", "arm,armv8-timer");
    assert_cells(t, "interrupts", v3, 12);
    assert_non_null(fdt_getprop(blob, t, "always-on", NULL));
    c = config_v2();
    build(&c);
    assert_cells(node("/timer"), "interrupts", v2, 12);
    /* 8 vCPUs: the full mask. */
    c.nr_cpus = 8;
    build(&c);
    assert_int_equal(fdt32_to_cpu(((const fdt32_t *)prop(node("/timer"), "interrupts", NULL))[2]),
                     0xff04);
}

static void test_uart_and_clock(void **state)
{
    arm64_fdt_config_t c = config_v3();
    const uint64_t reg[2] = {0x09000000, 0x1000};
    const uint32_t irq[3] = {0, 1, 4};
    const uint32_t clocks[2] = {ARM64_FDT_PHANDLE_APB_PCLK, ARM64_FDT_PHANDLE_APB_PCLK};
    int uart, clk;

    (void)state;
    build(&c);
    uart = node("/pl011@9000000");
    assert_strlist(uart, "compatible", "arm,pl011\0arm,primecell",
                   sizeof("arm,pl011\0arm,primecell"));
    assert_reg(uart, reg, 1);
    assert_cells(uart, "interrupts", irq, 3);
    assert_cells(uart, "clocks", clocks, 2);
    assert_strlist(uart, "clock-names", "uartclk\0apb_pclk", sizeof("uartclk\0apb_pclk"));
    clk = fdt_node_offset_by_phandle(blob, ARM64_FDT_PHANDLE_APB_PCLK);
    assert_int_equal(clk, node("/apb-pclk"));
    assert_str(clk, "compatible", "fixed-clock");
    assert_int_equal(cell(clk, "#clock-cells"), 0);
    assert_int_equal(cell(clk, "clock-frequency"), 24000000);
    c.uart.clock_hz = 1843200;
    build(&c);
    assert_int_equal(cell(node("/apb-pclk"), "clock-frequency"), 1843200);
    /* No UART: no node, no clock, no stdout-path. */
    c.uart.size = 0;
    build(&c);
    assert_true(fdt_path_offset(blob, "/pl011@9000000") < 0);
    assert_true(fdt_path_offset(blob, "/apb-pclk") < 0);
    assert_null(fdt_getprop(blob, node("/chosen"), "stdout-path", NULL));
}

static void test_chosen(void **state)
{
    arm64_fdt_config_t c = config_v3();
    int chosen, len;
    const char *path;
    const uint8_t *rng;

    (void)state;
    build(&c);
    chosen = node("/chosen");
    assert_str(chosen, "bootargs", "console=ttyAMA0 earlycon");
    assert_int_equal(u64_prop(chosen, "linux,initrd-start"), 0x48000000);
    assert_int_equal(u64_prop(chosen, "linux,initrd-end"), 0x48000000 + 0x123456);
    path = prop(chosen, "stdout-path", &len);
    assert_string_equal(path, "/pl011@9000000");
    assert_int_equal(fdt_path_offset(blob, path), node("/pl011@9000000"));
    rng = prop(chosen, "rng-seed", &len);
    assert_int_equal(len, sizeof(seed));
    assert_memory_equal(rng, seed, sizeof(seed));
    assert_int_equal(u64_prop(chosen, "kaslr-seed"), 0x1122334455667788ull);

    /* Optional ones absent. */
    c = config_v2();
    c.bootargs = NULL;
    build(&c);
    chosen = node("/chosen");
    assert_null(fdt_getprop(blob, chosen, "bootargs", NULL));
    assert_null(fdt_getprop(blob, chosen, "linux,initrd-start", NULL));
    assert_null(fdt_getprop(blob, chosen, "linux,initrd-end", NULL));
    assert_null(fdt_getprop(blob, chosen, "rng-seed", NULL));
    assert_null(fdt_getprop(blob, chosen, "kaslr-seed", NULL));
    assert_non_null(fdt_getprop(blob, chosen, "stdout-path", NULL));
}

static void test_virtio(void **state)
{
    arm64_fdt_config_t c = config_v3();
    const uint64_t reg0[2] = {0x0a000000, 0x200}, reg1[2] = {0x0a000200, 0x200};
    const uint32_t irq0[3] = {0, 16, 1}, irq1[3] = {0, 17, 4};
    int v0, v1;

    (void)state;
    build(&c);
    v0 = node("/virtio_mmio@a000000");
    v1 = node("/virtio_mmio@a000200");
    assert_str(v0, "compatible", "virtio,mmio");
    assert_reg(v0, reg0, 1);
    assert_cells(v0, "interrupts", irq0, 3);
    assert_non_null(fdt_getprop(blob, v0, "dma-coherent", NULL));
    assert_reg(v1, reg1, 1);
    assert_cells(v1, "interrupts", irq1, 3);
}

static const arm64_fdt_crossvm_t crossvm_ends[] = {
    {.name = "ping",
     .event_base = 0x0fff0000,
     .event_size = 0x1000,
     .mem_base = 0x8000000000ull,
     .mem_size = 0x10000,
     .intid = 80},
    {.name = "ping",
     .event_base = 0x0fff1000,
     .event_size = 0x1000,
     .mem_base = 0x8000010000ull,
     .mem_size = 0x10000,
     .intid = 81},
};

/* Cross-VM channel ends on MMIO: what uio_pdrv_genirq and the guest tool read. */
static void test_crossvm(void **state)
{
    arm64_fdt_config_t c = config_v3();
    const uint64_t reg[4] = {0x0fff1000, 0x1000, 0x8000010000ull, 0x10000};
    const uint32_t irq[3] = {0, 49, 4}; /* SPI 49 = INTID 81, level-high */
    char msg[200];
    int n;

    (void)state;
    c.crossvm = crossvm_ends;
    c.nr_crossvm = 2;
    build(&c);
    node("/crossvm@fff0000");
    n = node("/crossvm@fff1000");
    assert_str(n, "compatible", "vmmkit,crossvm");
    assert_reg(n, reg, 2);
    assert_cells(n, "interrupts", irq, 3);
    assert_str(n, "label", "ping");
    /* Checked like every device: intids and places. */
    arm64_fdt_crossvm_t bad[2] = {crossvm_ends[0], crossvm_ends[1]};
    c.crossvm = bad;
    bad[1].intid = 80;
    assert_int_equal(arm64_fdt_check_config(&c, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "crossvm[0] and crossvm[1] share intid 80"));
    bad[1].intid = 48; /* a virtio-mmio transport's */
    c.virtio = virtio_devs;
    c.nr_virtio = 1;
    assert_int_equal(arm64_fdt_check_config(&c, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "crossvm[1] and virtio[0] share intid 48"));
    bad[1].intid = 81;
    bad[1].mem_base = 0x8000008000ull;
    assert_int_equal(arm64_fdt_check_config(&c, msg, sizeof(msg)), -EINVAL);
    assert_non_null(strstr(msg, "crossvm.mem[1]"));
    bad[1] = crossvm_ends[1];
    bad[1].name = NULL;
    assert_int_equal(arm64_fdt_check_config(&c, msg, sizeof(msg)), -EINVAL);
    c.nr_crossvm = 1;
    c.crossvm = NULL;
    assert_int_equal(arm64_fdt_check_config(&c, msg, sizeof(msg)), -EINVAL);
}

static const arm64_fdt_pci_irq_t pci_irqs[] = {
    {.devfn = 1 << 3, .pin = 1, .intid = 35},
    {.devfn = 2 << 3, .pin = 1, .intid = 36},
};

static arm64_fdt_config_t config_pci(void)
{
    arm64_fdt_config_t c = config_v3();

    c.gic.its_base = 0x08080000;
    c.gic.its_size = 0x20000;
    c.pci = (arm64_fdt_pci_t){
        .ecam_base = 0x30000000,
        .ecam_size = 0x100000,
        .bus_first = 0,
        .bus_last = 0,
        .mmio_base = 0x10000000,
        .mmio_size = 0x10000000,
        .mmio64_base = 0x8000000000ull,
        .mmio64_size = 0x8000000000ull,
        .irq_map = pci_irqs,
        .nr_irq_map = 2,
        .msi = true,
    };
    return c;
}

static void test_pci(void **state)
{
    arm64_fdt_config_t c = config_pci();
    const uint64_t reg[2] = {0x30000000, 0x100000};
    const uint32_t bus[2] = {0, 0};
    const uint32_t ranges[14] = {0x02000000, 0,    0x10000000, 0,    0x10000000, 0,    0x10000000,
                                 0x03000000, 0x80, 0,          0x80, 0,          0x80, 0};
    const uint32_t map[20] = {1 << 11, 0, 0, 1, 1, 0, 0, 0, 3, 4,
                              2 << 11, 0, 0, 1, 1, 0, 0, 0, 4, 4};
    const uint32_t mask[4] = {0xf800, 0, 0, 7};
    const uint32_t msi_map[4] = {0, 3, 0, 0x10000};
    int p;

    (void)state;
    build(&c);
    p = node("/pcie@30000000");
    assert_str(p, "compatible", "pci-host-ecam-generic");
    assert_str(p, "device_type", "pci");
    assert_reg(p, reg, 1);
    assert_cells(p, "bus-range", bus, 2);
    assert_cells(p, "ranges", ranges, 14);
    assert_cells(p, "interrupt-map", map, 20);
    assert_cells(p, "interrupt-map-mask", mask, 4);
    assert_cells(p, "msi-map", msi_map, 4);
    assert_int_equal(cell(p, "#address-cells"), 3);
    assert_int_equal(cell(p, "#interrupt-cells"), 1);

    /* Bad PCI descriptions are refused. */
    c.pci.ecam_size = 0x200000; /* two buses' worth for one bus */
    assert_int_equal(arm64_fdt_build(&c, blob, sizeof(blob)), -EINVAL);
    c = config_pci();
    c.pci.mmio_base = 0xf8000000; /* window crosses 4 GiB */
    assert_int_equal(arm64_fdt_build(&c, blob, sizeof(blob)), -EINVAL);
    c = config_pci();
    c.gic.its_size = 0; /* MSIs without an ITS */
    assert_int_equal(arm64_fdt_build(&c, blob, sizeof(blob)), -EINVAL);
    c = config_pci();
    c.pci.ecam_base = 0x08000000; /* on top of the GIC */
    assert_int_equal(arm64_fdt_build(&c, blob, sizeof(blob)), -EINVAL);
}

static void test_buffer_too_small(void **state)
{
    arm64_fdt_config_t c = config_v3();
    static uint8_t small[ARM64_FDT_DEFAULT_SIZE];
    size_t need;

    (void)state;
    build(&c);
    need = fdt_totalsize(blob);
    assert_true(need < 4096); /* a typical tree is small */
    for (size_t n = 0; n < need; n += (n < 64 ? 1 : 61))
        assert_int_equal(arm64_fdt_build(&c, small, n), -ENOSPC);
    assert_int_equal(arm64_fdt_build(&c, small, need - 1), -ENOSPC);
    assert_int_equal(arm64_fdt_build(&c, small, need), 0);
    assert_int_equal(fdt_check_header(small), 0);
    assert_memory_equal(small, blob, need);
}

/* Each broken config is refused with -EINVAL and a message naming the field. */
static void test_bad_configs(void **state)
{
    static const arm64_fdt_mem_region_t empty_region[] = {{0x40000000, 0}};
    static const arm64_fdt_mem_region_t overlap_uart[] = {{0x08ff0000, 0x20000}};
    static const arm64_fdt_mem_region_t wrap_region[] = {{UINT64_MAX - 0xfff, 0x2000}};
    static const arm64_fdt_virtio_mmio_t clash[] = {
        {.base = 0x0a000000, .size = 0x200, .intid = 33}};
    static const arm64_fdt_virtio_mmio_t dup[] = {{.base = 0x0a000000, .size = 0x200, .intid = 40},
                                                  {.base = 0x0a000200, .size = 0x200, .intid = 40}};
    static const uint64_t dup_mpidr[2] = {0x80000001, 0x1};
    struct {
        const char *expect;
        arm64_fdt_config_t c;
    } cases[24];
    unsigned int n = 0;
    char msg[200];

    (void)state;
#define CASE(str, stmt)                                                                            \
    do {                                                                                           \
        cases[n].expect = (str);                                                                   \
        cases[n].c = config_v3();                                                                  \
        {                                                                                          \
            arm64_fdt_config_t *c = &cases[n].c;                                                   \
            stmt;                                                                                  \
        }                                                                                          \
        n++;                                                                                       \
    } while (0)
    CASE("no memory", c->nr_mem = 0);
    CASE("mem[0].size is 0", c->mem = empty_region);
    CASE("nr_cpus is 0", c->nr_cpus = 0);
    CASE("nr_cpus is 513", (c->nr_cpus = 513, c->gic.redist_size = 513 * 0x20000));
    CASE("share MPIDR", (c->nr_cpus = 2, c->cpu_mpidr = dup_mpidr));
    CASE("gic.version is 4", c->gic.version = 4);
    CASE("gic.dist_size is 0", c->gic.dist_size = 0);
    CASE("gic.redist_size", c->nr_cpus = 5);
    CASE("GICv2", (*c = config_v2(), c->nr_cpus = 9));
    CASE("gic.cpu_size is 0", (*c = config_v2(), c->gic.cpu_size = 0));
    CASE("uart.intid is 31", c->uart.intid = 31);
    CASE("uart.intid is 1020", c->uart.intid = 1020);
    CASE("virtio[0].intid 33 is the UART's", (c->virtio = clash, c->nr_virtio = 1));
    CASE("share intid 40", (c->virtio = dup, c->nr_virtio = 2));
    CASE("virtio is NULL", c->virtio = NULL);
    CASE("overlaps", c->mem = overlap_uart);
    CASE("wraps", c->mem = wrap_region);
    CASE("overlaps gic.dist", c->gic.redist_base = 0x08008000);
    CASE("initrd", c->initrd_start = UINT64_MAX - 10);
    CASE("rng_seed is NULL", c->rng_seed = NULL);
#undef CASE
    for (unsigned int i = 0; i < n; i++) {
        int ret = arm64_fdt_check_config(&cases[i].c, msg, sizeof(msg));

        if (ret != -EINVAL || !strstr(msg, cases[i].expect))
            fail_msg("case %u: want -EINVAL with \"%s\", got %d \"%s\"", i, cases[i].expect, ret,
                     msg);
        assert_int_equal(arm64_fdt_build(&cases[i].c, blob, sizeof(blob)), -EINVAL);
    }
    assert_int_equal(arm64_fdt_check_config(NULL, msg, sizeof(msg)), -EINVAL);
    assert_int_equal(arm64_fdt_build(NULL, blob, sizeof(blob)), -EINVAL);
    {
        arm64_fdt_config_t c = config_v3();

        assert_int_equal(arm64_fdt_check_config(&c, msg, sizeof(msg)), 0);
        assert_string_equal(msg, "");
        assert_int_equal(arm64_fdt_check_config(&c, NULL, 0), 0);
        assert_int_equal(arm64_fdt_build(&c, NULL, 4096), -EINVAL);
    }
}

/* True when dtc can be run. */
static bool have_dtc(void)
{
    return system("command -v dtc >/dev/null 2>&1") == 0;
}

/*
 * Write the current blob to a file and decompile it with dtc, which runs its
 * full set of checks; any output on stderr (a warning) fails the test.
 */
static void dtc_clean(const char *what)
{
    char dtb[] = "/tmp/vmmkit-test-fdt-XXXXXX";
    char errf[] = "/tmp/vmmkit-test-dtc-XXXXXX";
    char cmd[256], err[4096];
    int fd, efd, status;
    ssize_t n;

    fd = mkstemp(dtb);
    assert_true(fd >= 0);
    efd = mkstemp(errf);
    assert_true(efd >= 0);
    assert_int_equal(write(fd, blob, fdt_totalsize(blob)), (ssize_t)fdt_totalsize(blob));
    close(fd);
    snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>%s", dtb, errf);
    status = system(cmd);
    n = read(efd, err, sizeof(err) - 1);
    close(efd);
    unlink(dtb);
    unlink(errf);
    err[n > 0 ? n : 0] = '\0';
    if (status != 0 || n != 0)
        fail_msg("dtc on the %s tree: status %d, stderr:\n%s", what, status, err);
}

static void test_dtc_warning_free(void **state)
{
    arm64_fdt_config_t c;

    (void)state;
    if (!have_dtc()) {
        fprintf(stderr, "\n*** SKIPPED: dtc (device-tree-compiler) is not installed; "
                        "the DTB was not checked for warnings ***\n\n");
        skip();
    }
    c = config_v3();
    build(&c);
    dtc_clean("GICv3");
    c.gic.its_base = 0x08080000;
    c.gic.its_size = 0x20000;
    build(&c);
    dtc_clean("GICv3+ITS");
    c = config_pci();
    build(&c);
    dtc_clean("PCI host bridge");
    c = config_v3();
    c.crossvm = crossvm_ends;
    c.nr_crossvm = 2;
    build(&c);
    dtc_clean("cross-VM channel ends");
    c = config_v2();
    build(&c);
    dtc_clean("GICv2");
    c.uart.size = 0;
    c.nr_cpus = 1;
    build(&c);
    dtc_clean("minimal");
    c = config_v3();
    {
        static const uint64_t mpidr[2] = {0x80000000, 0x0100000000ull};

        c.nr_cpus = 2;
        c.cpu_mpidr = mpidr;
        build(&c);
        dtc_clean("two-cell cpu reg");
    }
}

int main(void)
{
    /* One test per line. */
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_root_and_memory),
        cmocka_unit_test(test_cpus_and_psci),
        cmocka_unit_test(test_cpus_mpidr),
        cmocka_unit_test(test_gic_v3_and_its),
        cmocka_unit_test(test_gic_v2),
        cmocka_unit_test(test_timer),
        cmocka_unit_test(test_uart_and_clock),
        cmocka_unit_test(test_chosen),
        cmocka_unit_test(test_virtio),
        cmocka_unit_test(test_crossvm),
        cmocka_unit_test(test_pci),
        cmocka_unit_test(test_buffer_too_small),
        cmocka_unit_test(test_bad_configs),
        cmocka_unit_test(test_dtc_warning_free),
    };
    /* clang-format on */

    return cmocka_run_group_tests_name("arm64_fdt", tests, NULL, NULL);
}
