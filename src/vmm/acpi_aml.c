#include <string.h>
#include "vmm/acpi_aml.h"

/* AML opcodes (ACPI 6.5, 20.3); the extended ones follow ExtOpPrefix. */
enum {
	AML_ZERO = 0x00, AML_ONE = 0x01, AML_NAME = 0x08,
	AML_BYTE_PREFIX = 0x0a, AML_WORD_PREFIX = 0x0b, AML_DWORD_PREFIX = 0x0c,
	AML_STRING_PREFIX = 0x0d, AML_QWORD_PREFIX = 0x0e,
	AML_SCOPE = 0x10, AML_METHOD = 0x14, AML_EXT_PREFIX = 0x5b, AML_ROOT_CHAR = 0x5c,
	AML_TO_BUFFER = 0x96, AML_IF = 0xa0, AML_RETURN = 0xa4,
	AML_EXT_OP_REGION = 0x80, AML_EXT_FIELD = 0x81, AML_EXT_DEVICE = 0x82,
	AML_NULL_NAME = 0x00, AML_RESERVED_FIELD = 0x00,
};

/* The largest value each PkgLength size holds: 6 bits in one byte, then 4 + 8 per extra byte. */
static const uint32_t length_limit[5] = { 0, 0x3f, 0xfff, 0xfffff, 0xfffffff };

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	*a = (struct aml){ .buf = buf, .cap = cap };
}

bool aml_complete(const struct aml *a)
{
	return !a->bad && !a->depth && a->len <= a->cap;
}

static void misuse(struct aml *a, const char *why)
{
	if (!a->bad)
		a->bad = why;
}

