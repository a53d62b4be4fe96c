/* pvh_load end to end on guest RAM without KVM: Debian's kernel exactly as packaged goes in as a
 * bzImage and comes out loaded at its physical addresses, its Xen hypercall sites rewritten (or
 * left alone where KVM would intercept them), with hvm_start_info pointing at ACPI tables that lie
 * in an ACPI-typed part of the memory map.  The test guest's ELF loads the same way. */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "debian_kernel.h"
#include "unit.h"
#include "vmm/acpi_tables.h"
#include "vmm/bzimage.h"
#include "vmm/pvh_loader.h"
#include "vmm/vm.h"
#include "vmm/xen_call_sites.h"
#include "xen/xen_public.h"

#define BIG_RAM (512ull << 20)

struct ram_vm {
	struct vm vm;
};

static bool ram_vm_new(struct ram_vm *r, uint64_t size)
{
	void *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (ram == MAP_FAILED)
		return false;
	r->vm = (struct vm){ .kvm_fd = -1, .vm_fd = -1, .memfd = -1, .ram = ram, .ram_size = size,
			     .low_ram_size = size };
	return true;
}

static void ram_vm_free(struct ram_vm *r)
{
	munmap(r->vm.ram, r->vm.ram_size);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;

	if (!f)
		return NULL;
	if (!fseek(f, 0, SEEK_END)) {
		long n = ftell(f);
		if (n > 0 && (buf = malloc((size_t)n)) && !fseek(f, 0, SEEK_SET) &&
		    fread(buf, 1, (size_t)n, f) == (size_t)n) {
			*len = (size_t)n;
		} else {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	return buf;
}

/* A kernel virtual address to the physical address its PT_LOAD segment loads it at. */
static bool va_to_pa(const uint8_t *elf, size_t size, uint64_t va, uint64_t *pa)
{
	Elf64_Ehdr eh;

	if (size < sizeof(eh))
		return false;
	memcpy(&eh, elf, sizeof(eh));
	for (unsigned int i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		uint64_t off = eh.e_phoff + (uint64_t)i * eh.e_phentsize;
		if (off + sizeof(ph) > size)
			return false;
		memcpy(&ph, elf + off, sizeof(ph));
		if (ph.p_type == PT_LOAD && va >= ph.p_vaddr && va - ph.p_vaddr < ph.p_filesz) {
			*pa = ph.p_paddr + (va - ph.p_vaddr);
			return true;
		}
	}
	return false;
}

struct debian {
	char path[PATH_MAX];
	uint8_t *vmlinux;            /* unpacked, unpatched */
	size_t vmlinux_size;
	struct xen_call_sites sites; /* where the rewriter finds the stubs */
};

static void check_start_info(struct unit *u, struct ram_vm *r, const struct pvh_boot *boot, const char *cmdline)
{
	struct hvm_start_info si;
	uint8_t *ram = r->vm.ram;

	CHECK(boot->start_info_gpa + sizeof(si) <= r->vm.low_ram_size, "start_info at %#llx",
	      (unsigned long long)boot->start_info_gpa);
	memcpy(&si, ram + boot->start_info_gpa, sizeof(si));
	CHECK_INT(si.magic, XEN_HVM_START_MAGIC_VALUE);
	CHECK_INT(si.version, 1);
	CHECK_STR((const char *)ram + si.cmdline_paddr, cmdline);
	/* The RSDP is where start_info says, inside the ACPI region, and the memory map types that
	 * region ACPI, as libxl's does. */
	uint64_t acpi = vm_acpi_region_gpa(&r->vm);
	CHECK(si.rsdp_paddr >= acpi && si.rsdp_paddr < acpi + ACPI_PVH_REGION_SIZE,
	      "rsdp_paddr %#llx outside the ACPI region at %#llx", (unsigned long long)si.rsdp_paddr,
	      (unsigned long long)acpi);
	CHECK(si.rsdp_paddr && !memcmp(ram + si.rsdp_paddr, "RSD PTR ", 8), "no RSDP signature at rsdp_paddr");
	bool typed = false;
	for (unsigned int i = 0; i < si.memmap_entries; i++) {
		struct hvm_memmap_table_entry e;
		memcpy(&e, ram + si.memmap_paddr + i * sizeof(e), sizeof(e));
		if (e.type == XEN_HVM_MEMMAP_TYPE_ACPI && si.rsdp_paddr >= e.addr && si.rsdp_paddr < e.addr + e.size)
			typed = true;
		if (e.type == XEN_HVM_MEMMAP_TYPE_RAM)
			CHECK(e.addr + e.size <= acpi || e.addr >= acpi + ACPI_PVH_REGION_SIZE,
			      "RAM entry %#llx+%#llx overlaps the ACPI tables", (unsigned long long)e.addr,
			      (unsigned long long)e.size);
	}
	CHECK(typed, "no XEN_HVM_MEMMAP_TYPE_ACPI entry covers the RSDP");
}

static void test_debian(struct unit *u, const void *arg)
{
	const struct debian *d = arg;
	struct ram_vm r;
	struct pvh_boot boot;
	char err[512];
	const char *cmdline = "console=hvc0 root=/dev/xvda";

	if (!ram_vm_new(&r, BIG_RAM)) {
		CHECK(0, "cannot map %llu MiB", BIG_RAM >> 20);
		return;
	}
	struct pvh_options opt = { .vcpus = 2, .max_vcpus = 2, .rewrite_hypercalls = true };
	int rc = pvh_load(&r.vm, d->path, NULL, cmdline, &opt, &boot, err, sizeof(err));
	CHECK(rc == 0, "pvh_load(%s): %s", d->path, err);
	if (rc == 0) {
		uint32_t entry;
		uint64_t highest;
		char why[256];
		CHECK(pvh_elf_parse(d->vmlinux, d->vmlinux_size, NULL, &entry, &highest, why, sizeof(why)) == 0,
		      "the unpacked vmlinux: %s", why);
		CHECK_INT(boot.entry, entry);
		check_start_info(u, &r, &boot, cmdline);
		/* Each stub the rewriter names now holds `out %eax,$0x5c; nop` in guest memory. */
		CHECK_INT(d->sites.nsites, 2);
		for (unsigned int i = 0; i < d->sites.nsites; i++) {
			uint64_t pa = 0;
			CHECK(va_to_pa(d->vmlinux, d->vmlinux_size, d->sites.site[i].va, &pa),
			      "site %#llx maps to no segment", (unsigned long long)d->sites.site[i].va);
			const uint8_t *at = r.vm.ram + pa, want[3] = { 0xe7, 0x5c, 0x90 };
			CHECK(!memcmp(at, want, 3), "site %#llx (pa %#llx) holds %02x %02x %02x",
			      (unsigned long long)d->sites.site[i].va, (unsigned long long)pa, at[0], at[1], at[2]);
		}
	}
	ram_vm_free(&r);
}

static void test_debian_kvm_intercepts(struct unit *u, const void *arg)
{
	const struct debian *d = arg;
	struct ram_vm r;
	struct pvh_boot boot;
	char err[512];

	if (!ram_vm_new(&r, BIG_RAM)) {
		CHECK(0, "cannot map %llu MiB", BIG_RAM >> 20);
		return;
	}
	/* Where KVM intercepts Xen hypercalls the kernel runs as shipped. */
	struct pvh_options opt = { .vcpus = 1, .max_vcpus = 1, .rewrite_hypercalls = false };
	CHECK(pvh_load(&r.vm, d->path, NULL, "", &opt, &boot, err, sizeof(err)) == 0, "pvh_load: %s", err);
	for (unsigned int i = 0; i < d->sites.nsites; i++) {
		uint64_t pa = 0;
		if (!va_to_pa(d->vmlinux, d->vmlinux_size, d->sites.site[i].va, &pa))
			continue;
		const uint8_t *at = r.vm.ram + pa;
		CHECK(at[0] == 0x0f && at[1] == 0x01 && (at[2] == 0xc1 || at[2] == 0xd9),
		      "site %#llx changed to %02x %02x %02x though KVM intercepts", 
		      (unsigned long long)d->sites.site[i].va, at[0], at[1], at[2]);
	}
	ram_vm_free(&r);
}

static void test_debian_too_little_ram(struct unit *u, const void *arg)
{
	const struct debian *d = arg;
	struct ram_vm r;
	struct pvh_boot boot;
	char err[512] = "";

	if (!ram_vm_new(&r, 32ull << 20)) {
		CHECK(0, "cannot map 32 MiB");
		return;
	}
	struct pvh_options opt = { .vcpus = 1, .max_vcpus = 1, .rewrite_hypercalls = true };
	CHECK(pvh_load(&r.vm, d->path, NULL, "", &opt, &boot, err, sizeof(err)) == -1,
	      "a 66 MB kernel loaded into 32 MiB");
	CHECK(strstr(err, d->path) && strstr(err, "does not fit"), "message: %s", err);
	ram_vm_free(&r);
}

/* Our own test guest: an ELF with no hypercall stubs to rewrite; it still gets its tables. */
static void test_guest_elf(struct unit *u, const void *arg)
{
	const char *path = arg;
	struct ram_vm r;
	struct pvh_boot boot;
	char err[512];

	if (!ram_vm_new(&r, 64ull << 20)) {
		CHECK(0, "cannot map 64 MiB");
		return;
	}
	struct pvh_options opt = { .vcpus = 4, .max_vcpus = 8, .rewrite_hypercalls = true };
	CHECK(pvh_load(&r.vm, path, NULL, "test=hello", &opt, &boot, err, sizeof(err)) == 0, "pvh_load(%s): %s",
	      path, err);
	check_start_info(u, &r, &boot, "test=hello");
	ram_vm_free(&r);
}

static void test_ramdisk_past_limit(struct unit *u, const void *arg)
{
	const char *path = arg;
	struct ram_vm r;
	struct pvh_boot boot;
	char err[512] = "", rd[] = "/tmp/xenith-pvh-load-rd.XXXXXX";
	int fd = mkstemp(rd);

	if (fd < 0 || ftruncate(fd, 3ull << 20) < 0 || !ram_vm_new(&r, 4ull << 20)) {
		CHECK(0, "set-up failed");
		if (fd >= 0)
			close(fd), unlink(rd);
		return;
	}
	/* 3 MiB of ramdisk after the kernel cannot stay below the tables in 4 MiB of RAM. */
	struct pvh_options opt = { .vcpus = 1, .max_vcpus = 1, .rewrite_hypercalls = true };
	CHECK(pvh_load(&r.vm, path, rd, "", &opt, &boot, err, sizeof(err)) == -1, "a ramdisk overlapping the tables loaded");
	CHECK(strstr(err, "does not fit"), "message: %s", err);
	close(fd);
	unlink(rd);
	ram_vm_free(&r);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	struct debian d = { 0 };
	char why[512], root[PATH_MAX], guest[PATH_MAX + 64];
	size_t bz_len = 0;

	if (debian_kernel_bzimage(d.path, sizeof(d.path), why, sizeof(why))) {
		uint8_t *bz = slurp(d.path, &bz_len);
		const char *comp;
		if (!bz || bzimage_unpack(bz, bz_len, &d.vmlinux, &d.vmlinux_size, &comp, why, sizeof(why)) != 1) {
			printf("not ok - pvh-load-debian: cannot unpack %s: %s\n", d.path, bz ? why : "unreadable");
			u.failed++;
		} else {
			uint8_t *copy = malloc(d.vmlinux_size);
			memcpy(copy, d.vmlinux, d.vmlinux_size);
			xen_call_sites_patch(copy, d.vmlinux_size, &d.sites, why, sizeof(why));
			free(copy);
			unit_case(&u, "pvh-load-debian bzImage, sites rewritten, ACPI", test_debian, &d);
			unit_case(&u, "pvh-load-debian sites kept where KVM intercepts", test_debian_kvm_intercepts, &d);
			unit_case(&u, "pvh-load-debian too little RAM", test_debian_too_little_ram, &d);
		}
		free(bz);
	} else {
		printf("skip - pvh-load-debian: %s\n", why);
	}
	if (debian_kernel_tree_root(root, sizeof(root)) &&
	    (snprintf(guest, sizeof(guest), "%s/guest/out/xenith-guest.elf", root), access(guest, R_OK) == 0)) {
		unit_case(&u, "pvh-load test guest ELF with ACPI", test_guest_elf, guest);
		unit_case(&u, "pvh-load ramdisk may not reach the tables", test_ramdisk_past_limit, guest);
	} else {
		printf("skip - pvh-load test guest: guest/out/xenith-guest.elf not built\n");
	}
	free(d.vmlinux);
	return unit_finish(&u);
}
