/*
 * aml.c - a bounded AML writer for the DSDT (ACPI 6.4, chapter 20, and the
 * resource descriptors of 6.4).  See aml.h.
 */
#include <errno.h>
#include <string.h>

#include "arch/x86/aml.h"

/* 20.2.2: a NameSeg is 4 characters, LeadNameChar then NameChars. */
#define NAMESEG_LEN 4
/* Package's NumElements is one byte (20.2.5.4 DefPackage). */
#define PACKAGE_MAX_ELEMS 255u

/* ---- basics ----------------------------------------------------------- */

void aml_init(aml_buf_t *b, void *data, size_t cap)
{
    memset(b, 0, sizeof(*b));
    b->data = data;
    b->cap = data ? cap : 0;
}

int aml_error(const aml_buf_t *b)
{
    if (b->err)
        return b->err;
    return b->depth ? -EINVAL : 0; /* a block left open */
}

size_t aml_len(const aml_buf_t *b)
{
    return b->len;
}

static void set_err(aml_buf_t *b, int err)
{
    if (!b->err)
        b->err = err;
}

void aml_bytes(aml_buf_t *b, const void *p, size_t n)
{
    if (b->err)
        return;
    if (n > b->cap - b->len) {
        set_err(b, -ENOSPC);
        return;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
}

void aml_byte(aml_buf_t *b, uint8_t v)
{
    aml_bytes(b, &v, 1);
}

/* Little-endian @n-byte value (AML and resource data are little-endian). */
static void put_le(aml_buf_t *b, uint64_t v, unsigned int n)
{
    uint8_t tmp[8];

    for (unsigned int i = 0; i < n; i++)
        tmp[i] = (uint8_t)(v >> (8 * i));
    aml_bytes(b, tmp, n);
}

/* ---- data objects (20.2.3) -------------------------------------------- */

/* A prefixed constant, written whole or not at all. */
static void prefixed(aml_buf_t *b, uint8_t prefix, uint64_t v, unsigned int n)
{
    uint8_t tmp[9];

    tmp[0] = prefix;
    for (unsigned int i = 0; i < n; i++)
        tmp[1 + i] = (uint8_t)(v >> (8 * i));
    aml_bytes(b, tmp, 1 + n);
}

void aml_byte_const(aml_buf_t *b, uint8_t v)
{
    prefixed(b, AML_BYTE_PREFIX, v, 1);
}

void aml_word_const(aml_buf_t *b, uint16_t v)
{
    prefixed(b, AML_WORD_PREFIX, v, 2);
}

void aml_dword_const(aml_buf_t *b, uint32_t v)
{
    prefixed(b, AML_DWORD_PREFIX, v, 4);
}

void aml_qword_const(aml_buf_t *b, uint64_t v)
{
    prefixed(b, AML_QWORD_PREFIX, v, 8);
}

void aml_integer(aml_buf_t *b, uint64_t v)
{
    if (v == 0)
        aml_byte(b, AML_ZERO_OP);
    else if (v == 1)
        aml_byte(b, AML_ONE_OP);
    else if (v <= 0xff)
        aml_byte_const(b, (uint8_t)v);
    else if (v <= 0xffff)
        aml_word_const(b, (uint16_t)v);
    else if (v <= 0xffffffffu)
        aml_dword_const(b, (uint32_t)v);
    else
        aml_qword_const(b, v);
}

void aml_string(aml_buf_t *b, const char *s)
{
    if (!s) {
        set_err(b, -EINVAL);
        return;
    }
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p > 0x7f) { /* AsciiCharList: 0x01-0x7f */
            set_err(b, -EINVAL);
            return;
        }
    }
    aml_byte(b, AML_STRING_PREFIX);
    aml_bytes(b, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void aml_eisaid(aml_buf_t *b, const char *id)
{
    uint8_t out[4];
    unsigned int vendor = 0;

    if (!id || strlen(id) != 7) {
        set_err(b, -EINVAL);
        return;
    }
    /* Three letters, 5 bits each ('A' = 1), in bits 14:0 of a big-endian word. */
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z') {
            set_err(b, -EINVAL);
            return;
        }
        vendor = vendor << 5 | (unsigned int)(id[i] - 'A' + 1);
    }
    out[0] = (uint8_t)(vendor >> 8);
    out[1] = (uint8_t)vendor;
    /* Four hex digits, the product id, big-endian too. */
    for (int i = 0; i < 2; i++) {
        int hi = hex_digit(id[3 + 2 * i]), lo = hex_digit(id[4 + 2 * i]);

        if (hi < 0 || lo < 0) {
            set_err(b, -EINVAL);
            return;
        }
        out[2 + i] = (uint8_t)(hi << 4 | lo);
    }
    aml_byte(b, AML_DWORD_PREFIX);
    aml_bytes(b, out, sizeof(out));
}

