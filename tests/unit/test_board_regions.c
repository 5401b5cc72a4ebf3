/*
 * Unit tests for src/board/regions.c: where a board lets --guard and
 * --forward regions go (on the arm64 virt board's layout, virt_layout()),
 * their files and sockets, and making, resetting and freeing them on a VM
 * of the fake backend; and of src/board/channels.c, whose places (cross-VM
 * channel ends, shared maps) the same checks cover.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vmmkit/log.h>

#include "arch/arm64/virt_priv.h"
#include "fake_hv.h"

struct fixture {
    char dir[64];
    char contents[128]; /* 256 bytes: 0, 1, ..., 255 */
    char writable[128]; /* 256 bytes: the first 16 writable */
    char short_file[128];
    char listening[128]; /* a SOCK_SEQPACKET socket someone listens on */
    char dead[128];      /* a socket file nobody listens on */
    int listen_fd;
    board_guard_t guards[BOARD_MAX_GUARDS + 1];
    board_forward_t forwards[BOARD_MAX_FORWARDS + 1];
    arm64_virt_config_t cfg;
    board_layout_t lay;
    char err[512];
};

static void write_file(const char *path, const void *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static int bind_socket(const char *path, bool listening)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    if (listening)
        assert_int_equal(listen(fd, 4), 0);
    return fd;
}

static int setup(void **state)
{
    vmm_log_set_level(VMM_LOG_ERR);
    struct fixture *f = calloc(1, sizeof(*f));
    uint8_t bytes[256];

    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/vmmkit-regions-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->contents, sizeof(f->contents), "%s/contents", f->dir);
    snprintf(f->writable, sizeof(f->writable), "%s/writable", f->dir);
    snprintf(f->short_file, sizeof(f->short_file), "%s/short", f->dir);
    snprintf(f->listening, sizeof(f->listening), "%s/handler.sock", f->dir);
    snprintf(f->dead, sizeof(f->dead), "%s/dead.sock", f->dir);
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)i;
    write_file(f->contents, bytes, 256);
    memset(bytes, 0, sizeof(bytes));
    memset(bytes, 0xff, 16);
    write_file(f->writable, bytes, 256);
    write_file(f->short_file, bytes, 255);
    f->listen_fd = bind_socket(f->listening, true);
    close(bind_socket(f->dead, false));

    f->cfg = (arm64_virt_config_t){
        .ram_size = 256ull << 20,
        .guards = f->guards,
        .forwards = f->forwards,
    };
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    close(f->listen_fd);
    unlink(f->contents);
    unlink(f->writable);
    unlink(f->short_file);
    unlink(f->listening);
    unlink(f->dead);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Check @f's config, expecting @ret and (when @msg) a one-line message containing it. */
static void check_expect(struct fixture *f, int ret, const char *msg)
{
    f->err[0] = '\0';
    virt_layout(&f->cfg, &f->lay);
    int r = board_regions_check(&f->cfg, &f->lay, f->err, sizeof(f->err));
    if (r != ret)
        fail_msg("got %d want %d (%s)", r, ret, f->err);
    if (msg && !strstr(f->err, msg))
        fail_msg("message '%s' lacks '%s'", f->err, msg);
    assert_null(strchr(f->err, '\n'));
}

