/* ACPI tables for PVH domains (src/vmm/acpi_tables.c), for several configurations.
 *
 * Three witnesses: our own byte-level reading here (checksums, lengths, every pointer landing in
 * the region at the right guest-physical address, one MADT local APIC per possible vCPU); then
 * ACPICA's tools, the same code Linux's ACPI runs: `iasl -d` disassembles each table and must
 * neither complain nor show a field other than what we meant, `iasl` recompiles the disassembled
 * DSDT to the very same AML, and `acpiexec` runs the processor objects' _STA and _MAT.
 * (iasl 20200925 cannot read an RSDP from a file; the RSDP is checked here only.) */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "unit.h"
#include "vmm/acpi_aml.h"
#include "vmm/acpi_tables.h"
#include "vmm/domain.h"

/* Where a 512 MiB guest would keep them: below the six special pages at the top of low RAM. */
#define REGION_GPA (0x20000000ull - 6 * 4096 - ACPI_PVH_REGION_SIZE)

struct config_case {
	const char *name;
	struct acpi_config cfg;
	uint64_t gpa;
};

static const struct config_case configs[] = {
	{ "1 vCPU", { 1, 1, false }, REGION_GPA },
	{ "2 vCPUs", { 2, 2, false }, REGION_GPA },
	{ "the VMM's maximum (DOMAIN_MAX_VCPUS)", { DOMAIN_MAX_VCPUS, DOMAIN_MAX_VCPUS, false }, REGION_GPA },
	{ "2 online of 8 (6 to hot-plug)", { 2, 8, false }, REGION_GPA },
	{ "1 online of the VMM's maximum, with IO-APIC", { 1, DOMAIN_MAX_VCPUS, true }, REGION_GPA },
	{ "ACPI's maximum (255)", { ACPI_PVH_MAX_VCPUS, ACPI_PVH_MAX_VCPUS, false }, REGION_GPA },
	{ "above 4 GiB", { 4, 4, false }, 0x100000000ull + 0x10 },
};

struct built {
	uint8_t *buf;
	size_t used;
	uint64_t gpa, rsdp;
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s;
}

static bool build(struct unit *u, const struct config_case *c, struct built *b)
{
	char why[256] = "";

	b->buf = calloc(1, ACPI_PVH_REGION_SIZE);
	b->gpa = c->gpa;
	if (acpi_build_pvh(b->buf, ACPI_PVH_REGION_SIZE, c->gpa, &c->cfg, &b->rsdp, &b->used, why,
			   sizeof(why))) {
		CHECK(0, "acpi_build_pvh failed: %s", why);
		return false;
	}
	return true;
}

/* [addr, addr+len) inside what was built, or NULL. */
static const uint8_t *region_at(const struct built *b, uint64_t addr, uint64_t len)
{
	if (addr < b->gpa || addr - b->gpa > b->used || len > b->used - (addr - b->gpa))
		return NULL;
	return b->buf + (addr - b->gpa);
}

/* The table at addr: wholly in the region, with this signature and a zero byte sum. */
static const uint8_t *table_at(struct unit *u, const struct built *b, uint64_t addr, const char *sig,
			       uint32_t *len)
{
	const uint8_t *h = region_at(b, addr, 36);

	if (!h) {
		CHECK(0, "%s at %#llx lies outside the region %#llx+%zu", sig, (unsigned long long)addr,
		      (unsigned long long)b->gpa, b->used);
		return NULL;
	}
	*len = le32(h + 4);
	if (memcmp(h, sig, 4) || *len < 36 || !region_at(b, addr, *len)) {
		CHECK(0, "%s at %#llx: signature %.4s, length %u (region ends at %#llx)", sig,
		      (unsigned long long)addr, (const char *)h, *len,
		      (unsigned long long)(b->gpa + b->used));
		return NULL;
	}
	CHECK(sum(h, *len) == 0, "%s checksum: bytes sum to %#x", sig, sum(h, *len));
	return h;
}

struct found {
	uint64_t xsdt, fadt, madt, dsdt;
	uint32_t xsdt_len, fadt_len, madt_len, dsdt_len;
};

