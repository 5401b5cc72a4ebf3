/*
 * channel_pair.h - the loopback cross-VM channels of "vmmkit run
 * --channel-pair NAME[,size=S]": both ends of one channel in the same VM,
 * for testing and for guest-driver developers (docs/cross-vm-channels.md).
 */
#ifndef VMMKIT_CHANNEL_PAIR_H
#define VMMKIT_CHANNEL_PAIR_H

#include <vmmkit/board.h>

#include "vmmkit/cli.h"

/*
 * Make each pair's channel: a memfd of its size (sealed against shrinking)
 * and two non-blocking eventfds, one per direction.  Returns the ends, two
 * per pair in order (end 0 rings end 1 and the other way round), both
 * named after the pair, and their number in *@nr.  The array and the
 * descriptors live as long as the process (run_vm() runs once in it).  A
 * pair whose descriptors cannot be made is logged and keeps descriptors of
 * -1, which the board then refuses with a message naming the channel.
 * NULL with *@nr = 0 when @n is 0 or there is no memory.
 */
const board_channel_t *channel_pairs_open(const cli_channel_pair_t *pairs, unsigned int n,
                                          unsigned int *nr);

#endif