static void emit(struct aml *a, const void *p, size_t n)
{
	if (n && a->len <= a->cap && n <= a->cap - a->len)
		memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void emit_byte(struct aml *a, uint8_t b)
{
	emit(a, &b, 1);
}

static bool name_char_ok(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* NameString: an optional root prefix and one NameSeg, padded with '_' to four characters. */
static void emit_name(struct aml *a, const char *name)
{
	char seg[4] = { '_', '_', '_', '_' };
	size_t n;

	if (*name == '\\') {
		emit_byte(a, AML_ROOT_CHAR);
		name++;
	}
	n = strlen(name);
	if (n < 1 || n > 4) {
		misuse(a, "AML name is not 1 to 4 characters");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!name_char_ok(name[i], i == 0)) {
			misuse(a, "AML name has a character outside A-Z, 0-9 and _");
			return;
		}
		seg[i] = name[i];
	}
	emit(a, seg, sizeof(seg));
}

static void emit_integer(struct aml *a, uint64_t v)
{
	uint8_t le[8];
	unsigned int size;

	if (v <= 1) {
		emit_byte(a, v ? AML_ONE : AML_ZERO);
		return;
	}
	if (v <= 0xff) {
		emit_byte(a, AML_BYTE_PREFIX);
		size = 1;
	} else if (v <= 0xffff) {
		emit_byte(a, AML_WORD_PREFIX);
		size = 2;
	} else if (v <= 0xffffffffu) {
		emit_byte(a, AML_DWORD_PREFIX);
		size = 4;
	} else {
		emit_byte(a, AML_QWORD_PREFIX);
		size = 8;
	}
	for (unsigned int i = 0; i < size; i++)
		le[i] = (uint8_t)(v >> (8 * i));
	emit(a, le, size);
}

unsigned int aml_encode_length(uint32_t value, uint8_t out[4])
{
	unsigned int k = 1;

	while (k <= 4 && value > length_limit[k])
		k++;
	if (k > 4)
		return 0;
	if (k == 1) {
		out[0] = (uint8_t)value;
		return 1;
	}
	out[0] = (uint8_t)(((k - 1) << 6) | (value & 0x0f));
	for (unsigned int i = 1; i < k; i++)
		out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
	return k;
}

/* A term with a body: its opcode now, its PkgLength when it is closed. */
static void open_term(struct aml *a, const uint8_t *op, size_t oplen)
{
	if (a->depth == AML_MAX_DEPTH) {
		misuse(a, "AML terms nested too deeply");
		return;
	}
	emit(a, op, oplen);
	a->open[a->depth++] = a->len;
}

void aml_close(struct aml *a)
{
	uint8_t enc[4];
	size_t start, body;
	unsigned int k = 1;

	if (!a->depth) {
		misuse(a, "AML term closed that was never opened");
		return;
	}
	start = a->open[--a->depth];
	body = a->len - start;
	/* The length counts its own bytes, so its size decides the value it encodes. */
	while (k <= 4 && body + k > length_limit[k])
		k++;
	if (k > 4 || aml_encode_length((uint32_t)(body + k), enc) != k) {
		misuse(a, "AML term longer than a PkgLength holds");
		return;
	}
	if (a->len <= a->cap && k <= a->cap - a->len) {
		memmove(a->buf + start + k, a->buf + start, body);
		memcpy(a->buf + start, enc, k);
		a->len += k;
	} else {
		a->len += k;   /* does not fit (or an earlier term did not): keep counting */
	}
}

void aml_name_integer(struct aml *a, const char *name, uint64_t value)
{
	emit_byte(a, AML_NAME);
	emit_name(a, name);
	emit_integer(a, value);
}

void aml_name_string(struct aml *a, const char *name, const char *value)
{
	emit_byte(a, AML_NAME);
	emit_name(a, name);
	emit_byte(a, AML_STRING_PREFIX);
	for (const unsigned char *c = (const unsigned char *)value; *c; c++)
		if (*c > 0x7f)
			misuse(a, "AML string outside ASCII 1-127");
	emit(a, value, strlen(value) + 1);
}

void aml_op_region(struct aml *a, const char *name, enum aml_region_space space, uint64_t offset,
		   uint64_t length)
{
	emit_byte(a, AML_EXT_PREFIX);
	emit_byte(a, AML_EXT_OP_REGION);
	emit_name(a, name);
	emit_byte(a, (uint8_t)space);
	emit_integer(a, offset);
	emit_integer(a, length);
}

void aml_return_integer(struct aml *a, uint64_t value)
{
	emit_byte(a, AML_RETURN);
	emit_integer(a, value);
}

void aml_return_to_buffer(struct aml *a, const char *name)
{
	emit_byte(a, AML_RETURN);
	emit_byte(a, AML_TO_BUFFER);
	emit_name(a, name);
	emit_byte(a, AML_NULL_NAME);   /* no target */
}

void aml_scope(struct aml *a, const char *name)
{
	static const uint8_t op[] = { AML_SCOPE };
	open_term(a, op, sizeof(op));
	emit_name(a, name);
}

void aml_device(struct aml *a, const char *name)
{
	static const uint8_t op[] = { AML_EXT_PREFIX, AML_EXT_DEVICE };
	open_term(a, op, sizeof(op));
	emit_name(a, name);
}

void aml_method(struct aml *a, const char *name, unsigned int nargs)
{
	static const uint8_t op[] = { AML_METHOD };
	if (nargs > 7)
		misuse(a, "AML method with more than 7 arguments");
	open_term(a, op, sizeof(op));
	emit_name(a, name);
	emit_byte(a, (uint8_t)(nargs & 7));   /* NotSerialized, SyncLevel 0 */
}

void aml_if_name(struct aml *a, const char *name)
{
	static const uint8_t op[] = { AML_IF };
	open_term(a, op, sizeof(op));
	emit_name(a, name);
}

void aml_field(struct aml *a, const char *region, enum aml_access access)
{
	static const uint8_t op[] = { AML_EXT_PREFIX, AML_EXT_FIELD };
	open_term(a, op, sizeof(op));
	emit_name(a, region);
	emit_byte(a, (uint8_t)access);
}

static void emit_bits(struct aml *a, uint32_t bits)
{
	uint8_t enc[4];
	unsigned int k = aml_encode_length(bits, enc);

	if (!k)
		misuse(a, "AML field unit too wide");
	emit(a, enc, k);
}

void aml_field_skip(struct aml *a, uint32_t bits)
{
	emit_byte(a, AML_RESERVED_FIELD);
	emit_bits(a, bits);
}

void aml_field_unit(struct aml *a, const char *name, uint32_t bits)
{
	if (*name == '\\')
		misuse(a, "AML field unit names take no prefix");
	emit_name(a, name);
	emit_bits(a, bits);
}
