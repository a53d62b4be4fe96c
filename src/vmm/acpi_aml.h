/* An AML encoder: the byte code of ACPI definition blocks (ACPI 6.5, chapter 20), for the few terms
 * our DSDT needs.  Terms with a PkgLength (Scope, Device, Method, If, Field) are opened, filled and
 * closed; closing computes the length and inserts its encoding before the body.
 *
 * The encoder never writes past its buffer: once a term does not fit it keeps counting, so `len`
 * says how many bytes the whole block needs.  Misuse (a bad name, unbalanced terms) sets `bad`
 * with a reason instead of emitting wrong code. */
#ifndef XENITH_ACPI_AML_H
#define XENITH_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

struct aml {
	uint8_t *buf;
	size_t cap;
	size_t len;                 /* bytes the block needs so far, even past cap */
	unsigned int depth;
	size_t open[AML_MAX_DEPTH]; /* where each open term's body starts */
	const char *bad;            /* first misuse, or NULL */
};

enum aml_region_space { AML_SYSTEM_MEMORY = 0x00, AML_SYSTEM_IO = 0x01 };
enum aml_access { AML_BYTE_ACC = 0x01 };   /* with NoLock and Preserve, which are 0 */

void aml_init(struct aml *a, uint8_t *buf, size_t cap);
/* True when everything fit, every term was closed and nothing was misused. */
bool aml_complete(const struct aml *a);

/* Terms without a body. Names are one NameSeg (1-4 of A-Z, 0-9, _; padded with _), optionally
 * after a root prefix: "\\_SB". */
void aml_name_integer(struct aml *a, const char *name, uint64_t value);   /* Name (X, 0x..) */
void aml_name_string(struct aml *a, const char *name, const char *value); /* Name (X, "..") */
void aml_op_region(struct aml *a, const char *name, enum aml_region_space space, uint64_t offset,
		   uint64_t length);
void aml_return_integer(struct aml *a, uint64_t value);
void aml_return_to_buffer(struct aml *a, const char *name);              /* Return (ToBuffer (X)) */

/* Terms with a body, closed by aml_close. */
void aml_scope(struct aml *a, const char *name);
void aml_device(struct aml *a, const char *name);
void aml_method(struct aml *a, const char *name, unsigned int nargs);   /* NotSerialized */
void aml_if_name(struct aml *a, const char *name);                      /* If (X) { ... } */
/* Field (region, access, NoLock, Preserve) { units }, then aml_field_skip / aml_field_unit. */
void aml_field(struct aml *a, const char *region, enum aml_access access);
void aml_field_skip(struct aml *a, uint32_t bits);                      /* Offset (...) */
void aml_field_unit(struct aml *a, const char *name, uint32_t bits);
void aml_close(struct aml *a);

/* The PkgLength encoding of `value` into out (1-4 bytes); 0 if value is over 2^28 - 1. */
unsigned int aml_encode_length(uint32_t value, uint8_t out[4]);

#endif