static void test_places(void **state)
{
    struct fixture *f = *state;
    static const struct {
        uint64_t base, size;
        int ret;
        const char *msg;
    } cases[] = {
        {0x0c000000, 0x1000, 0, NULL},
        {0x0c000000, 0x04000000, 0, NULL}, /* the whole free window */
        {0x0a004000, 0x1000, 0, NULL},     /* right after the virtio-mmio windows */
        {0x09001000, 0x1000, 0, NULL},     /* right after the UART */
        {0x3f100000, 0x00f00000, 0, NULL}, /* between the ECAM and RAM */
        {0x50000000, 0x1000, 0, NULL},     /* right after 256M of RAM */
        {0x0, 0x1000, 0, NULL},            /* below everything */
        {0x40000000, 0x1000, -EINVAL,
         "--guard 0x40000000,0x1000: overlaps guest RAM at "
         "0x40000000-0x4fffffff (--mem 256M)"},
        {0x4ffff000, 0x2000, -EINVAL, "overlaps guest RAM"},
        {0x3ffff000, 0x2000, -EINVAL, "overlaps guest RAM"},
        {0x08000000, 0x1000, -EINVAL, "overlaps the GIC at 0x8000000-0x8ffffff"},
        {0x08ffffff, 1, -EINVAL, "overlaps the GIC"},
        {0x09000000, 0x1000, -EINVAL, "overlaps the PL011 UART at 0x9000000-0x9000fff"},
        {0x09000fff, 0x10, -EINVAL, "overlaps the PL011 UART"},
        {0x0a003e00, 0x1000, -EINVAL, "overlaps the virtio-mmio windows at 0xa000000-0xa003fff"},
        {0x0ffff000, 0x2000, -EINVAL, "overlaps the PCI memory window at 0x10000000-0x3effffff"},
        {0x3efff000, 0x2000, -EINVAL, "overlaps the PCI memory window"},
        {0x3f0ff000, 0x1000, -EINVAL, "overlaps the PCI ECAM at 0x3f000000-0x3f0fffff"},
        {0x07000000, 0x02000000, -EINVAL, "overlaps the GIC"},
        {0x0c000000, 0, -EINVAL, "the size must be more than 0"},
        {0xfffffffffffff000ull, 0x2000, -EINVAL, "must not wrap"},
    };
    (void)state;
    f->cfg.nr_guards = 1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f->guards[0] = (board_guard_t){.base = cases[i].base, .size = cases[i].size};
        check_expect(f, cases[i].ret, cases[i].msg);
        /* A forwarding region goes where a guard goes. */
        f->cfg.nr_guards = 0;
        f->cfg.nr_forwards = 1;
        f->forwards[0] =
            (board_forward_t){.base = cases[i].base, .size = cases[i].size, .socket = f->listening};
        check_expect(f, cases[i].ret, cases[i].ret ? "--forward " : NULL);
        f->cfg.nr_guards = 1;
        f->cfg.nr_forwards = 0;
    }
    /* A guard's own limits. */
    f->guards[0] = (board_guard_t){.base = 0x50000000, .size = MMIO_GUARD_MAX_SIZE + 1};
    check_expect(f, -EINVAL, "larger than the limit of 64M");
    f->guards[0] = (board_guard_t){.base = 0x0c000000, .size = 1, .policy = 7};
    check_expect(f, -EINVAL, "policy 7 is none of");
}

static void test_regions_overlap(void **state)
{
    struct fixture *f = *state;

    f->cfg.nr_guards = 2;
    f->cfg.nr_forwards = 1;
    f->guards[0] = (board_guard_t){.base = 0x0c000000, .size = 0x1000};
    f->guards[1] = (board_guard_t){.base = 0x0c001000, .size = 0x1000};
    f->forwards[0] = (board_forward_t){.base = 0x0c002000, .size = 0x1000, .socket = f->listening};
    check_expect(f, 0, NULL);
    f->guards[1].base = 0x0c000fff;
    check_expect(f, -EINVAL, "--guard 0xc000fff,0x1000: overlaps --guard 0xc000000,0x1000");
    f->guards[1].base = 0x0c001000;
    f->forwards[0].base = 0x0c001800;
    check_expect(f, -EINVAL, "--forward 0xc001800,0x1000: overlaps --guard 0xc001000,0x1000");
    f->forwards[0].base = 0x0c002000;
    f->cfg.nr_forwards = 2;
    f->forwards[1] = (board_forward_t){.base = 0x0c000000, .size = 0x10000, .socket = f->listening};
    check_expect(f, -EINVAL, "--forward 0xc000000,0x10000: overlaps --guard 0xc000000,0x1000");

    /* At most 8 of each. */
    f->cfg.nr_guards = BOARD_MAX_GUARDS + 1;
    check_expect(f, -EINVAL, "9 --guard regions: at most 8");
    f->cfg.nr_guards = 0;
    f->cfg.nr_forwards = BOARD_MAX_FORWARDS + 1;
    check_expect(f, -EINVAL, "9 --forward regions: at most 8");
}