/* RSDP -> XSDT -> FADT -> DSDT and XSDT -> MADT, each checked on the way. */
static bool follow_pointers(struct unit *u, const struct built *b, struct found *f)
{
	const uint8_t *rsdp = region_at(b, b->rsdp, 36), *xsdt, *fadt;

	if (!rsdp) {
		CHECK(0, "RSDP at %#llx is outside the region", (unsigned long long)b->rsdp);
		return false;
	}
	CHECK(!memcmp(rsdp, "RSD PTR ", 8), "RSDP signature %.8s", (const char *)rsdp);
	CHECK(b->rsdp % 16 == 0, "RSDP at %#llx is not 16-byte aligned", (unsigned long long)b->rsdp);
	CHECK(sum(rsdp, 20) == 0, "RSDP checksum over 20 bytes: %#x", sum(rsdp, 20));
	CHECK(sum(rsdp, 36) == 0, "RSDP extended checksum over 36 bytes: %#x", sum(rsdp, 36));
	CHECK_INT(rsdp[15], 2);             /* revision: ACPI 2.0+ with an XSDT */
	CHECK_INT(le32(rsdp + 20), 36);     /* length */
	CHECK_INT(le32(rsdp + 16), 0);      /* no RSDT */
	f->xsdt = le64(rsdp + 24);
	xsdt = table_at(u, b, f->xsdt, "XSDT", &f->xsdt_len);
	if (!xsdt)
		return false;
	CHECK_INT(f->xsdt_len, 36 + 2 * 8);
	f->fadt = le64(xsdt + 36);
	f->madt = le64(xsdt + 44);
	fadt = table_at(u, b, f->fadt, "FACP", &f->fadt_len);
	if (!fadt || !table_at(u, b, f->madt, "APIC", &f->madt_len))
		return false;
	f->dsdt = le64(fadt + 140);
	CHECK(le32(fadt + 40) == (f->dsdt <= UINT32_MAX ? f->dsdt : 0),
	      "FADT DSDT %#x against X_DSDT %#llx", le32(fadt + 40), (unsigned long long)f->dsdt);
	return table_at(u, b, f->dsdt, "DSDT", &f->dsdt_len) != NULL;
}

