/*
 * channel_pair.c - descriptors for "vmmkit run --channel-pair" (see
 * channel_pair.h): what the supervisor of a system makes for a channel
 * between two VMs, made here for a channel whose two ends are in one VM.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <vmmkit/log.h>

#include "vmmkit/channel_pair.h"

/* The memfd and eventfds of one pair into @ends[0..1].  0 or -errno. */
static int open_pair(const cli_channel_pair_t *p, board_channel_t ends[2])
{
    int mem = memfd_create(p->name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    int ab = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int ba = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int e = 0;

    if (mem < 0 || ab < 0 || ba < 0 || ftruncate(mem, (off_t)p->size) < 0 ||
        fcntl(mem, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
        e = errno;
        if (mem >= 0)
            close(mem);
        if (ab >= 0)
            close(ab);
        if (ba >= 0)
            close(ba);
        return -e;
    }
    /* End 0's doorbell adds to ab, which end 1 waits on; and back. */
    ends[0] = (board_channel_t){
        .name = p->name, .mem_fd = mem, .mem_size = p->size, .notify_fd = ab, .wait_fd = ba};
    ends[1] = (board_channel_t){
        .name = p->name, .mem_fd = mem, .mem_size = p->size, .notify_fd = ba, .wait_fd = ab};
    return 0;
}

const board_channel_t *channel_pairs_open(const cli_channel_pair_t *pairs, unsigned int n,
                                          unsigned int *nr)
{
    board_channel_t *ends;

    *nr = 0;
    if (!n)
        return NULL;
    ends = calloc(2 * (size_t)n, sizeof(*ends));
    if (!ends) {
        LOG_ERR("--channel-pair: out of memory");
        return NULL;
    }
    for (unsigned int i = 0; i < n; i++) {
        int r = open_pair(&pairs[i], &ends[2 * i]);
        if (r < 0) {
            LOG_ERR("--channel-pair %s: cannot make its memory and doorbells: %s", pairs[i].name,
                    strerror(-r));
            for (unsigned int k = 0; k < 2; k++)
                ends[2 * i + k] = (board_channel_t){.name = pairs[i].name,
                                                    .mem_fd = -1,
                                                    .mem_size = pairs[i].size,
                                                    .notify_fd = -1,
                                                    .wait_fd = -1};
        }
    }
    *nr = 2 * n;
    return ends;
}
