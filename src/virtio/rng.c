/*
 * rng.c - the virtio entropy device (virtio 1.2, 5.4; see virtio_rng.h).
 *
 * The whole device is queue_notify(): pop each chain from the requestq,
 * fill its device-writable buffers from getrandom(2), push it with the
 * bytes written, then tell the driver (virtio_device_used()).  Everything
 * runs with vdev->lock held (virtio.h), which also guards the scratch
 * chain below; the counters are atomics so any thread may read them.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <vmmkit/log.h>
#include <vmmkit/virtio_rng.h>

#define RNG_QUEUE 0u /* requestq (5.4.2) */
#define GETRANDOM_EINTR_RETRIES 4

struct virtio_rng {
    virtio_device_t vdev;
    virtq_chain_t chain; /* scratch for the chain being served (under vdev.lock) */
    uint64_t stats[VIRTIO_RNG_STAT_COUNT];
    vmm_ratelimit_t log_rl;
};

static const char *const rng_stat_names[VIRTIO_RNG_STAT_COUNT] = {
    [VIRTIO_RNG_STAT_REQUESTS] = "requests",
    [VIRTIO_RNG_STAT_BYTES] = "bytes",
    [VIRTIO_RNG_STAT_SHORT] = "short",
    [VIRTIO_RNG_STAT_NO_WRITABLE] = "no-writable",
    [VIRTIO_RNG_STAT_READABLE] = "readable",
    [VIRTIO_RNG_STAT_REFUSED] = "refused",
    [VIRTIO_RNG_STAT_RING_BROKEN] = "ring-broken",
};

const char *virtio_rng_stat_name(virtio_rng_stat_t stat)
{
    if ((unsigned int)stat >= VIRTIO_RNG_STAT_COUNT) {
        return "unknown";
    }
    return rng_stat_names[stat];
}

/* Add @n to counter @stat. */
static void rng_count(virtio_rng_t *rng, virtio_rng_stat_t stat, uint64_t n)
{
    __atomic_fetch_add(&rng->stats[stat], n, __ATOMIC_RELAXED);
}

/*
 * Pop the next chain of the requestq into rng->chain.  Returns true with a
 * chain; false when the queue is empty (with notifications re-armed, then
 * checked once more to close the race: 2.7.10) or broken (the device then
 * needs a reset, 2.1.2).  Chains the queue refuses are returned to the
 * guest with length 0 on the way; *@pushed tells the caller to notify.
 */
static bool rng_pop(virtio_rng_t *rng, bool *pushed)
{
    virtq_t *q = &rng->vdev.queues[RNG_QUEUE];

    for (;;) {
        int r = virtq_pop(q, &rng->chain);
        if (r == 0) {
            virtq_enable_notify(q);
            r = virtq_pop(q, &rng->chain);
        }
        if (r > 0) {
            return true;
        }
        if (r == 0) {
            return false;
        }
        if (q->broken) {
            rng_count(rng, VIRTIO_RNG_STAT_RING_BROKEN, 1);
            virtio_device_set_needs_reset(&rng->vdev, virtq_error_name((virtq_error_t)-r));
            return false;
        }
        /* A chain-level error (counted and logged by the queue): give it back empty. */
        rng_count(rng, VIRTIO_RNG_STAT_REFUSED, 1);
        virtq_push(q, rng->chain.head, 0);
        *pushed = true;
    }
}

/*
 * Fill up to @len bytes at @buf from the host pool without blocking.
 * Returns the bytes written (0 when the pool is not ready: EAGAIN).
 */
static size_t fill_random(virtio_rng_t *rng, void *buf, size_t len)
{
    for (int tries = 0; tries < GETRANDOM_EINTR_RETRIES; tries++) {
        ssize_t n = getrandom(buf, len, GRND_NONBLOCK);
        if (n >= 0) {
            return (size_t)n;
        }
        if (errno != EINTR) {
            LOG_WARN_RL(&rng->log_rl, "%s: getrandom: %s; the guest gets fewer bytes",
                        rng->vdev.name, strerror(errno));
            return 0;
        }
    }
    return 0;
}