static void test_tables(struct unit *u, const void *arg)
{
	const struct config_case *c = arg;
	struct built b;
	struct found f;

	if (!build(u, c, &b))
		goto out;
	CHECK(b.used <= ACPI_PVH_BYTES(c->cfg.max_vcpus), "used %zu bytes, above ACPI_PVH_BYTES(%u) = %zu",
	      b.used, c->cfg.max_vcpus, ACPI_PVH_BYTES(c->cfg.max_vcpus));
	if (!follow_pointers(u, &b, &f))
		goto out;

	/* No two tables overlap, and the last ends where `used` says. */
	uint64_t start[] = { b.rsdp, f.xsdt, f.fadt, f.madt, f.dsdt };
	uint64_t end[] = { b.rsdp + 36, f.xsdt + f.xsdt_len, f.fadt + f.fadt_len, f.madt + f.madt_len,
			   f.dsdt + f.dsdt_len };
	for (int i = 0; i < 5; i++)
		for (int j = i + 1; j < 5; j++)
			CHECK(end[i] <= start[j] || end[j] <= start[i], "tables %d and %d overlap", i, j);
	CHECK(f.dsdt + f.dsdt_len == b.gpa + b.used, "DSDT ends at %#llx, region used up to %#llx",
	      (unsigned long long)(f.dsdt + f.dsdt_len), (unsigned long long)(b.gpa + b.used));

	const uint8_t *fadt = region_at(&b, f.fadt, f.fadt_len);
	CHECK_INT(f.fadt_len, 276);
	CHECK_INT(fadt[8], 6);                            /* revision 6 ... */
	CHECK_INT(fadt[131], 3);                          /* ... minor 3: ACPI 6.3 */
	CHECK(le32(fadt + 112) & (1u << 20), "FADT flags %#x lack HW_REDUCED_ACPI", le32(fadt + 112));
	CHECK(!le32(fadt + 36) && !le64(fadt + 132), "a FACS is named; hardware-reduced needs none");
	CHECK_INT(le16(fadt + 109), (1 << 2) | (1 << 5)); /* no VGA, no CMOS RTC */

	const uint8_t *madt = region_at(&b, f.madt, f.madt_len);
	unsigned int lapics = 0, ioapics = 0;
	CHECK_INT(madt[8], 5);
	CHECK_INT(le32(madt + 36), 0xfee00000);
	for (uint32_t at = 44; at < f.madt_len;) {
		uint8_t type = madt[at], len = at + 1 < f.madt_len ? madt[at + 1] : 0;
		if (len < 2 || len > f.madt_len - at) {
			CHECK(0, "MADT subtable at %u of length %u runs past the table", at, len);
			break;
		}
		if (type == 0 && len == 8) {
			unsigned int v = lapics++;
			CHECK(madt[at + 2] == v && madt[at + 3] == v,
			      "local APIC %u: UID %u, APIC ID %u; our vCPU %u has APIC ID %u", v, madt[at + 2],
			      madt[at + 3], v, v);
			CHECK_INT(madt[at + 3], acpi_vcpu_apic_id(v));
			CHECK(le32(madt + at + 4) == (v < c->cfg.vcpus ? 1u : 2u),
			      "local APIC %u flags %#x: want %s", v, le32(madt + at + 4),
			      v < c->cfg.vcpus ? "enabled" : "online capable");
		} else if (type == 1 && len == 12) {
			ioapics++;
			CHECK_INT(le32(madt + at + 4), 0xfec00000);
			CHECK_INT(le32(madt + at + 8), 0);
		} else {
			CHECK(0, "MADT subtable type %u length %u", type, len);
		}
		at += len;
	}
	CHECK_INT(lapics, c->cfg.max_vcpus);
	CHECK_INT(ioapics, c->cfg.ioapic);
out:
	free(b.buf);
}

static void test_errors(struct unit *u, const void *arg)
{
	static const struct {
		struct acpi_config cfg;
		uint64_t gpa;
		size_t len;
		const char *why;
	} rows[] = {
		{ { 0, 1, false }, REGION_GPA, ACPI_PVH_REGION_SIZE, "need 1 <= vcpus <= max_vcpus" },
		{ { 3, 2, false }, REGION_GPA, ACPI_PVH_REGION_SIZE, "need 1 <= vcpus <= max_vcpus" },
		{ { 1, 256, false }, REGION_GPA, ACPI_PVH_REGION_SIZE, "hold at most 255" },
		{ { 1, 1, false }, REGION_GPA + 8, ACPI_PVH_REGION_SIZE, "16-byte aligned" },
		{ { 1, 1, false }, UINT64_MAX - 4095, ACPI_PVH_REGION_SIZE, "wraps around" },
		{ { 1, 1, false }, REGION_GPA, 0, "need" },
		{ { 64, 64, false }, REGION_GPA, 4096, "need" },
	};
	uint8_t *buf = calloc(1, ACPI_PVH_REGION_SIZE);
	(void)arg;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char why[256] = "";
		uint64_t rsdp;
		size_t used;
		int r = acpi_build_pvh(buf, rows[i].len, rows[i].gpa, &rows[i].cfg, &rsdp, &used, why,
				       sizeof(why));
		CHECK(r == -1 && strstr(why, rows[i].why), "row %zu: returned %d, why \"%s\", want \"%s\"", i,
		      r, why, rows[i].why);
	}
	/* Exactly enough fits; one byte less says how much is needed, and writes nothing past it. */
	struct acpi_config cfg = { 3, 9, true };
	char why[256] = "", want[64];
	uint64_t rsdp;
	size_t used, used2;
	CHECK(!acpi_build_pvh(buf, ACPI_PVH_REGION_SIZE, REGION_GPA, &cfg, &rsdp, &used, why, sizeof(why)),
	      "%s", why);
	memset(buf, 0xa5, ACPI_PVH_REGION_SIZE);
	CHECK(acpi_build_pvh(buf, used - 1, REGION_GPA, &cfg, &rsdp, &used2, why, sizeof(why)) == -1,
	      "%zu bytes were enough for %zu", used - 1, used);
	snprintf(want, sizeof(want), "need %zu bytes, the region has %zu", used, used - 1);
	CHECK(strstr(why, want), "why \"%s\", want \"%s\"", why, want);
	CHECK(buf[used - 1] == 0xa5, "wrote past the region it was given");
	CHECK(!acpi_build_pvh(buf, used, REGION_GPA, &cfg, &rsdp, &used2, why, sizeof(why)) && used2 == used,
	      "exactly %zu bytes: %s", used, why);
	free(buf);
}