static void test_files_and_sockets(void **state)
{
    struct fixture *f = *state;
    char msg[512];

    f->cfg.nr_guards = 1;
    f->guards[0] = (board_guard_t){
        .base = 0x0c000000, .size = 256, .contents = f->contents, .writable = f->writable};
    check_expect(f, 0, NULL);
    f->guards[0].size = 512;
    snprintf(msg, sizeof(msg),
             "--guard 0xc000000,0x200: contents %s: 256 bytes, but the region is 512 bytes",
             f->contents);
    check_expect(f, -EINVAL, msg);
    f->guards[0].size = 256;
    f->guards[0].writable = f->short_file;
    snprintf(msg, sizeof(msg), "writable %s: 255 bytes, but the region is 256", f->short_file);
    check_expect(f, -EINVAL, msg);
    f->guards[0].writable = "/nonexistent/mask";
    check_expect(f, -ENOENT, "--guard 0xc000000,0x100: writable /nonexistent/mask: No such file");
    f->guards[0].writable = f->dir;
    check_expect(f, -EINVAL, "not a regular file");
    f->guards[0].writable = NULL;
    f->guards[0].contents = NULL;
    check_expect(f, 0, NULL);

    f->cfg.nr_guards = 0;
    f->cfg.nr_forwards = 1;
    f->forwards[0] = (board_forward_t){.base = 0x0c100000, .size = 0x1000};
    check_expect(f, -EINVAL, "--forward 0xc100000,0x1000: no socket given");
    f->forwards[0].socket = "/nonexistent/handler.sock";
    check_expect(f, -ENOENT,
                 "--forward 0xc100000,0x1000: socket /nonexistent/handler.sock: No such file or "
                 "directory (start the handler first)");
    f->forwards[0].socket = f->contents;
    check_expect(f, -ENOTSOCK, "is not a socket");
    f->forwards[0].socket = f->dead; /* exists: connecting is for create */
    check_expect(f, 0, NULL);
    f->forwards[0].socket = f->listening;
    f->forwards[0].timeout_ms = MMIO_FORWARD_MAX_TIMEOUT_MS + 1;
    check_expect(f, -EINVAL, "timeout 60001 ms is over the limit");
}

