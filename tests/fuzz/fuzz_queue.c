/*
 * fuzz_queue.c - libFuzzer harness for the split virtqueue (src/virtio/queue.c).
 *
 * The input is a hostile driver's guest memory plus the queue parameters
 * and a short script of device and driver steps (all little-endian):
 *
 *   byte 0      queue size: 1 << (bits 0-3), or bytes 2-3 as is when bit 7 is set
 *   byte 1      features: bit 0 EVENT_IDX, bit 1 INDIRECT_DESC
 *   bytes 2-3   raw queue size
 *   bytes 4-15  descriptor table, available ring, used ring: u32 offsets from
 *               RAM_BASE (anything: misaligned, outside RAM, overlapping)
 *   byte 16     number of script steps N (0: a default script)
 *   N x 4       steps [kind, a, b, c], see run_step()
 *   rest        the guest memory image, copied to RAM_BASE (the rest is zero)
 *
 * Guest RAM is two adjacent regions, each a heap buffer mapped as its own
 * reservation, so AddressSanitizer reports any access outside them and a
 * buffer straddling the two must be refused.  After every step the harness
 * checks the queue's invariants: every buffer of a popped chain lies wholly
 * inside one region, the chain's totals and directions add up, each refused
 * pop is counted exactly once, a broken queue pops nothing, used.idx in
 * guest memory is our copy after a push.  Any violation aborts.  The
 * harness state is built once and fully reset for each input, so a run is
 * a function of its input alone.
 */
#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/log.h>
#include <vmmkit/virtio_queue.h>

#define FUZZ_NAME "fuzz_queue"
#include "fuzz_driver.h"

#define RAM_BASE 0x10000ull
#define REGION_SIZE 0x10000ull /* two regions, back to back */
#define RAM_SIZE (2 * REGION_SIZE)
#define HEADER 17u
#define STEP 4u
#define MAX_POPS 64u /* per POP_ALL step, to keep an input fast */

struct harness {
    vm_t *vm;
    uint8_t *region[2];
    virtq_t q;
    virtq_chain_t chain;
    /* the enable parameters, for RESET_ENABLE */
    uint16_t size;
    uint64_t desc, avail, used;
    bool event_idx, indirect;
    uint8_t scratch[4096];
};

enum step_kind {
    STEP_POP,           /* pop one chain, use it (read at a, write), push b | c << 8 bytes */
    STEP_POP_ALL,       /* pop and complete chains, c bytes written, until empty (<= MAX_POPS) */
    STEP_NOTIFY,        /* virtq_should_notify() */
    STEP_ENABLE_NOTIFY, /* virtq_enable_notify() */
    STEP_GUEST_WRITE,   /* the driver writes u16 c at RAM offset 2 * (a | b << 8) */
    STEP_RESET_ENABLE,  /* virtq_reset() and enable again, features toggled by a */
    STEP_PUSH_RAW,      /* a buggy device pushes head a | b << 8 with length c */
    STEP_ADD_AVAIL,     /* the driver makes head a | b << 8 available c % 4 + 1 times */
    STEP_COUNT
};

/* Whether [p, p + len) lies wholly inside one RAM region. */
static bool in_one_region(struct harness *h, const void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p;
    for (int i = 0; i < 2; i++) {
        uintptr_t base = (uintptr_t)h->region[i];
        if (a >= base && a - base <= REGION_SIZE && len <= REGION_SIZE - (a - base)) {
            return true;
        }
    }
    return false;
}

static uint64_t error_total(const virtq_t *q)
{
    uint64_t n = 0;
    for (int i = 0; i < VIRTQ_E_COUNT; i++) {
        n += q->errors[i];
    }
    return n;
}

static bool ring_level(int err)
{
    return err == -VIRTQ_E_AVAIL_IDX_JUMP || err == -VIRTQ_E_HEAD_OUT_OF_RANGE;
}

/* Every buffer of a popped chain is real guest RAM, and the totals add up. */
static void check_chain(struct harness *h, const virtq_chain_t *c)
{
    uint64_t readable = 0, writable = 0;

    CHECK(c->head < h->q.size);
    CHECK(c->nr_bufs <= VIRTQ_MAX_CHAIN_BUFS);
    CHECK(c->nr_readable <= c->nr_bufs);
    for (unsigned int i = 0; i < c->nr_bufs; i++) {
        const virtq_buf_t *b = &c->bufs[i];
        CHECK(b->len > 0);
        CHECK(in_one_region(h, b->addr, b->len));
        CHECK(b->writable == (i >= c->nr_readable));
        if (b->writable) {
            writable += b->len;
        } else {
            readable += b->len;
        }
    }
    CHECK(readable == c->readable_len);
    CHECK(writable == c->writable_len);
    CHECK(readable + writable <= VIRTQ_MAX_CHAIN_BYTES);
}