/* ACPI_PVH_BYTES bounds every supported configuration, and is not loose by more than a little. */
static void test_size_bound(struct unit *u, const void *arg)
{
	uint8_t *buf = calloc(1, ACPI_PVH_REGION_SIZE);
	(void)arg;

	CHECK(DOMAIN_MAX_VCPUS <= ACPI_PVH_MAX_VCPUS, "the VMM allows %d vCPUs, ACPI tables hold %u",
	      DOMAIN_MAX_VCPUS, ACPI_PVH_MAX_VCPUS);
	for (unsigned int n = 1; n <= ACPI_PVH_MAX_VCPUS; n++) {
		for (int variant = 0; variant < 2; variant++) {
			struct acpi_config cfg = { 1, n, variant == 1 };
			uint64_t gpa = variant ? 0x100000000ull : REGION_GPA, rsdp;
			size_t used;
			char why[256] = "";
			if (acpi_build_pvh(buf, ACPI_PVH_REGION_SIZE, gpa, &cfg, &rsdp, &used, why, sizeof(why))) {
				CHECK(0, "%u vCPUs: %s", n, why);
				continue;
			}
			CHECK(used <= ACPI_PVH_BYTES(n) && used + 16 * n + 256 >= ACPI_PVH_BYTES(n),
			      "%u vCPUs took %zu bytes against ACPI_PVH_BYTES %zu", n, used, ACPI_PVH_BYTES(n));
		}
	}
	free(buf);
}

/* PkgLength encodings at the edges of each size, and a term whose length grows by its own size. */
static void test_aml_lengths(struct unit *u, const void *arg)
{
	static const struct { uint32_t value; unsigned int n; uint8_t enc[4]; } rows[] = {
		{ 0, 1, { 0x00 } },
		{ 63, 1, { 0x3f } },
		{ 64, 2, { 0x40, 0x04 } },
		{ 4095, 2, { 0x4f, 0xff } },
		{ 4096, 3, { 0x80, 0x00, 0x01 } },
		{ 0xfffff, 3, { 0x8f, 0xff, 0xff } },
		{ 0x100000, 4, { 0xc0, 0x00, 0x00, 0x01 } },
		{ 0xfffffff, 4, { 0xcf, 0xff, 0xff, 0xff } },
		{ 0x10000000, 0, { 0 } },
	};
	(void)arg;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint8_t enc[4] = { 0 };
		unsigned int n = aml_encode_length(rows[i].value, enc);
		CHECK(n == rows[i].n && !memcmp(enc, rows[i].enc, n), "%#x encoded in %u bytes %02x %02x %02x %02x",
		      rows[i].value, n, enc[0], enc[1], enc[2], enc[3]);
	}
	/* Scope (_SB) { Name (X, "...") }: body 4 + 7 + L bytes.  L = 51 fits 62+1 = 63 in one byte;
	 * L = 52 needs two, so the length is 63 + 2 = 65; and the opcode makes one more. */
	for (unsigned int l = 51; l <= 52; l++) {
		char s[64];
		uint8_t out[128], small[8];
		struct aml a;
		memset(s, 'a', l);
		s[l] = 0;
		aml_init(&a, out, sizeof(out));
		aml_scope(&a, "_SB");
		aml_name_string(&a, "X", s);
		aml_close(&a);
		CHECK(aml_complete(&a), "scope with a %u-byte string: %s", l, a.bad ? a.bad : "incomplete");
		if (l == 51)
			CHECK(a.len == 64 && out[1] == 63, "%u: len %zu, PkgLength byte %#x", l, a.len, out[1]);
		else
			CHECK(a.len == 66 && out[1] == 0x41 && out[2] == 0x04, "%u: len %zu, PkgLength %#x %#x",
			      l, a.len, out[1], out[2]);
		/* Too small a buffer: nothing written past it, and the count is the same. */
		size_t full = a.len;
		memset(small, 0xa5, sizeof(small));
		aml_init(&a, small, 4);
		aml_scope(&a, "_SB");
		aml_name_string(&a, "X", s);
		aml_close(&a);
		CHECK(!aml_complete(&a) && a.len == full && small[4] == 0xa5, "overflow: len %zu of %zu", a.len,
		      full);
	}
	struct aml a;
	uint8_t out[16];
	aml_init(&a, out, sizeof(out));
	aml_name_integer(&a, "1BAD", 0);
	CHECK(a.bad != NULL, "a name starting with a digit was accepted");
	aml_init(&a, out, sizeof(out));
	aml_close(&a);
	CHECK(a.bad != NULL, "closing an unopened term was accepted");
}