static void test_create_reset_destroy(void **state)
{
    struct fixture *f = *state;
    board_devices_t *b = calloc(1, sizeof(*b));
    uint8_t buf[256];
    uint64_t v;

    assert_non_null(b);
    b->vm = fake_vm_create();
    assert_non_null(b->vm);
    assert_int_equal(vm_memory_init(b->vm), 0);
    f->cfg.nr_guards = 2;
    f->guards[0] = (board_guard_t){.base = 0x0c000000,
                                   .size = 256,
                                   .policy = MMIO_GUARD_MASK,
                                   .contents = f->contents,
                                   .writable = f->writable};
    f->guards[1] = (board_guard_t){.base = 0x0c001000, .size = 16};
    f->cfg.nr_forwards = 1;
    f->forwards[0] = (board_forward_t){
        .base = 0x0c100000, .size = 0x1000, .socket = f->listening, .timeout_ms = 100};
    b->cfg = &f->cfg;
    virt_layout(&f->cfg, &f->lay);
    b->layout = &f->lay;
    check_expect(f, 0, NULL);
    assert_int_equal(board_regions_create(b, f->err, sizeof(f->err)), 0);
    assert_non_null(b->guards[0]);
    assert_non_null(b->guards[1]);
    assert_non_null(b->forwards[0]);
    assert_true(mmio_forward_connected(b->forwards[0]));

    /* The contents came from the file, the mask too; a guard without files is zeros. */
    assert_int_equal(mmio_guard_read(b->guards[0], 0, buf, 256), 0);
    for (int i = 0; i < 256; i++)
        assert_int_equal(buf[i], i);
    v = 0xaaaaaaaaaaaaaaaaull;
    assert_int_equal(mmio_guard_access(b->guards[0], 12, 8, true, &v), FAULT_HANDLED);
    assert_int_equal(mmio_guard_access(b->guards[0], 12, 8, false, &v), FAULT_HANDLED);
    assert_int_equal(v, 0x13121110aaaaaaaaull); /* bytes 12..15 writable, 16..19 not */
    assert_int_equal(mmio_guard_read(b->guards[1], 0, buf, 16), 0);
    for (int i = 0; i < 16; i++)
        assert_int_equal(buf[i], 0);

    /* Reset puts the file's bytes back. */
    assert_int_equal(vm_reset(b->vm), 0);
    assert_int_equal(mmio_guard_access(b->guards[0], 12, 8, false, &v), FAULT_HANDLED);
    assert_int_equal(v, 0x131211100f0e0d0cull);

    /* The ranges are taken while the regions live and free again after. */
    assert_null(vm_reserve_memory_at(b->vm, 0x0c100800, 0x10, NULL, NULL));
    board_regions_destroy(b);
    assert_null(b->guards[0]);
    assert_null(b->forwards[0]);
    vm_memory_reservation_t *res = vm_reserve_memory_at(b->vm, 0x0c000000, 0x200000, NULL, NULL);
    assert_non_null(res);
    vm_free_reserved_memory(b->vm, res);
    vm_destroy(b->vm);
    free(b);
}

static void test_create_failures(void **state)
{
    struct fixture *f = *state;
    board_devices_t *b = calloc(1, sizeof(*b));
    char msg[512];

    assert_non_null(b);
    b->vm = fake_vm_create();
    assert_non_null(b->vm);
    assert_int_equal(vm_memory_init(b->vm), 0);
    f->cfg.nr_forwards = 1;
    f->forwards[0] = (board_forward_t){.base = 0x0c100000, .size = 0x1000, .socket = f->dead};
    b->cfg = &f->cfg;
    virt_layout(&f->cfg, &f->lay);
    b->layout = &f->lay;
    assert_int_equal(board_regions_create(b, f->err, sizeof(f->err)), -ECONNREFUSED);
    snprintf(msg, sizeof(msg),
             "--forward 0xc100000,0x1000: cannot connect to the handler at %s: Connection "
             "refused (nothing listens there: start the handler first)",
             f->dead);
    assert_string_equal(f->err, msg);
    assert_null(b->forwards[0]);

    /* The file changed between the check and the create. */
    f->cfg.nr_forwards = 0;
    f->cfg.nr_guards = 1;
    f->guards[0] = (board_guard_t){.base = 0x0c000000, .size = 255, .contents = f->short_file};
    b->cfg = &f->cfg;
    virt_layout(&f->cfg, &f->lay);
    b->layout = &f->lay;
    check_expect(f, 0, NULL);
    write_file(f->short_file, "x", 1);
    assert_int_equal(board_regions_create(b, f->err, sizeof(f->err)), -EINVAL);
    assert_non_null(strstr(f->err, "1 bytes, but the region is 255 bytes"));
    board_regions_destroy(b);
    vm_destroy(b->vm);
    free(b);
}

/* A memfd of @size bytes. */
static int memfd_of(uint64_t size)
{
    int fd = memfd_create("region-test", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, (off_t)size), 0);
    return fd;
}