static uint16_t guest_used_idx(struct harness *h)
{
    uint16_t v;
    memcpy(&v, gpa_to_hva(h->vm, h->used + 2, 2), 2);
    return le16toh(v);
}

static void push(struct harness *h, const virtq_chain_t *c, uint32_t written)
{
    virtq_push_chain(&h->q, c, written);
    if (h->q.ready) {
        CHECK(guest_used_idx(h) == h->q.used_idx);
    }
}

/* Pop once; returns what virtq_pop() did, after checking it. */
static int pop_one(struct harness *h, size_t read_off, uint32_t written)
{
    virtq_chain_t *c = &h->chain;
    bool was_live = h->q.ready && !h->q.broken;
    uint64_t errors = error_total(&h->q);
    uint16_t last = h->q.last_avail;

    int r = virtq_pop(&h->q, c);
    CHECK(r <= 1 && r > -(int)VIRTQ_E_COUNT && r != -(int)VIRTQ_E_RING_ADDRESS);
    if (!was_live) {
        CHECK(r == 0);
    }
    CHECK(error_total(&h->q) == errors + (r < 0));
    if (r == 1) {
        CHECK(h->q.last_avail == (uint16_t)(last + 1));
        check_chain(h, c);
        size_t want = read_off < c->readable_len ? c->readable_len - read_off : 0;
        if (want > sizeof(h->scratch)) {
            want = sizeof(h->scratch);
        }
        CHECK(virtq_chain_read(c, read_off, h->scratch, sizeof(h->scratch)) == want);
        size_t wlen = c->writable_len < sizeof(h->scratch) ? c->writable_len : sizeof(h->scratch);
        CHECK(virtq_chain_write(c, 0, h->scratch, sizeof(h->scratch)) == wlen);
        push(h, c, written);
    } else if (r < 0 && ring_level(r)) {
        CHECK(h->q.broken);
        CHECK(h->q.last_avail == last);
        CHECK(virtq_pop(&h->q, c) == 0);
    } else if (r < 0) {
        CHECK(!h->q.broken);
        CHECK(c->head < h->q.size);
        CHECK(c->nr_bufs == 0 && c->readable_len == 0 && c->writable_len == 0);
        CHECK(h->q.last_avail == (uint16_t)(last + 1));
        push(h, c, 0);
    } else {
        CHECK(h->q.last_avail == last);
    }
    return r;
}

static void enable(struct harness *h)
{
    uint64_t errors = error_total(&h->q);
    int r =
        virtq_enable(&h->q, h->vm, h->size, h->desc, h->avail, h->used, h->event_idx, h->indirect);
    CHECK(r == 0 || r == -EINVAL || r == -VIRTQ_E_RING_ADDRESS);
    CHECK(h->q.ready == (r == 0));
    CHECK(error_total(&h->q) == errors + (r == -VIRTQ_E_RING_ADDRESS));
    if (r == 0) {
        /* The rings the queue uses are in RAM, and so are their ends. */
        CHECK(in_one_region(h, h->q.desc, 16u * h->size));
        CHECK(in_one_region(h, h->q.avail, 6u + 2u * h->size));
        CHECK(in_one_region(h, h->q.used, 6u + 8u * h->size));
    }
}

