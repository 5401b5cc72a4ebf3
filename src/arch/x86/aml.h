/*
 * aml.h - a small ACPI Machine Language (AML) writer, private to the x86
 * ACPI table builder (acpi.c).
 *
 * A DSDT is a table header followed by AML byte code (ACPI 6.4, chapter 20
 * "ACPI Machine Language (AML) Specification").  This module appends the
 * few constructs a VMM's DSDT needs to a bounded buffer: names and name
 * strings (20.2.2), integers with the shortest prefix or a forced one
 * (20.2.3), strings, EisaId values, buffers, packages, methods, Device and
 * Scope blocks with their PkgLength (20.2.4), and resource templates
 * (chapter 6.4 "Resource Data Types for ACPI").
 *
 * Errors are sticky: the first failure (no room, a bad name or string, an
 * unbalanced block) is recorded in the buffer and every later call does
 * nothing, so a caller writes a whole table and checks aml_error() once;
 * what the buffer holds after an error is unspecified.  Nothing is ever
 * written past the buffer's capacity.
 *
 * Blocks that carry a PkgLength (Scope, Device, Method, Package, Buffer
 * contents) are opened with a *_begin() call that returns a mark and closed
 * with aml_end(mark); they nest.  The PkgLength is reserved at its largest
 * (4 bytes) and shrunk when the block closes, so an almost-full buffer may
 * refuse a block that would just have fitted.
 */
#ifndef VMMKIT_ARCH_X86_AML_H
#define VMMKIT_ARCH_X86_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* AML opcodes and prefixes used here (ACPI 6.4, 20.3 "AML Byte Stream Byte Values"). */
#define AML_ZERO_OP 0x00
#define AML_ONE_OP 0x01
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0a
#define AML_WORD_PREFIX 0x0b
#define AML_DWORD_PREFIX 0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX 0x0e
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_DUAL_NAME_PREFIX 0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR 0x5c
#define AML_PARENT_PREFIX_CHAR 0x5e
#define AML_RETURN_OP 0xa4
#define AML_ONES_OP 0xff

/* Largest PkgLength: 28 bits (20.2.4). */
#define AML_PKGLENGTH_MAX 0x0fffffffu

/* Resource descriptor tags (ACPI 6.4, 6.4.2 small and 6.4.3 large resources). */
#define AML_RES_IRQ_NOFLAGS 0x22 /* small item 0x04, length 2 */
#define AML_RES_IO 0x47          /* small item 0x08, length 7 */
#define AML_RES_END_TAG 0x79     /* small item 0x0f, length 1 */
#define AML_RES_MEMORY32_FIXED 0x86
#define AML_RES_DWORD_ADDRESS 0x87
#define AML_RES_WORD_ADDRESS 0x88
#define AML_RES_EXT_INTERRUPT 0x89
#define AML_RES_QWORD_ADDRESS 0x8a

/* Address space descriptor resource types (6.4.3.5.1-3, byte 3). */
#define AML_RES_TYPE_MEMORY 0
#define AML_RES_TYPE_IO 1
#define AML_RES_TYPE_BUS 2

/* A bounded output buffer.  Use the functions, not the fields. */
typedef struct aml_buf {
    uint8_t *data;
    size_t cap;
    size_t len;
    int err;            /* 0, or the first -ENOSPC / -EINVAL / -EOVERFLOW */
    unsigned int depth; /* open blocks */
} aml_buf_t;

/* Start writing at @data, which holds @cap bytes. */
void aml_init(aml_buf_t *b, void *data, size_t cap);

/* The first error (negative errno) or 0. */
int aml_error(const aml_buf_t *b);

/* Bytes written so far. */
size_t aml_len(const aml_buf_t *b);

/* Append raw bytes. */
void aml_byte(aml_buf_t *b, uint8_t v);
void aml_bytes(aml_buf_t *b, const void *p, size_t n);

/*
 * An Integer in its shortest encoding: ZeroOp, OneOp, or the Byte, Word,
 * DWord or QWord prefix (20.2.3 ComputationalData).  Ones (all bits set) is
 * not used for 0xff..: a DSDT of revision 2 has 64-bit integers and Ones
 * would mean 2^64-1.
 */
void aml_integer(aml_buf_t *b, uint64_t v);

/* Integers with a fixed prefix, whatever their value. */
void aml_byte_const(aml_buf_t *b, uint8_t v);
void aml_word_const(aml_buf_t *b, uint16_t v);
void aml_dword_const(aml_buf_t *b, uint32_t v);
void aml_qword_const(aml_buf_t *b, uint64_t v);

/* A String: StringPrefix, ASCII 0x01-0x7f, NUL (20.2.3).  -EINVAL otherwise. */
void aml_string(aml_buf_t *b, const char *s);

