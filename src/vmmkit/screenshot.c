/*
 * screenshot.c - "vmmkit screenshot FB_FILE OUT.png": the picture of a
 * running (or finished) VM's framebuffer (run --framebuffer WxH,file=FB_FILE;
 * framebuffer.h) as a PNG.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <vmmkit/framebuffer.h>

#include "vmmkit/cli.h"
#include "vmmkit/run.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: vmmkit screenshot FB_FILE OUT.png\n"
               "\n"
               "Write the picture in the framebuffer file FB_FILE (vmmkit run\n"
               "--framebuffer WxH,file=FB_FILE) to OUT.png, while the VM runs or after.\n");
}

int vmmkit_screenshot_main(int argc, char **argv)
{
    char err[256] = "";
    fb_t fb;
    int r;

    if (argc == 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc != 3) {
        usage(stderr);
        return EXIT_USAGE;
    }
    r = fb_open(&fb, argv[1]);
    if (r < 0) {
        fprintf(stderr, "vmmkit: error: %s: %s\n", argv[1],
                r == -EINVAL ? "not a vmmkit framebuffer file" : strerror(-r));
        return EXIT_RUN_ERROR;
    }
    r = fb_write_png(&fb, argv[2], err, sizeof(err));
    fb_close(&fb);
    if (r < 0) {
        fprintf(stderr, "vmmkit: error: %s\n", err);
        return EXIT_RUN_ERROR;
    }
    return 0;
}
