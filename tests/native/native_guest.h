/*
 * native_guest.h - helpers for the native tests: skip when /dev/kvm cannot
 * be used, and build a VM that runs a tiny real-mode guest.
 *
 * x86 guest layout: 512 KiB of RAM at 0, code at 0x1000 entered at 0000:1000
 * with all segment registers 0 and SP = 0x8000.  Each test keeps its guest
 * to a few dozen instructions: the paravirtual KVM this runs on interprets
 * real-mode code (~300 ns an instruction) and an exit costs ~12 us.
 */
#ifndef VMMKIT_TESTS_NATIVE_GUEST_H
#define VMMKIT_TESTS_NATIVE_GUEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmmkit/guest_memory.h>
#include <vmmkit/ioports.h>
#include <vmmkit/irq.h>
#include <vmmkit/log.h>
#include <vmmkit/vm.h>
#ifdef VMMKIT_ARCH_x86
#include <vmmkit/x86.h>
#endif

#define GUEST_RAM_SIZE 0x80000u
#define GUEST_CODE 0x1000u
#define GUEST_STACK 0x8000u

/* Exit 77 (ctest: skipped) with a loud reason when /dev/kvm cannot be opened. */
static inline void native_require_dev_kvm(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        printf("SKIPPED: cannot open /dev/kvm: %s\n", strerror(errno));
        fflush(stdout);
        exit(77);
    }
    close(fd);
}

/* Exit 77 (ctest: skipped) with a loud reason when these tests cannot run here. */
static inline void native_require_kvm(void)
{
#ifndef VMMKIT_ARCH_x86
    printf("SKIPPED: the native test guests are x86 real-mode code and this host is not x86\n");
    fflush(stdout);
    exit(77);
#else
    native_require_dev_kvm();
#endif
}

/* The same for the arm64 guests (test_kvm_arm64.c). */
static inline void native_require_kvm_arm64(void)
{
#ifndef VMMKIT_ARCH_arm64
    printf("SKIPPED: this test's guest is AArch64 code and this host is not arm64\n");
    fflush(stdout);
    exit(77);
#else
    native_require_dev_kvm();
#endif
}

static inline uint64_t native_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#ifdef VMMKIT_ARCH_x86
/* Point vCPU @v at the guest entry (0000:1000, SP 0x8000). Returns 0 or -errno. */
static inline int guest_set_entry(vm_vcpu_t *v)
{
    vm_x86_regs_t regs;
    int rc = vm_vcpu_x86_set_real_mode_entry(v, 0, GUEST_CODE);
    if (rc == 0) {
        rc = vm_vcpu_x86_get_regs(v, &regs);
    }
    if (rc == 0) {
        regs.rsp = GUEST_STACK;
        rc = vm_vcpu_x86_set_regs(v, &regs);
    }
    return rc;
}

/*
 * A VM named @name with RAM, @code loaded at GUEST_CODE, an in-kernel
 * irqchip when @irqchip, and one vCPU at the entry.  NULL on failure (logged).
 */
static inline vm_t *guest_create(const char *name, const uint8_t *code, size_t len, bool irqchip)
{
    vm_t *vm = NULL;
    int rc = vm_create(&vm, name);
    if (rc < 0) {
        fprintf(stderr, "vm_create: %s\n", strerror(-rc));
        return NULL;
    }
    if ((irqchip && (rc = vm_x86_create_irqchip(vm)) < 0) ||
        (rc = vm_ram_add(vm, 0, GUEST_RAM_SIZE)) < 0 ||
        (rc = vm_guest_write(vm, GUEST_CODE, code, len)) < 0) {
        fprintf(stderr, "guest set-up: %s\n", strerror(-rc));
        vm_destroy(vm);
        return NULL;
    }
    vm_vcpu_t *v = vm_create_vcpu(vm, 0);
    if (!v || guest_set_entry(v) < 0) {
        fprintf(stderr, "vcpu set-up failed\n");
        vm_destroy(vm);
        return NULL;
    }
    return vm;
}
#endif

#endif