/* ---- ACPICA's tools ---- */

static bool have_tool(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (!path)
		return false;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name);
		if (n && !access(buf, X_OK))
			return true;
		p += n + (p[n] == ':');
	}
	return false;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	char *text = NULL;
	size_t len = 0;

	if (!f)
		return NULL;
	FILE *m = open_memstream(&text, &len);
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		fwrite(chunk, 1, n, m);
	fclose(m);
	fclose(f);
	return text;
}

static unsigned int count(const char *text, const char *needle)
{
	unsigned int n = 0;
	for (const char *p = text; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static bool write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "we");
	bool ok = f && fwrite(data, 1, len, f) == len;
	if (f)
		ok = !fclose(f) && ok;
	return ok;
}

/* Runs `cmd` in dir with its output in dir/log_name; returns the exit status and the output. */
static int run_in(const char *dir, const char *cmd, const char *log_name, char **log)
{
	char line[1024], path[512];
	snprintf(line, sizeof(line), "cd '%s' && %s >%s 2>&1", dir, cmd, log_name);
	int status = system(line);
	snprintf(path, sizeof(path), "%s/%s", dir, log_name);
	*log = slurp(path);
	if (!*log)
		*log = strdup("");
	return status;
}

static void remove_dir(struct unit *u, const char *dir)
{
	char rm[128];
	snprintf(rm, sizeof(rm), "rm -rf '%s'", dir);
	CHECK(system(rm) == 0, "cannot remove %s", dir);
}

/* What ACPICA's disassembler says when a table is wrong in ways it can tell. */
static const char *const complaints[] = { "Error", "Warning", "Incorrect", "Invalid", "****" };

static char *disassemble(struct unit *u, const char *dir, const char *name, const uint8_t *table,
			 uint32_t len)
{
	char file[512], cmd[256], log_name[64], *log, *dsl;

	snprintf(file, sizeof(file), "%s/%s.dat", dir, name);
	if (!write_file(file, table, len)) {
		CHECK(0, "cannot write %s", file);
		return NULL;
	}
	snprintf(cmd, sizeof(cmd), "iasl -d %s.dat", name);
	snprintf(log_name, sizeof(log_name), "%s.log", name);
	int status = run_in(dir, cmd, log_name, &log);
	CHECK(status == 0, "iasl -d %s.dat exited with status %#x: %s", name, status, log);
	snprintf(file, sizeof(file), "%s/%s.dsl", dir, name);
	dsl = slurp(file);
	for (size_t i = 0; i < sizeof(complaints) / sizeof(complaints[0]); i++) {
		CHECK(!strstr(log, complaints[i]), "iasl -d %s says %s: %s", name, complaints[i], log);
		CHECK(!dsl || !strstr(dsl, complaints[i]), "%s.dsl says %s", name, complaints[i]);
	}
	free(log);
	if (!dsl)
		CHECK(0, "iasl -d %s wrote no %s", name, file);
	return dsl;
}

