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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vmmkit/chardev.h>
#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_console.h>

#include "../unit/fake_hv.h"

#define RAM_BASE 0x10000ull
#define RAM_SIZE 0x10000ull
#define QUEUE_STRIDE 0x400u
#define DESC_OFF 0x000u
#define AVAIL_OFF 0x100u
#define USED_OFF 0x200u
#define NPORTS 3u
#define NQ (2u * (NPORTS + 1u))
#define RECORD 11u

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_virtio_console: %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

struct harness {
    vm_t *vm;
    uint8_t *ram;
    int null_fd;
    chardev_t *cd[NPORTS];
    virtio_console_t *con;
    virtio_device_t *vdev;
    virtio_transport_ops_t transport;
    uint64_t features;
    uint16_t qsize;
    uint16_t avail_idx[NQ]; /* the driver's next avail.idx per queue */
    uint64_t offered;       /* host input bytes offered */
    uint64_t irqs;
};

static void count_irq(virtio_device_t *vdev, unsigned int queue)
{
    struct harness *h = vdev->transport_priv;
    h->irqs++;
}

static void count_config_irq(virtio_device_t *vdev)
{
    struct harness *h = vdev->transport_priv;
    h->irqs++;
}

/* RAM for the map iterator: the harness's heap buffer. */
static int map_ram(uintptr_t addr, size_t size, vm_memory_backing_t *backing, void *cookie)
{
    backing->hva = cookie;
    backing->readonly = false;
    return 0;
}

static uint64_t ring_base(unsigned int q)
{
    return RAM_BASE + (uint64_t)q * QUEUE_STRIDE;
}

/* What a driver does at probe (3.1.1), under the lock as a transport would. */
static void bring_up(struct harness *h)
{
    virtio_device_t *v = h->vdev;

    pthread_mutex_lock(&v->lock);
    virtio_device_write_status(v, 0);
    virtio_device_write_status(v, 1);
    virtio_device_write_status(v, 3);
    virtio_device_write_features(v, 0, (uint32_t)h->features);
    virtio_device_write_features(v, 1, (uint32_t)(h->features >> 32));
    virtio_device_write_status(v, 11);
    for (unsigned int q = 0; q < NQ; q++) {
        v->qcfg[q].size = h->qsize;
        v->qcfg[q].desc = ring_base(q) + DESC_OFF;
        v->qcfg[q].driver = ring_base(q) + AVAIL_OFF;
        v->qcfg[q].device = ring_base(q) + USED_OFF;
        virtio_device_queue_enable(v, q);
        memset(h->ram + (ring_base(q) - RAM_BASE) + AVAIL_OFF, 0, QUEUE_STRIDE - AVAIL_OFF);
        h->avail_idx[q] = 0;
    }
    virtio_device_write_status(v, 15);
    pthread_mutex_unlock(&v->lock);
}

static bool harness_init(struct harness *h, uint8_t feat, uint8_t size)
{
    virtio_console_port_config_t ports[NPORTS] = {{0}};

    memset(h, 0, sizeof(*h));
    if (vm_create_with_backend(&h->vm, "fuzz", &fake_hv_ops) < 0) {
        return false;
    }
    h->ram = aligned_alloc(4096, RAM_SIZE);
    vm_memory_reservation_t *r = vm_reserve_memory_at(h->vm, RAM_BASE, RAM_SIZE, NULL, NULL);
    CHECK(h->ram && r);
    memset(h->ram, 0, RAM_SIZE);
    CHECK(vm_map_reservation(h->vm, r, map_ram, h->ram) == 0);

    h->null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(h->null_fd >= 0);
    for (unsigned int i = 0; i < NPORTS; i++) {
        h->cd[i] = chardev_stdio_open(-1, h->null_fd); /* no input thread */
        CHECK(h->cd[i]);
        ports[i].cd = h->cd[i];
    }
    ports[1].name = "fuzz.port1";
    CHECK(virtio_console_create_ports(h->vm, 0, ports, NPORTS, &h->con) == 0);
    h->vdev = virtio_console_device(h->con);
    h->transport.notify_used = count_irq;
    h->transport.notify_config = count_config_irq;
    virtio_device_set_transport(h->vdev, &h->transport, h);

    h->features = 1ull << VIRTIO_F_VERSION_1;
    if (feat & 1) {
        h->features |= 1ull << VIRTIO_F_RING_EVENT_IDX;
    }
    if (feat & 2) {
        h->features |= 1ull << VIRTIO_F_RING_INDIRECT_DESC;
    }
    if (feat & 4) {
        h->features |= 1ull << VIRTIO_CONSOLE_F_MULTIPORT;
    }
    if (feat & 8) {
        h->features |= 1ull << VIRTIO_CONSOLE_F_EMERG_WRITE;
    }
    h->qsize = (uint16_t)(1u << (size % 5));
    bring_up(h);
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
    free(h->ram);
}

