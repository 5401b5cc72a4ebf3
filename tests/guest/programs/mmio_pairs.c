/*
 * mmio_pairs.c - a guest program for the vmmkit guest tests: maps a device
 * region through /dev/mem and accesses it with instructions that give KVM
 * no syndrome (a load/store pair, writeback forms), so the VMM has to walk
 * the guest's page tables, decode and emulate them.
 *
 *   mmio_pairs ADDR    (ADDR page-aligned, a writable region of 4 KiB)
 *
 * Prints "pairs: ok" and exits 0 when every value reads back as written.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: mmio_pairs ADDR\n");
        return 2;
    }
    uint64_t addr = strtoull(argv[1], NULL, 0);
    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        perror("mmio_pairs: /dev/mem");
        return 1;
    }
    volatile uint64_t *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)addr);
    if (p == MAP_FAILED) {
        perror("mmio_pairs: mmap");
        return 1;
    }
    uint64_t a = 0x1122334455667788ull, b = 0x99aabbccddeeff00ull, x = 0, y = 0;
    volatile uint64_t *base = p;
    int bad = 0;

    /* stp / ldp: one instruction, two accesses. */
    __asm__ volatile("stp %1, %2, [%0]" : : "r"(base), "r"(a), "r"(b) : "memory");
    __asm__ volatile("ldp %0, %1, [%2]" : "=&r"(x), "=&r"(y) : "r"(base) : "memory");
    if (x != a || y != b) {
        printf("pairs: ldp read %#" PRIx64 " %#" PRIx64 "\n", x, y);
        bad = 1;
    }
    /* Pre-index store with writeback, post-index load with writeback. */
    volatile uint64_t *q = base;
    __asm__ volatile("str %1, [%0, #16]!" : "+r"(q) : "r"(a ^ b) : "memory");
    if (q != base + 2 || base[2] != (a ^ b)) {
        printf("pairs: str-writeback left base %+td, value %#" PRIx64 "\n", q - base, base[2]);
        bad = 1;
    }
    __asm__ volatile("ldr %1, [%0], #8" : "+r"(q), "=r"(x) : : "memory");
    if (q != base + 3 || x != (a ^ b)) {
        printf("pairs: ldr-writeback left base %+td, value %#" PRIx64 "\n", q - base, x);
        bad = 1;
    }
    printf("pairs: %s\n", bad ? "FAILED" : "ok");
    return bad;
}