/*
 * EisaId("PNP0A08"): the compressed 32-bit EISA id as a DWord constant
 * (ACPI 6.4, 19.6.35: three upper-case letters of 5 bits each, then four
 * hex digits, stored big-endian).  -EINVAL for anything else.
 */
void aml_eisaid(aml_buf_t *b, const char *id);

/*
 * A NameString (20.2.2): an optional root '\' or parent '^' prefixes, then
 * dot-separated NameSegs of 1-4 characters ([A-Z_] then [A-Z0-9_]), padded
 * with '_' to 4.  "" is the NullName.  -EINVAL for anything else.
 */
void aml_name_string(aml_buf_t *b, const char *path);

/* Name(@path, ...): NameOp and the name; the caller appends the object. */
void aml_name(aml_buf_t *b, const char *path);

/* Return(...): ReturnOp; the caller appends the operand. */
void aml_return(aml_buf_t *b);

/*
 * Open a block with a PkgLength: reserves the PkgLength and returns a mark
 * to pass to aml_end().  Each of these writes its opcode first.
 *  aml_scope_begin:   Scope(@path) { ... }
 *  aml_device_begin:  Device(@path) { ... }
 *  aml_method_begin:  Method(@path, @nargs (0-7), Serialized/NotSerialized) { ... }
 *  aml_package_begin: Package(@nelems) { ... }: the caller appends exactly
 *                     @nelems data objects (at most 255).
 */
size_t aml_scope_begin(aml_buf_t *b, const char *path);
size_t aml_device_begin(aml_buf_t *b, const char *path);
size_t aml_method_begin(aml_buf_t *b, const char *path, unsigned int nargs, bool serialized);
size_t aml_package_begin(aml_buf_t *b, unsigned int nelems);

/* Close the innermost block opened at @mark, writing its PkgLength. */
void aml_end(aml_buf_t *b, size_t mark);

/*
 * Encode @len (the length of the bytes a PkgLength covers, excluding the
 * PkgLength itself) into @out; returns how many bytes the PkgLength takes
 * (1-4), or 0 when @len is too large (20.2.4: the encoded value counts the
 * PkgLength's own bytes too).
 */
unsigned int aml_pkglength_encode(size_t len, uint8_t out[4]);

/* Buffer(@n) { @data }: BufferOp, PkgLength, the size as an Integer, bytes. */
void aml_buffer(aml_buf_t *b, const void *data, size_t n);

/* ---- resource templates (ACPI 6.4, 6.4 "Resource Data Types") -------- */

/*
 * Descriptors are appended to their own aml_buf_t (a scratch buffer); then
 * aml_resource_template() appends the End Tag with its checksum and writes
 * ResourceTemplate() { ... } - a Buffer holding them - to the AML.
 */

/* IO(Decode16, @min, @max, @align, @len) (6.4.2.5). */
void aml_res_io(aml_buf_t *r, uint16_t min, uint16_t max, uint8_t align, uint8_t len);

/* IRQNoFlags() { @irq } (6.4.2.1): an ISA IRQ 0-15, edge, active high. */
void aml_res_irq_noflags(aml_buf_t *r, unsigned int irq);

/* Memory32Fixed(ReadWrite|ReadOnly, @base, @size) (6.4.3.4). */
void aml_res_memory32_fixed(aml_buf_t *r, uint32_t base, uint32_t size, bool rw);

/* WordBusNumber(ResourceProducer, MinFixed, MaxFixed, PosDecode, 0, @min, @max, 0, len)
 * (6.4.3.5.3). */
void aml_res_word_bus_number(aml_buf_t *r, uint16_t min, uint16_t max);

/* WordIO(ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange, 0, @min, @max, 0, len). */
void aml_res_word_io(aml_buf_t *r, uint16_t min, uint16_t max);

/*
 * DWordMemory / QWordMemory(@producer ? ResourceProducer : ResourceConsumer,
 * PosDecode, MinFixed, MaxFixed, @cacheable ? Cacheable : NonCacheable,
 * ReadWrite, 0, @min, @max, 0, len) (6.4.3.5.2 and 6.4.3.5.1).
 */
void aml_res_dword_memory(aml_buf_t *r, uint32_t min, uint32_t max, bool producer, bool cacheable);
void aml_res_qword_memory(aml_buf_t *r, uint64_t min, uint64_t max, bool producer, bool cacheable);

/*
 * Interrupt(ResourceConsumer, @edge ? Edge : Level, @active_low ? ActiveLow
 * : ActiveHigh, @shared ? Shared : Exclusive) { @gsi } (6.4.3.6).
 */
void aml_res_ext_interrupt(aml_buf_t *r, uint32_t gsi, bool edge, bool active_low, bool shared);

/*
 * Finish @r with an End Tag (6.4.2.9) whose checksum makes the bytes of the
 * template sum to zero, and write it to @b as a Buffer.  An error in @r
 * becomes @b's error.
 */
void aml_resource_template(aml_buf_t *b, aml_buf_t *r);

#endif