/* ---- names (20.2.2) --------------------------------------------------- */

static bool lead_name_char(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool name_char(char c)
{
    return lead_name_char(c) || (c >= '0' && c <= '9');
}

/* Parse one NameSeg of 1-4 characters at @p (ending at '.' or NUL) into @seg. */
static const char *parse_seg(const char *p, uint8_t seg[NAMESEG_LEN])
{
    size_t n = 0;

    if (!lead_name_char(*p))
        return NULL;
    while (*p && *p != '.') {
        if (n == NAMESEG_LEN || !name_char(*p))
            return NULL;
        seg[n++] = (uint8_t)*p++;
    }
    while (n < NAMESEG_LEN)
        seg[n++] = '_';
    return p;
}

void aml_name_string(aml_buf_t *b, const char *path)
{
    uint8_t segs[16][NAMESEG_LEN];
    size_t nsegs = 0;
    const char *p = path;

    if (!path) {
        set_err(b, -EINVAL);
        return;
    }
    if (*p == '\\') {
        aml_byte(b, AML_ROOT_CHAR);
        p++;
    } else {
        while (*p == '^') {
            aml_byte(b, AML_PARENT_PREFIX_CHAR);
            p++;
        }
    }
    while (*p) {
        if (nsegs == sizeof(segs) / sizeof(segs[0])) {
            set_err(b, -EINVAL);
            return;
        }
        p = parse_seg(p, segs[nsegs]);
        if (!p) {
            set_err(b, -EINVAL);
            return;
        }
        nsegs++;
        if (*p == '.') {
            p++;
            if (!*p) { /* trailing dot */
                set_err(b, -EINVAL);
                return;
            }
        }
    }
    switch (nsegs) {
    case 0:
        aml_byte(b, AML_ZERO_OP); /* NullName */
        break;
    case 1:
        break;
    case 2:
        aml_byte(b, AML_DUAL_NAME_PREFIX);
        break;
    default:
        aml_byte(b, AML_MULTI_NAME_PREFIX);
        aml_byte(b, (uint8_t)nsegs);
        break;
    }
    for (size_t i = 0; i < nsegs; i++)
        aml_bytes(b, segs[i], NAMESEG_LEN);
}

void aml_name(aml_buf_t *b, const char *path)
{
    aml_byte(b, AML_NAME_OP);
    aml_name_string(b, path);
}

void aml_return(aml_buf_t *b)
{
    aml_byte(b, AML_RETURN_OP);
}

/* ---- blocks with a PkgLength (20.2.4) ---------------------------------- */

unsigned int aml_pkglength_encode(size_t len, uint8_t out[4])
{
    size_t total;
    unsigned int n;

    /* A one-byte PkgLength holds 0-63 in bits 5:0; longer ones keep 4 bits in
     * the lead byte (bits 7:6 = how many bytes follow) and 8 in each follower. */
    if (len + 1 <= 0x3f) {
        out[0] = (uint8_t)(len + 1);
        return 1;
    }
    for (n = 2; n <= 4; n++) {
        total = len + n;
        if (total < (size_t)1 << (4 + 8 * (n - 1)))
            break;
    }
    if (n > 4)
        return 0;
    out[0] = (uint8_t)((n - 1) << 6 | (total & 0x0f));
    for (unsigned int i = 1; i < n; i++)
        out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
    return n;
}

/* Reserve a 4-byte PkgLength; returns its position. */
static size_t open_block(aml_buf_t *b)
{
    static const uint8_t reserve[4];
    size_t mark = b->len;

    aml_bytes(b, reserve, sizeof(reserve));
    if (b->err)
        return 0;
    b->depth++;
    return mark;
}

void aml_end(aml_buf_t *b, size_t mark)
{
    uint8_t pl[4];
    size_t content;
    unsigned int n;

    if (b->err)
        return;
    if (!b->depth || mark + 4 > b->len) {
        set_err(b, -EINVAL);
        return;
    }
    content = b->len - (mark + 4);
    n = aml_pkglength_encode(content, pl);
    if (!n) {
        set_err(b, -EOVERFLOW);
        return;
    }
    memmove(b->data + mark + n, b->data + mark + 4, content);
    memcpy(b->data + mark, pl, n);
    b->len -= 4 - n;
    memset(b->data + b->len, 0, 4 - n); /* what the move left behind */
    b->depth--;
}

size_t aml_scope_begin(aml_buf_t *b, const char *path)
{
    size_t mark;

    aml_byte(b, AML_SCOPE_OP);
    mark = open_block(b);
    aml_name_string(b, path);
    return mark;
}

size_t aml_device_begin(aml_buf_t *b, const char *path)
{
    size_t mark;

    aml_byte(b, AML_EXT_OP_PREFIX);
    aml_byte(b, AML_DEVICE_OP);
    mark = open_block(b);
    aml_name_string(b, path);
    return mark;
}

size_t aml_method_begin(aml_buf_t *b, const char *path, unsigned int nargs, bool serialized)
{
    size_t mark;

    if (nargs > 7) {
        set_err(b, -EINVAL);
        return 0;
    }
    aml_byte(b, AML_METHOD_OP);
    mark = open_block(b);
    aml_name_string(b, path);
    /* MethodFlags (20.2.5.2): bits 2:0 ArgCount, bit 3 SerializeFlag, SyncLevel 0. */
    aml_byte(b, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
    return mark;
}

size_t aml_package_begin(aml_buf_t *b, unsigned int nelems)
{
    size_t mark;

    if (nelems > PACKAGE_MAX_ELEMS) {
        set_err(b, -EINVAL);
        return 0;
    }
    aml_byte(b, AML_PACKAGE_OP);
    mark = open_block(b);
    aml_byte(b, (uint8_t)nelems);
    return mark;
}

void aml_buffer(aml_buf_t *b, const void *data, size_t n)
{
    size_t mark;

    aml_byte(b, AML_BUFFER_OP);
    mark = open_block(b);
    aml_integer(b, n); /* BufferSize */
    aml_bytes(b, data, n);
    aml_end(b, mark);
}

/* ---- resource descriptors (6.4) --------------------------------------- */

void aml_res_io(aml_buf_t *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
    /* 6.4.2.5 I/O Port Descriptor: byte 1 bit 0 = decodes 16 address bits. */
    aml_byte(r, AML_RES_IO);
    aml_byte(r, 0x01);
    put_le(r, min, 2);
    put_le(r, max, 2);
    aml_byte(r, align);
    aml_byte(r, len);
}

void aml_res_irq_noflags(aml_buf_t *r, unsigned int irq)
{
    /* 6.4.2.1 IRQ Descriptor, 2-byte form: a mask of IRQs 0-15, edge high. */
    if (irq > 15) {
        set_err(r, -EINVAL);
        return;
    }
    aml_byte(r, AML_RES_IRQ_NOFLAGS);
    put_le(r, 1u << irq, 2);
}

void aml_res_memory32_fixed(aml_buf_t *r, uint32_t base, uint32_t size, bool rw)
{
    /* 6.4.3.4 32-Bit Fixed Memory Range Descriptor: length 9, info bit 0 = RW. */
    aml_byte(r, AML_RES_MEMORY32_FIXED);
    put_le(r, 9, 2);
    aml_byte(r, rw ? 0x01 : 0x00);
    put_le(r, base, 4);
    put_le(r, size, 4);
}

/* General flags of an address space descriptor (6.4.3.5.1, byte 4). */
#define ADDR_CONSUMER (1u << 0) /* ResourceConsumer (0: ResourceProducer) */
#define ADDR_SUB_DECODE (1u << 1)
#define ADDR_MIN_FIXED (1u << 2)
#define ADDR_MAX_FIXED (1u << 3)
/* Type-specific flags (6.4.3.5.4 memory, 6.4.3.5.5 I/O). */
#define MEM_RW (1u << 0)
#define MEM_CACHEABLE (1u << 1) /* _MEM = 1 */
#define IO_ENTIRE_RANGE 0x03u   /* _RNG = 3 */

/*
 * Word, DWord or QWord Address Space Descriptor (6.4.3.5.3, .2, .1) with
 * @width-byte fields: granularity 0, translation offset 0, no resource
 * source.  Length = 3 bytes of flags + 5 fields.
 */
static void address_space(aml_buf_t *r, uint8_t tag, unsigned int width, uint8_t type,
                          uint8_t general, uint8_t specific, uint64_t min, uint64_t max)
{
    if (max < min) {
        set_err(r, -EINVAL);
        return;
    }
    aml_byte(r, tag);
    put_le(r, 3 + 5 * width, 2);
    aml_byte(r, type);
    aml_byte(r, general);
    aml_byte(r, specific);
    put_le(r, 0, width);   /* _GRA */
    put_le(r, min, width); /* _MIN */
    put_le(r, max, width); /* _MAX */
    put_le(r, 0, width);   /* _TRA */
    put_le(r, max - min + 1, width);
}

void aml_res_word_bus_number(aml_buf_t *r, uint16_t min, uint16_t max)
{
    address_space(r, AML_RES_WORD_ADDRESS, 2, AML_RES_TYPE_BUS, ADDR_MIN_FIXED | ADDR_MAX_FIXED, 0,
                  min, max);
}

void aml_res_word_io(aml_buf_t *r, uint16_t min, uint16_t max)
{
    address_space(r, AML_RES_WORD_ADDRESS, 2, AML_RES_TYPE_IO, ADDR_MIN_FIXED | ADDR_MAX_FIXED,
                  IO_ENTIRE_RANGE, min, max);
}

static uint8_t mem_general(bool producer)
{
    return (uint8_t)(ADDR_MIN_FIXED | ADDR_MAX_FIXED | (producer ? 0 : ADDR_CONSUMER));
}

static uint8_t mem_specific(bool cacheable)
{
    return (uint8_t)(MEM_RW | (cacheable ? MEM_CACHEABLE : 0));
}

void aml_res_dword_memory(aml_buf_t *r, uint32_t min, uint32_t max, bool producer, bool cacheable)
{
    address_space(r, AML_RES_DWORD_ADDRESS, 4, AML_RES_TYPE_MEMORY, mem_general(producer),
                  mem_specific(cacheable), min, max);
}

void aml_res_qword_memory(aml_buf_t *r, uint64_t min, uint64_t max, bool producer, bool cacheable)
{
    /* The length field is max - min + 1: a window of all 2^64 bytes cannot be described. */
    if (min == 0 && max == UINT64_MAX) {
        set_err(r, -EINVAL);
        return;
    }
    address_space(r, AML_RES_QWORD_ADDRESS, 8, AML_RES_TYPE_MEMORY, mem_general(producer),
                  mem_specific(cacheable), min, max);
}

void aml_res_ext_interrupt(aml_buf_t *r, uint32_t gsi, bool edge, bool active_low, bool shared)
{
    /* 6.4.3.6 Extended Interrupt Descriptor: flags bit 0 consumer, bit 1 edge,
     * bit 2 active low, bit 3 shared; then a table of one interrupt. */
    aml_byte(r, AML_RES_EXT_INTERRUPT);
    put_le(r, 6, 2);
    aml_byte(r,
             (uint8_t)(0x01 | (edge ? 0x02 : 0) | (active_low ? 0x04 : 0) | (shared ? 0x08 : 0)));
    aml_byte(r, 1);
    put_le(r, gsi, 4);
}

void aml_resource_template(aml_buf_t *b, aml_buf_t *r)
{
    uint8_t sum = AML_RES_END_TAG;

    /* 6.4.2.9 End Tag: its checksum byte makes the whole template sum to 0. */
    if (r->err || r->depth) {
        set_err(b, r->err ? r->err : -EINVAL);
        return;
    }
    for (size_t i = 0; i < r->len; i++)
        sum = (uint8_t)(sum + r->data[i]);
    aml_byte(r, AML_RES_END_TAG);
    aml_byte(r, (uint8_t)(0x100 - sum));
    if (r->err) {
        set_err(b, r->err);
        return;
    }
    aml_buffer(b, r->data, r->len);
}
