/*
 * virt_priv.h - what the arm64 virt board's files share (not public).
 */
#ifndef VMMKIT_ARM64_VIRT_PRIV_H
#define VMMKIT_ARM64_VIRT_PRIV_H

#include <stdint.h>
#include <sys/types.h>

#include <vmmkit/arm64_image.h>
#include <vmmkit/arm64_virt.h>

/* booting.rst: the DTB must not exceed 2 MiB. */
#define ARM64_VIRT_DTB_MAX (2u << 20)
/* Room reserved for the generated DTB, and added to a user's DTB. */
#define ARM64_VIRT_DTB_GENERATED_MAX (64u << 10)
#define ARM64_VIRT_DTB_EXTRA (4u << 10)

/* Where everything goes in guest RAM, worked out from the files' sizes. */
typedef struct virt_plan {
    arm64_image_info_t image;
    uint64_t kernel_size; /* file size */
    uint64_t initrd_size;
    uint64_t dtb_room;
    arm64_boot_layout_t layout;
} virt_plan_t;

int virt_errorf(char *err, size_t errlen, int ret, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int virt_open_file(const char *what, const char *path, uint64_t *size, char *err, size_t errlen);
int virt_pread_all(int fd, void *buf, size_t len, off_t off);

/* Check the files of @cfg and lay them out in RAM.  0 or -errno + @err. */
int virt_plan(const arm64_virt_config_t *cfg, virt_plan_t *plan, char *err, size_t errlen);

#endif