static void test_iasl(struct unit *u, const void *arg)
{
	const struct config_case *c = arg;
	char dir[] = "/tmp/xenith-acpi-XXXXXXX", want[128], *text;
	struct built b;
	struct found f;

	if (!build(u, c, &b) || !follow_pointers(u, &b, &f) || !mkdtemp(dir)) {
		CHECK(0, "no tables (or no temporary directory) to disassemble");
		free(b.buf);
		return;
	}
	unsigned int max = c->cfg.max_vcpus, on = c->cfg.vcpus;

	text = disassemble(u, dir, "xsdt", region_at(&b, f.xsdt, f.xsdt_len), f.xsdt_len);
	if (text) {
		snprintf(want, sizeof(want), "ACPI Table Address   0 : %016llX", (unsigned long long)f.fadt);
		CHECK(strstr(text, want), "xsdt.dsl lacks \"%s\"", want);
		snprintf(want, sizeof(want), "ACPI Table Address   1 : %016llX", (unsigned long long)f.madt);
		CHECK(strstr(text, want), "xsdt.dsl lacks \"%s\"", want);
	}
	free(text);

	text = disassemble(u, dir, "facp", region_at(&b, f.fadt, f.fadt_len), f.fadt_len);
	if (text) {
		CHECK(strstr(text, "Hardware Reduced (V5) : 1"), "facp.dsl: not hardware-reduced");
		CHECK(strstr(text, "FADT Minor Revision : 03"), "facp.dsl: minor revision");
		CHECK(strstr(text, "CMOS RTC Not Present (V5) : 1"), "facp.dsl: CMOS RTC");
		snprintf(want, sizeof(want), "DSDT Address : %016llX", (unsigned long long)f.dsdt);
		CHECK(strstr(text, want), "facp.dsl lacks \"%s\"", want);
	}
	free(text);

	text = disassemble(u, dir, "apic", region_at(&b, f.madt, f.madt_len), f.madt_len);
	if (text) {
		CHECK_INT(count(text, "[Processor Local APIC]"), max);
		CHECK_INT(count(text, "Processor Enabled : 1"), on);
		CHECK_INT(count(text, "Processor Enabled : 0"), max - on);
		CHECK_INT(count(text, "Runtime Online Capable : 1"), max - on);
		CHECK_INT(count(text, "[I/O APIC]"), c->cfg.ioapic);
		snprintf(want, sizeof(want), "Local Apic ID : %02X", max - 1);
		CHECK(strstr(text, want), "apic.dsl lacks \"%s\"", want);
	}
	free(text);

	const uint8_t *dsdt = region_at(&b, f.dsdt, f.dsdt_len);
	text = disassemble(u, dir, "dsdt", dsdt, f.dsdt_len);
	if (text) {
		CHECK_INT(count(text, "Device (CP"), max);
		CHECK_INT(count(text, "Name (_HID, \"ACPI0007\""), max);
		CHECK_INT(count(text, "Method (_STA, 0, NotSerialized)"), max);
		CHECK_INT(count(text, "Method (_MAT, 0, NotSerialized)"), max);
		CHECK(strstr(text, "Scope (_SB)"), "dsdt.dsl has no Scope (_SB)");
		/* Each processor's region is its own MADT entry, in order. */
		const uint8_t *madt = region_at(&b, f.madt, f.madt_len);
		uint64_t entry = f.madt + 44 + (c->cfg.ioapic ? 12 : 0);
		const char *p = text;
		for (unsigned int v = 0; v < max; v++, entry += 8) {
			p = strstr(p, "OperationRegion (LAPE, SystemMemory, 0x");
			if (!p) {
				CHECK(0, "dsdt.dsl has %u processor regions, want %u", v, max);
				break;
			}
			unsigned long long addr = strtoull(p + strlen("OperationRegion (LAPE, SystemMemory, "), NULL, 16);
			CHECK(addr == entry && madt[entry - f.madt] == 0 && madt[entry - f.madt + 2] == v,
			      "CP%02X's region at %#llx, its MADT entry at %#llx", v, addr, (unsigned long long)entry);
			p++;
		}
	}
	free(text);

	/* Second witness: iasl compiles the disassembly back to the same AML (headers aside). */
	char *log, aml_path[512];
	int status = run_in(dir, "iasl -p again dsdt.dsl", "compile.log", &log);
	CHECK(status == 0 && strstr(log, "Compilation successful. 0 Errors, 0 Warnings"),
	      "iasl dsdt.dsl: status %#x: %s", status, log);
	free(log);
	snprintf(aml_path, sizeof(aml_path), "%s/again.aml", dir);
	FILE *fa = fopen(aml_path, "re");
	uint8_t *again = malloc(f.dsdt_len + 1);
	size_t got = fa ? fread(again, 1, f.dsdt_len + 1, fa) : 0;
	if (fa)
		fclose(fa);
	CHECK(got == f.dsdt_len && !memcmp(again + 36, dsdt + 36, f.dsdt_len - 36),
	      "recompiled DSDT: %zu bytes against our %u, or different AML", got, f.dsdt_len);
	free(again);

	remove_dir(u, dir);
	free(b.buf);
}