static void run_step(struct harness *h, const uint8_t *s)
{
    uint16_t ab = (uint16_t)(s[1] | s[2] << 8);

    switch (s[0] % STEP_COUNT) {
    case STEP_POP:
        pop_one(h, s[1], ab);
        break;
    case STEP_POP_ALL:
        for (unsigned int i = 0; i < MAX_POPS && pop_one(h, 0, s[3]) != 0; i++) {
        }
        break;
    case STEP_NOTIFY:
        if (!h->q.ready) {
            CHECK(!virtq_should_notify(&h->q));
        } else {
            virtq_should_notify(&h->q);
            CHECK(h->q.signalled_valid && h->q.signalled_used == h->q.used_idx);
        }
        break;
    case STEP_ENABLE_NOTIFY:
        virtq_enable_notify(&h->q);
        break;
    case STEP_GUEST_WRITE: {
        uint16_t v = htole16(s[3]);
        memcpy(gpa_to_hva(h->vm, RAM_BASE + 2u * ab, 2), &v, 2);
        break;
    }
    case STEP_RESET_ENABLE:
        virtq_reset(&h->q);
        CHECK(!h->q.ready && !h->q.broken && h->q.last_avail == 0 && h->q.used_idx == 0);
        h->event_idx ^= s[1] & 1;
        h->indirect ^= (s[1] >> 1) & 1;
        enable(h);
        break;
    case STEP_PUSH_RAW:
        virtq_push(&h->q, ab, s[3]);
        if (h->q.ready) {
            CHECK(guest_used_idx(h) == h->q.used_idx);
        }
        break;
    case STEP_ADD_AVAIL:
        if (h->q.ready) {
            uint8_t *avail = gpa_to_hva(h->vm, h->avail, 6u + 2u * h->size);
            CHECK(avail);
            for (unsigned int i = 0; i <= s[3] % 4; i++) {
                uint16_t idx, head = htole16(ab);
                memcpy(&idx, avail + 2, 2);
                idx = le16toh(idx);
                memcpy(avail + 4 + 2u * (idx & (h->size - 1u)), &head, 2);
                idx = htole16((uint16_t)(idx + 1));
                memcpy(avail + 2, &idx, 2);
            }
        }
        break;
    }
}

static int map_buffer(uintptr_t addr, size_t size, vm_memory_backing_t *backing, void *cookie)
{
    backing->hva = cookie;
    backing->readonly = false;
    return 0;
}

static struct harness *harness_get(void)
{
    static struct harness *h; /* built once per fuzzing process */
    if (h) {
        return h;
    }
    h = calloc(1, sizeof(*h));
    CHECK(h);
    CHECK(vm_create_with_backend(&h->vm, "fuzz", &fake_hv_ops) == 0);
    for (int i = 0; i < 2; i++) {
        h->region[i] = aligned_alloc(4096, REGION_SIZE);
        CHECK(h->region[i]);
        vm_memory_reservation_t *r =
            vm_reserve_memory_at(h->vm, RAM_BASE + i * REGION_SIZE, REGION_SIZE, NULL, NULL);
        CHECK(r);
        CHECK(vm_map_reservation(h->vm, r, map_buffer, h->region[i]) == 0);
    }
    return h;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    vmm_log_set_level(VMM_LOG_ERR); /* violations are the point; keep stderr quiet */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t default_script[] = {
        STEP_POP_ALL, 0, 0, 0, STEP_NOTIFY, 0, 0, 0, STEP_ENABLE_NOTIFY, 0, 0, 0,
        STEP_POP_ALL, 0, 0, 1, STEP_NOTIFY, 0, 0, 0,
    };
    struct harness *h = harness_get();

    if (size < HEADER) {
        return 0;
    }
    uint16_t raw_size;
    uint32_t off[3];
    memcpy(&raw_size, data + 2, 2);
    memcpy(off, data + 4, 12);
    h->size = (data[0] & 0x80) ? le16toh(raw_size) : (uint16_t)(1u << (data[0] & 15));
    h->event_idx = data[1] & 1;
    h->indirect = data[1] & 2;
    h->desc = RAM_BASE + le32toh(off[0]);
    h->avail = RAM_BASE + le32toh(off[1]);
    h->used = RAM_BASE + le32toh(off[2]);

    size_t nr_steps = data[16];
    const uint8_t *steps = data + HEADER;
    if ((size - HEADER) / STEP < nr_steps) {
        nr_steps = (size - HEADER) / STEP;
    }
    const uint8_t *image = steps + nr_steps * STEP;
    size_t image_len = size - HEADER - nr_steps * STEP;
    if (nr_steps == 0) {
        steps = default_script;
        nr_steps = sizeof(default_script) / STEP;
    }

    /* A fresh queue and guest memory for every input. */
    for (int i = 0; i < 2; i++) {
        size_t from = i * REGION_SIZE;
        size_t n = image_len > from ? image_len - from : 0;
        n = n < REGION_SIZE ? n : REGION_SIZE;
        if (n) {
            memcpy(h->region[i], image + from, n);
        }
        memset(h->region[i] + n, 0, REGION_SIZE - n);
    }
    memset(&h->q, 0, sizeof(h->q));
    virtq_reset(&h->q);
    h->q.name = "fuzz.q0";

    enable(h);
    for (size_t i = 0; i < nr_steps; i++) {
        run_step(h, steps + i * STEP);
    }
    return 0;
}