static void kick(struct harness *h, unsigned int q)
{
    pthread_mutex_lock(&h->vdev->lock);
    virtio_device_queue_notify(h->vdev, q);
    pthread_mutex_unlock(&h->vdev->lock);
}

/* The driver makes @head available on queue @q (2.7.13) in its original ring. */
static void publish(struct harness *h, unsigned int q, uint16_t head)
{
    uint8_t *avail = h->ram + (ring_base(q) - RAM_BASE) + AVAIL_OFF;
    uint16_t slot = (uint16_t)(h->avail_idx[q] % h->qsize);
    uint16_t le_head = htole16(head);
    memcpy(avail + 4 + 2u * slot, &le_head, 2);
    h->avail_idx[q]++;
    __atomic_store_n((uint16_t *)(avail + 2), htole16(h->avail_idx[q]), __ATOMIC_RELEASE);
}

/* Host side: input, config space, a kick. */
static void host_event(struct harness *h, uint16_t off, uint64_t value)
{
    static const uint32_t widths[4] = {1, 2, 4, 8};
    uint8_t buf[300];
    virtio_device_t *v = h->vdev;

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
        kick(h, off % NQ);
        return;
    }
}

static void misbehave(struct harness *h, uint16_t off, uint64_t value)
{
    virtio_device_t *v = h->vdev;
    unsigned int q = off % NQ;

    switch (value % 4) {
    case 0:
        bring_up(h);
        return;
    case 1:
        pthread_mutex_lock(&v->lock);
        virtio_device_write_status(v, (uint8_t)(value >> 8));
        pthread_mutex_unlock(&v->lock);
        return;
    case 2:
        pthread_mutex_lock(&v->lock);
        virtio_device_queue_disable(v, q);
        v->qcfg[q].size = (uint16_t)(value >> 8);
        v->qcfg[q].desc = ring_base(q) + DESC_OFF + off;
        v->qcfg[q].driver = ring_base(q) + AVAIL_OFF + off;
        v->qcfg[q].device = ring_base(q) + USED_OFF + off;
        virtio_device_queue_enable(v, q);
        pthread_mutex_unlock(&v->lock);
        return;
    default:
        pthread_mutex_lock(&v->lock);
        virtio_device_queue_disable(v, q);
        pthread_mutex_unlock(&v->lock);
        return;
    }
}

/* What must hold after every record, whatever the driver did. */
static void check_invariants(struct harness *h)
{
    CHECK(virtio_console_stat(h->con, VIRTIO_CONSOLE_STAT_RX_BYTES) <= h->offered);
    CHECK(virtio_console_stat(h->con, VIRTIO_CONSOLE_STAT_TX_ERRORS) == 0); /* /dev/null */
    CHECK(!(h->vdev->status & 0x30));
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
    for (size_t pos = 2; pos + RECORD <= size; pos += RECORD) {
        const uint8_t *r = data + pos;
        uint16_t off = (uint16_t)(r[1] | (r[2] << 8));
        uint64_t value;
        memcpy(&value, r + 3, 8);

        switch (r[0] & 3) {
        case 0:
            memcpy(h->ram + off % (RAM_SIZE - 7), &value, 8);
            break;
        case 1:
            publish(h, off % NQ, (uint16_t)value);
            if (!(value & (1ull << 16))) {
                kick(h, off % NQ);
            }
            break;
        case 2:
            host_event(h, off, value);
            break;
        default:
            misbehave(h, off, value);
            break;
        }
        check_invariants(h);
    }
    harness_fini(h);
    free(h);
    return 0;
}