/* Third witness: ACPICA's interpreter runs _STA and _MAT over a region it fills for us: flags
 * 0x01 (enabled) say present, 0x02 (online capable only) say absent. */
static void test_acpiexec(struct unit *u, const void *arg)
{
	static const struct { const char *fill, *method, *want; } rows[] = {
		{ "1", "_STA", "[Integer] = 000000000000000F" },
		{ "2", "_STA", "[Integer] = 0000000000000000" },
		{ "1", "_MAT", "[Buffer] Length 08 =     0000: 01 01 01 01 01 01 01 01" },
	};
	const struct config_case *c = arg;
	char dir[] = "/tmp/xenith-acpi-XXXXXXX", file[512], cmd[256], *log;
	struct built b;
	struct found f;

	if (!build(u, c, &b) || !follow_pointers(u, &b, &f) || !mkdtemp(dir)) {
		CHECK(0, "no tables (or no temporary directory)");
		free(b.buf);
		return;
	}
	snprintf(file, sizeof(file), "%s/dsdt.dat", dir);
	CHECK(write_file(file, region_at(&b, f.dsdt, f.dsdt_len), f.dsdt_len), "cannot write %s", file);
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned int v = c->cfg.max_vcpus - 1;
		snprintf(cmd, sizeof(cmd), "timeout 60 acpiexec -fv %s -b 'evaluate \\_SB.CP%02X.%s' dsdt.dat",
			 rows[i].fill, v, rows[i].method);
		int status = run_in(dir, cmd, "exec.log", &log);
		CHECK(status == 0 && strstr(log, rows[i].want) && !strstr(log, "AE_"),
		      "%s: status %#x, want \"%s\": %s", cmd, status, rows[i].want, log);
		free(log);
	}
	remove_dir(u, dir);
	free(b.buf);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[160];
	bool iasl = have_tool("iasl"), acpiexec = have_tool("acpiexec");

	unit_case(&u, "AML PkgLength encoding", test_aml_lengths, NULL);
	unit_case(&u, "refusals: bad configurations, small buffers", test_errors, NULL);
	unit_case(&u, "ACPI_PVH_BYTES bounds 1..255 vCPUs", test_size_bound, NULL);
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++) {
		snprintf(name, sizeof(name), "tables: %s", configs[i].name);
		unit_case(&u, name, test_tables, &configs[i]);
		snprintf(name, sizeof(name), "iasl -d and recompile: %s", configs[i].name);
		if (iasl)
			unit_case(&u, name, test_iasl, &configs[i]);
		else
			printf("skip - %s: iasl not installed (Debian package acpica-tools)\n", name);
	}
	snprintf(name, sizeof(name), "acpiexec runs _STA and _MAT: %s", configs[3].name);
	if (acpiexec)
		unit_case(&u, name, test_acpiexec, &configs[3]);
	else
		printf("skip - %s: acpiexec not installed (Debian package acpica-tools)\n", name);
	return unit_finish(&u);
}