/* Serve the chain in rng->chain: 5.4.6.2, at least one byte when the host can. */
static void rng_serve(virtio_rng_t *rng)
{
    virtq_t *q = &rng->vdev.queues[RNG_QUEUE];
    const virtq_chain_t *c = &rng->chain;
    size_t want = c->writable_len, done = 0;

    if (c->nr_readable > 0) {
        /* 5.4.6.1: the driver must not post device-readable buffers. */
        rng_count(rng, VIRTIO_RNG_STAT_READABLE, 1);
        virtq_report_error(q, VIRTQ_E_UNEXPECTED_READABLE);
    }
    if (want == 0) {
        rng_count(rng, VIRTIO_RNG_STAT_NO_WRITABLE, 1);
        virtq_push(q, c->head, 0);
        return;
    }
    if (want > VIRTIO_RNG_MAX_FILL) {
        want = VIRTIO_RNG_MAX_FILL;
    }
    /* Straight into guest RAM, buffer by buffer; stop at the first short read. */
    for (unsigned int i = c->nr_readable; i < c->nr_bufs && done < want; i++) {
        size_t n = c->bufs[i].len;
        if (n > want - done) {
            n = want - done;
        }
        size_t got = fill_random(rng, c->bufs[i].addr, n);
        done += got;
        if (got < n) {
            break;
        }
    }
    if (done < c->writable_len) {
        rng_count(rng, VIRTIO_RNG_STAT_SHORT, 1);
    }
    rng_count(rng, VIRTIO_RNG_STAT_REQUESTS, 1);
    rng_count(rng, VIRTIO_RNG_STAT_BYTES, done);
    virtq_push_chain(q, c, (uint32_t)done);
}

/* ops->queue_notify: the driver posted buffers (vdev->lock held). */
static void rng_queue_notify(virtio_device_t *vdev, unsigned int idx)
{
    virtio_rng_t *rng = vdev->priv;
    bool pushed = false;

    if (idx != RNG_QUEUE) {
        return; /* the common layer only passes queues below num_queues */
    }
    while (rng_pop(rng, &pushed)) {
        rng_serve(rng);
        pushed = true;
    }
    if (pushed) {
        virtio_device_used(vdev, RNG_QUEUE);
    }
}

static const virtio_device_ops_t rng_ops = {
    .name = "virtio-rng",
    .device_id = VIRTIO_ID_RNG,
    .num_queues = 1,
    .queue_max_size = VIRTIO_RNG_QUEUE_SIZE,
    .features = 0, /* 5.4.3: none defined */
    .config_size = 0,
    .queue_notify = rng_queue_notify,
};

int virtio_rng_create(vm_t *vm, unsigned int index, virtio_rng_t **out)
{
    virtio_rng_t *rng;
    int rc;

    if (!vm || !out) {
        return -EINVAL;
    }
    rng = calloc(1, sizeof(*rng));
    if (!rng) {
        return -ENOMEM;
    }
    rc = virtio_device_init(&rng->vdev, vm, &rng_ops, rng, index);
    if (rc < 0) {
        free(rng);
        return rc;
    }
    vmm_ratelimit_init(&rng->log_rl, 5000, 10);
    *out = rng;
    return 0;
}

virtio_device_t *virtio_rng_device(virtio_rng_t *rng)
{
    return &rng->vdev;
}

uint64_t virtio_rng_stat(const virtio_rng_t *rng, virtio_rng_stat_t stat)
{
    if (!rng || (unsigned int)stat >= VIRTIO_RNG_STAT_COUNT) {
        return 0;
    }
    return __atomic_load_n(&rng->stats[stat], __ATOMIC_RELAXED);
}

void virtio_rng_destroy(virtio_rng_t *rng)
{
    if (!rng) {
        return;
    }
    pthread_mutex_destroy(&rng->vdev.lock);
    free(rng);
}