/* Cross-VM channel ends and shared maps (channels.c): their checks and places. */
static void test_channels_and_shared(void **state)
{
    struct fixture *f = *state;
    int mem = memfd_of(1 << 20), small = memfd_of(0x1000);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), efd2 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    board_channel_t ch[BOARD_MAX_CHANNELS + 1];
    board_shared_t sh[2];
    uint64_t ev, at;

    for (unsigned int i = 0; i < BOARD_MAX_CHANNELS + 1; i++)
        ch[i] = (board_channel_t){
            .name = "ping", .mem_fd = mem, .mem_size = 0x10000, .notify_fd = efd, .wait_fd = efd2};
    f->cfg.channels = ch;
    f->cfg.nr_channels = 2;
    ch[1].mem_size = 1 << 20;
    check_expect(f, 0, NULL);
    /* MMIO places: event pages at the top of the free window, memory from 512 GiB, aligned. */
    board_channel_place(&f->cfg, &f->lay, 0, &ev, &at);
    assert_int_equal(ev, ARM64_VIRT_CHANNEL_EVENT_BASE);
    assert_int_equal(at, ARM64_VIRT_CHANNEL_MEM_BASE);
    board_channel_place(&f->cfg, &f->lay, 1, &ev, &at);
    assert_int_equal(ev, ARM64_VIRT_CHANNEL_EVENT_BASE + 0x1000);
    assert_int_equal(at, ARM64_VIRT_CHANNEL_MEM_BASE + (1 << 20));
    /* A guard over an event page is refused, naming it; just below is fine; on PCI too. */
    f->cfg.nr_guards = 1;
    f->guards[0] = (board_guard_t){.base = 0x0fff1800, .size = 16};
    check_expect(f, -EINVAL,
                 "--guard 0xfff1800,0x10: overlaps channel 'ping' event page at "
                 "0xfff1000-0xfff1fff");
    f->guards[0].base = 0x0ffef000;
    check_expect(f, 0, NULL);
    f->guards[0].base = 0x0fff1800;
    f->cfg.transport = BOARD_TRANSPORT_PCI;
    check_expect(f, 0, NULL);
    f->cfg.transport = BOARD_TRANSPORT_MMIO;
    f->cfg.nr_guards = 0;
    /* Names, sizes, descriptors, counts. */
    ch[0].name = "";
    check_expect(f, -EINVAL, "channel 0: the name must be 1..47 bytes long");
    ch[0].name = "ping";
    ch[0].mem_size = 0x3000;
    check_expect(f, -EINVAL, "channel 'ping': size 12288: must be a power of two");
    ch[0].mem_size = 2 << 20;
    check_expect(f, -EINVAL, "holds 1048576 bytes, less than 2097152");
    ch[0].mem_size = 0x10000;
    ch[0].wait_fd = 999;
    check_expect(f, -EINVAL, "doorbell descriptors");
    ch[0].wait_fd = efd2;
    ch[0].mem_fd = efd;
    check_expect(f, -EINVAL, "is not a memory file");
    ch[0].mem_fd = mem;
    f->cfg.nr_channels = BOARD_MAX_CHANNELS + 1;
    check_expect(f, -EINVAL, "9 channel ends: at most 8");
    f->cfg.nr_channels = 1;
    ch[0].mem_size = 1ull << 40; /* past the guest-physical limit (and the memfd) */
    f->cfg.transport = BOARD_TRANSPORT_PCI;
    check_expect(f, -EINVAL, "does not fit the PCI memory window");
    f->cfg.transport = BOARD_TRANSPORT_MMIO;
    ch[0].mem_size = 0x10000;

    /* Shared maps: page multiples, big enough descriptors, places of their own. */
    f->cfg.shared = sh;
    f->cfg.nr_shared = 1;
    sh[0] = (board_shared_t){.name = "blob", .base = 0x0e000000, .size = 0x10000, .fd = mem};
    sh[1] = (board_shared_t){
        .name = "ro", .base = 0x0e010000, .size = 0x1000, .fd = small, .read_only = true};
    check_expect(f, 0, NULL);
    sh[0].base = 0x0e000800;
    check_expect(f, -EINVAL, "shared map 'blob' at 0xe000800, 0x10000 bytes: the address and size");
    sh[0].base = 0x0e000000;
    sh[0].size = 2 << 20;
    check_expect(f, -EINVAL, "shared map 'blob': descriptor");
    sh[0].size = 0x10000;
    sh[0].base = ARM64_VIRT_RAM_BASE;
    check_expect(f, -EINVAL, "shared map 'blob' at 0x40000000-0x4000ffff: overlaps guest RAM");
    sh[0].base = ARM64_VIRT_CHANNEL_MEM_BASE + 0x8000;
    check_expect(f, -EINVAL, "overlaps channel 'ping' memory at 0x8000000000-0x800000ffff");
    sh[0].base = 0x0e00f000;
    f->cfg.nr_shared = 2;
    check_expect(f, -EINVAL, "shared map 'ro' at 0xe010000-0xe010fff: overlaps shared map 'blob'");
    sh[0].base = 0x0e000000;
    check_expect(f, 0, NULL);
    f->cfg.nr_guards = 1;
    f->guards[0] = (board_guard_t){.base = 0x0e010ff0, .size = 0x20};
    check_expect(f, -EINVAL, "--guard 0xe010ff0,0x20: overlaps shared map 'ro'");
    f->cfg.nr_guards = 0;

    /* Made on a VM: a channel end at its places, the maps mapped; all freed again. */
    board_devices_t *b = calloc(1, sizeof(*b));
    assert_non_null(b);
    b->vm = fake_vm_create();
    assert_non_null(b->vm);
    b->cfg = &f->cfg;
    virt_layout(&f->cfg, &f->lay);
    b->layout = &f->lay;
    assert_int_equal(board_channels_create(b, f->err, sizeof(f->err)), 0);
    assert_non_null(b->channels[0]);
    assert_int_equal(b->nr_channel_desc, 1);
    assert_int_equal(b->channel_desc[0].event_base, ARM64_VIRT_CHANNEL_EVENT_BASE);
    assert_int_equal(b->channel_desc[0].mem_base, ARM64_VIRT_CHANNEL_MEM_BASE);
    assert_int_equal(b->channel_desc[0].irq, ARM64_VIRT_CHANNEL_INTID);
    assert_string_equal(b->channel_desc[0].name, "ping");
    assert_non_null(gpa_to_hva(b->vm, 0x0e000000, 0x10000)); /* writable: RAM to devices */
    assert_null(gpa_to_hva(b->vm, 0x0e010000, 0x1000));      /* read-only: not for DMA */
    assert_non_null(gpa_to_hva(b->vm, ARM64_VIRT_CHANNEL_MEM_BASE, 0x10000));
    assert_null(vm_reserve_memory_at(b->vm, ARM64_VIRT_CHANNEL_EVENT_BASE, 0x10, NULL, NULL));
    board_channels_destroy(b);
    assert_null(b->channels[0]);
    assert_null(gpa_to_hva(b->vm, 0x0e000000, 0x10000));
    vm_memory_reservation_t *res =
        vm_reserve_memory_at(b->vm, ARM64_VIRT_CHANNEL_EVENT_BASE, 0x10000, NULL, NULL);
    assert_non_null(res);
    vm_free_reserved_memory(b->vm, res);
    vm_destroy(b->vm);
    free(b);
    close(mem);
    close(small);
    close(efd);
    close(efd2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_places, setup, teardown),
        cmocka_unit_test_setup_teardown(test_regions_overlap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files_and_sockets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_reset_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_create_failures, setup, teardown),
        cmocka_unit_test_setup_teardown(test_channels_and_shared, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
