/*
 * fuzz_virtio_console.c - libFuzzer harness for the virtio console device
 * (src/virtio/console.c) with three ports, MULTIPORT offered, over the
 * split virtqueue (queue.c) and the common layer (virtio.c).
 *
 * The input is a hostile driver plus host input.  Byte 0 picks the
 * features the driver accepts (bit 0 EVENT_IDX, bit 1 INDIRECT_DESC, bit 2
 * MULTIPORT, bit 3 EMERG_WRITE), byte 1 the queue size (1 << (byte % 5));
 * the harness brings the device up with queue i's rings at RAM_BASE +
 * i * 0x400 (descriptors +0, available ring +0x100, used ring +0x200),
 * then plays 11-byte records:
 *
 *   byte 0      kind (bits 0-1)
 *   bytes 1-2   offset, little-endian
 *   bytes 3-10  value, little-endian
 *
 * kind 0: the driver writes the 8 value bytes to guest RAM at offset % RAM;
 * kind 1: the driver publishes head (value & 0xffff) on queue offset % 8
 *         and, when bit 16 of value is clear, kicks it;
 * kind 2: value % 4: host input of (value >> 8) % 300 bytes on port
 *         offset % 3 (virtio_console_receive(), as the chardev would call
 *         it); a config write of width 1/2/4/8 ((value >> 16) % 4) at
 *         (value >> 8) % 16 (emerg_wr among others); a config read; a kick
 *         of queue offset % 8;
 * kind 3: the driver misbehaves at the transport, value % 4: reset and
 *         bring the device up again; write status (value >> 8); enable
 *         queue offset % 8 again with size (value >> 8) and rings moved by
 *         offset; disable queue offset % 8.
 *
 * The chardevs write to /dev/null and have no input thread, so a run is
 * deterministic.  Guest RAM is a heap buffer mapped as a reservation, so
 * AddressSanitizer reports any access outside it; libFuzzer's timeout
 * catches a loop.  After every record the harness checks what it can see
 * from outside.  Build with -I src (fake_hv.h needs the core's private
 * headers).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmmkit/chardev.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_console.h>

#define FUZZ_NAME "fuzz_virtio_console"
#include "fuzz_driver.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define NPORTS 3u
#define NQ (2u * (NPORTS + 1u))
#define RECORD_OFF_BYTES 2u /* 11-byte records */

/* Queue q's rings at q * 0x400: descriptors +0, available ring +0x100, used ring +0x200. */
static const fuzz_rings_t rings = {
    .nq = NQ, .stride = 0x400, .desc = 0x000, .avail = 0x100, .used = 0x200, .end = 0x400};

struct harness {
    vm_t *vm;
    int null_fd;
    chardev_t *cd[NPORTS];
    virtio_console_t *con;
    fuzz_driver_t drv;
    uint64_t offered; /* host input bytes offered */
};

static bool harness_init(struct harness *h, uint8_t feat, uint8_t size)
{
    static const uint64_t picks[] = {
        1ull << VIRTIO_F_RING_EVENT_IDX, 1ull << VIRTIO_F_RING_INDIRECT_DESC,
        1ull << VIRTIO_CONSOLE_F_MULTIPORT, 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE};
    virtio_console_port_config_t ports[NPORTS] = {{0}};

    memset(h, 0, sizeof(*h));
    if (vm_create_with_backend(&h->vm, "fuzz", &fake_hv_ops) < 0) {
        return false;
    }
    uint8_t *ram = fuzz_ram_map(h->vm, RAM_BASE, RAM_SIZE);

    h->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(h->null_fd >= 0);
    for (unsigned int i = 0; i < NPORTS; i++) {
        h->cd[i] = chardev_stdio_open(-1, h->null_fd); /* no input thread */
        CHECK(h->cd[i]);
        ports[i].cd = h->cd[i];
    }
    ports[1].name = "fuzz.port1";
    CHECK(virtio_console_create_ports(h->vm, 0, ports, NPORTS, &h->con) == 0);
    fuzz_driver_attach(&h->drv, virtio_console_device(h->con), ram, RAM_BASE, &rings,
                       fuzz_features(1ull << VIRTIO_F_VERSION_1, feat, picks, 4),
                       (uint16_t)(1u << (size % 5)));
    fuzz_driver_bring_up(&h->drv);
    return true;
}

static void harness_fini(struct harness *h)
{
    for (unsigned int i = 0; i < NPORTS; i++) {
        chardev_close(h->cd[i]);
    }
    virtio_console_destroy(h->con);
    close(h->null_fd);
    vm_destroy(h->vm);
    free(h->drv.ram);
}

/* Host side: input, config space, a kick. */
static void host_event(struct harness *h, uint16_t off, uint64_t value)
{
    static const uint32_t widths[4] = {1, 2, 4, 8};
    uint8_t buf[300];
    virtio_device_t *v = h->drv.vdev;

    switch (value % 4) {
    case 0: {
        size_t len = (size_t)((value >> 8) % sizeof(buf));
        for (size_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)(i + off);
        }
        size_t took = virtio_console_receive(h->con, off % NPORTS, buf, len);
        CHECK(took <= len);
        h->offered += len;
        return;
    }
    case 1: {
        uint64_t data = value >> 24;
        pthread_mutex_lock(&v->lock);
        virtio_device_config_write(v, (uint32_t)((value >> 8) % 16), &data,
                                   widths[(value >> 16) % 4]);
        pthread_mutex_unlock(&v->lock);
        return;
    }
    case 2: {
        uint64_t data = 0;
        pthread_mutex_lock(&v->lock);
        virtio_device_config_read(v, (uint32_t)((value >> 8) % 16), &data,
                                  widths[(value >> 16) % 4]);
        pthread_mutex_unlock(&v->lock);
        return;
    }
    default:
        fuzz_driver_kick(&h->drv, off % NQ);
        return;
    }
}

/* What must hold after every record, whatever the driver did. */
static void check_invariants(struct harness *h)
{
    CHECK(virtio_console_stat(h->con, VIRTIO_CONSOLE_STAT_RX_BYTES) <= h->offered);
    CHECK(virtio_console_stat(h->con, VIRTIO_CONSOLE_STAT_TX_ERRORS) == 0); /* /dev/null */
    CHECK(!(h->drv.vdev->status & 0x30));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct harness *h;

    if (size < 2) {
        return 0;
    }
    vmm_log_set_level(VMM_LOG_ERR);
    h = malloc(sizeof(*h));
    if (!h || !harness_init(h, data[0], data[1])) {
        free(h);
        return 0;
    }
    size_t pos = 2;
    fuzz_record_t rec;
    while (fuzz_record_next(data, size, &pos, RECORD_OFF_BYTES, &rec)) {
        uint16_t off = (uint16_t)rec.off;

        switch (rec.head & 3) {
        case 0:
            memcpy(h->drv.ram + off % (RAM_SIZE - 7), &rec.value, 8);
            break;
        case 1:
            fuzz_driver_publish(&h->drv, off % NQ, (uint16_t)rec.value);
            if (!(rec.value & (1ull << 16))) {
                fuzz_driver_kick(&h->drv, off % NQ);
            }
            break;
        case 2:
            host_event(h, off, rec.value);
            break;
        default:
            fuzz_driver_misbehave(&h->drv, off % NQ, off, rec.value);
            break;
        }
        check_invariants(h);
    }
    harness_fini(h);
    free(h);
    return 0;
}
