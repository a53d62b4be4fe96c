/* The dirty page log (vmm/dirty_log.h) and its pieces: a slot's bitmap lands in memfd order at any
 * bit offset (checked against a bit-by-bit reference), the VM's slots are walked with their memfd
 * pages, host marks and extra pages whose slot went away while logging are collected once, marks
 * racing a stop never touch freed memory (run it under ASan), and on a KVM host: logging starts and
 * stops on a real VM, nothing is dirty when nothing ran, and a page a guest writes is collected. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "vmm/dirty_bitmap.h"
#include "vmm/dirty_log.h"
#include "vmm/vm.h"

#define FAKE_RAM (8u << 20)
#define FAKE_PAGES (FAKE_RAM / 4096)

/* ---- bitmaps ---- */

static uint64_t next_rand(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static const struct or_case { uint64_t at, src_bits, dst_bits; } or_cases[] = {
	{ 0, 64, 64 }, { 0, 1, 64 }, { 1, 63, 64 }, { 3, 200, 300 }, { 63, 1, 64 }, { 63, 65, 128 },
	{ 64, 64, 192 }, { 65, 130, 200 }, { 127, 64, 191 }, { 130, 5, 135 }, { 5, 0, 10 },
};

/* Random source words, all ones past src_bits so a leak of those shows. */
static void test_or_at(struct unit *u, const void *arg)
{
	(void)arg;
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	for (size_t k = 0; k < sizeof(or_cases) / sizeof(or_cases[0]); k++) {
		const struct or_case *t = &or_cases[k];
		uint64_t src[8], dst[8], want[8];
		for (int i = 0; i < 8; i++) {
			src[i] = next_rand(&seed);
			dst[i] = want[i] = next_rand(&seed) & next_rand(&seed);
		}
		for (uint64_t b = t->src_bits; b < 8 * 64; b++)
			src[b / 64] |= 1ull << (b % 64);
		uint64_t dst_words = dirty_bitmap_words(t->dst_bits);
		for (uint64_t b = t->dst_bits; b < 8 * 64; b++)      /* ours beyond dst_bits: not touched */
			dst[b / 64] &= ~(1ull << (b % 64)), want[b / 64] &= ~(1ull << (b % 64));
		for (uint64_t b = 0; b < t->src_bits; b++)
			if (dirty_bitmap_test(src, b))
				dirty_bitmap_set(want, t->at + b);
		CHECK_INT(dirty_bitmap_or_at(dst, t->dst_bits, src, t->src_bits, t->at), 0);
		CHECK(!memcmp(dst, want, sizeof(dst)), "at %llu, %llu bits into %llu: merged bits differ",
		      (unsigned long long)t->at, (unsigned long long)t->src_bits, (unsigned long long)t->dst_bits);
		for (uint64_t w = dst_words; w < 8; w++)
			CHECK(dst[w] == 0, "word %llu past the bitmap was written", (unsigned long long)w);
	}
}

static void test_or_at_refuses(struct unit *u, const void *arg)
{
	(void)arg;
	uint64_t src[2] = { ~0ull, ~0ull }, dst[2] = { 0, 0 };

	CHECK_INT(dirty_bitmap_or_at(dst, 128, src, 65, 64), -1);
	CHECK_INT(dirty_bitmap_or_at(dst, 128, src, 1, 129), -1);
	CHECK_INT(dirty_bitmap_or_at(dst, 128, src, 64, UINT64_MAX), -1);
	CHECK_INT(dirty_bitmap_or_at(dst, 128, src, UINT64_MAX, 1), -1);
	CHECK(dst[0] == 0 && dst[1] == 0, "a refused merge wrote bits");
	CHECK_INT(dirty_bitmap_or_at(dst, 128, src, 64, 64), 0);
	CHECK_INT(dirty_bitmap_count(dst, 128), 64);
	CHECK_INT(dirty_bitmap_count(src, 70), 70);
}

/* ---- a VM without KVM ---- */

static struct vm *fake_vm(uint64_t low)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	vm->kvm_fd = vm->vm_fd = vm->memfd = -1;
	vm->ram = aligned_alloc(4096, FAKE_RAM);
	memset(vm->ram, 0, FAKE_RAM);
	vm->ram_size = FAKE_RAM;
	vm->low_ram_size = low;
	vm->phys_bits = 40;
	return vm;
}

static void fake_vm_free(struct vm *vm)
{
	vm_extra_release(vm);
	free(vm->ram);
	free(vm);
}

static uint64_t *new_bitmap(void)
{
	return calloc(dirty_bitmap_words(FAKE_PAGES + VM_EXTRA_PAGES), sizeof(uint64_t));
}

static void test_host_marks(struct unit *u, const void *arg)
{
	(void)arg;
	struct vm *vm = fake_vm(FAKE_RAM);
	struct dirty_log log = { 0 };
	uint64_t *bits = new_bitmap();
	char err[256] = "";

	dirty_log_mark(&log, 3);                            /* never started: a no-op */
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), -1);
	CHECK(strstr(err, "logging is off"), "error: %s", err);
	CHECK_INT(dirty_log_start(&log, vm, err, sizeof(err)), 0);
	CHECK_INT(log.pages, FAKE_PAGES + VM_EXTRA_PAGES);
	CHECK_INT(dirty_log_start(&log, vm, err, sizeof(err)), -1);
	CHECK(strstr(err, "already on"), "error: %s", err);
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
	CHECK_INT(dirty_bitmap_count(bits, log.pages), 0);

	const uint64_t marked[] = { 0, 5, 63, 64, FAKE_PAGES - 1, FAKE_PAGES + 3 };
	for (size_t i = 0; i < sizeof(marked) / sizeof(marked[0]); i++)
		dirty_log_mark(&log, marked[i]);
	dirty_log_mark(&log, 5);
	dirty_log_mark(&log, FAKE_PAGES + VM_EXTRA_PAGES);  /* past the memfd: ignored */
	dirty_log_mark(&log, UINT64_MAX);
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
	CHECK_INT(dirty_bitmap_count(bits, log.pages), 6);
	for (size_t i = 0; i < sizeof(marked) / sizeof(marked[0]); i++)
		CHECK(dirty_bitmap_test(bits, marked[i]), "page %llu marked but not collected",
		      (unsigned long long)marked[i]);
	memset(bits, 0, dirty_bitmap_words(log.pages) * 8);
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
	CHECK_INT(dirty_bitmap_count(bits, log.pages), 0);  /* each mark is collected once */

	dirty_log_stop(&log);
	CHECK(!log.active && !log.host_marks && !log.scratch, "stop left the log on or its bitmaps");
	dirty_log_mark(&log, 9);                            /* stopped: a no-op */
	dirty_log_stop(&log);                               /* twice: harmless */
	CHECK_INT(dirty_log_start(&log, vm, err, sizeof(err)), 0);
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
	CHECK_INT(dirty_bitmap_count(bits, log.pages), 0);
	dirty_log_stop(&log);
	CHECK(!vm->dirty_logging, "the VM's slots still log after stop");
	free(bits);
	fake_vm_free(vm);
}

struct seen_slots { struct vm_slot s[8]; unsigned int n; };

static int note_slot(void *opaque, struct vm *vm, const struct vm_slot *slot)
{
	struct seen_slots *seen = opaque;
	(void)vm;
	if (seen->n < 8)
		seen->s[seen->n++] = *slot;
	return 0;
}

/* Low RAM at 0, high RAM at 4 GiB after it in the memfd, runs of extra pages after RAM. */
static void test_slots(struct unit *u, const void *arg)
{
	(void)arg;
	struct vm *vm = fake_vm(FAKE_RAM / 2);
	struct seen_slots seen = { .n = 0 };

	CHECK_INT(vm_extra_map(vm, 0, 0x200000), 0);        /* host page 0 */
	CHECK_INT(vm_extra_map(vm, 1, 0x200001), 0);        /* host page 1: the same run */
	CHECK_INT(vm_extra_map(vm, 5, 0x300000), 0);        /* host page 2: a run of its own */
	CHECK_INT(vm_for_each_slot(vm, note_slot, &seen), 0);
	CHECK_INT(seen.n, 4);
	CHECK(seen.s[0].slot == 0 && seen.s[0].gpa == 0 && seen.s[0].size == FAKE_RAM / 2 && seen.s[0].memfd_page == 0,
	      "low RAM slot: %u at %#llx", seen.s[0].slot, (unsigned long long)seen.s[0].gpa);
	CHECK(seen.s[1].slot == 1 && seen.s[1].gpa == GUEST_HIGH_RAM_BASE && seen.s[1].size == FAKE_RAM / 2 &&
	      seen.s[1].memfd_page == FAKE_PAGES / 2, "high RAM slot: %u at %#llx memfd page %llu", seen.s[1].slot,
	      (unsigned long long)seen.s[1].gpa, (unsigned long long)seen.s[1].memfd_page);
	CHECK(seen.s[2].gpa == 0x200000ull << 12 && seen.s[2].size == 2 * 4096 && seen.s[2].memfd_page == FAKE_PAGES,
	      "first extra run at %#llx, %llu bytes, memfd page %llu", (unsigned long long)seen.s[2].gpa,
	      (unsigned long long)seen.s[2].size, (unsigned long long)seen.s[2].memfd_page);
	CHECK(seen.s[3].gpa == 0x300000ull << 12 && seen.s[3].size == 4096 && seen.s[3].memfd_page == FAKE_PAGES + 2,
	      "second extra run at %#llx, memfd page %llu", (unsigned long long)seen.s[3].gpa,
	      (unsigned long long)seen.s[3].memfd_page);
	CHECK(seen.s[2].slot >= 2 && seen.s[3].slot >= 2 && seen.s[2].slot != seen.s[3].slot,
	      "extra runs in slots %u and %u", seen.s[2].slot, seen.s[3].slot);
	fake_vm_free(vm);
}

/* KVM drops a deleted slot's log: its pages come back as written at the next collect. */
static void test_extra_slot_gone(struct unit *u, const void *arg)
{
	(void)arg;
	struct vm *vm = fake_vm(FAKE_RAM);
	struct dirty_log log = { 0 };
	uint64_t *bits = new_bitmap();
	char err[256] = "";

	CHECK_INT(vm_extra_map(vm, 0, 0x200000), 0);
	CHECK_INT(vm_extra_map(vm, 1, 0x200001), 0);
	CHECK_INT(vm_extra_map(vm, 2, 0x300000), 0);
	vm_extra_unmap(vm, 2);                              /* before logging: not dirty */
	CHECK_INT(dirty_log_start(&log, vm, err, sizeof(err)), 0);
	CHECK(vm->dirty_logging, "the VM does not log");
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
	CHECK_INT(dirty_bitmap_count(bits, log.pages), 0);
	CHECK_INT(vm_extra_map(vm, 1, 0x400000), 0);        /* the run 0-1 splits: both pages' log is gone */
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
	CHECK_INT(dirty_bitmap_count(bits, log.pages), 2);
	CHECK(dirty_bitmap_test(bits, FAKE_PAGES) && dirty_bitmap_test(bits, FAKE_PAGES + 1),
	      "the moved run's pages are not dirty");
	memset(bits, 0, dirty_bitmap_words(log.pages) * 8);
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
	CHECK_INT(dirty_bitmap_count(bits, log.pages), 0);
	dirty_log_stop(&log);
	vm_extra_unmap(vm, 0);                              /* after logging: not noted */
	CHECK_INT(vm_extra_unlogged_take(vm), 0);
	free(bits);
	fake_vm_free(vm);
}

/* ---- marks from other threads while the log starts and stops ---- */

struct marker { struct dirty_log *log; bool stop; uint64_t seed; };

static void *mark_loop(void *arg)
{
	struct marker *m = arg;

	while (!__atomic_load_n(&m->stop, __ATOMIC_RELAXED))
		dirty_log_mark(m->log, next_rand(&m->seed) % (FAKE_PAGES + VM_EXTRA_PAGES));
	return NULL;
}

static void test_marks_race_stop(struct unit *u, const void *arg)
{
	(void)arg;
	struct vm *vm = fake_vm(FAKE_RAM);
	struct dirty_log log = { 0 };
	uint64_t *bits = new_bitmap();
	struct marker m[2] = { { &log, false, 1 }, { &log, false, 0xabcdef } };
	pthread_t t[2];
	char err[256] = "";
	int failures = 0;

	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, mark_loop, &m[i]);
	for (int round = 0; round < 300; round++) {
		if (dirty_log_start(&log, vm, err, sizeof(err))) {
			failures++;
			continue;
		}
		dirty_log_mark(&log, 77);
		memset(bits, 0, dirty_bitmap_words(log.pages) * 8);
		if (dirty_log_collect(&log, bits, err, sizeof(err)) || !dirty_bitmap_test(bits, 77))
			failures++;
		dirty_log_stop(&log);
	}
	for (int i = 0; i < 2; i++) {
		__atomic_store_n(&m[i].stop, true, __ATOMIC_RELAXED);
		pthread_join(t[i], NULL);
	}
	CHECK_INT(failures, 0);
	CHECK_INT(vm->dirty_markers, 0);
	free(bits);
	fake_vm_free(vm);
}

/* ---- on KVM ---- */

#define KVM_VM_RAM (2u << 20)

/* Logging on a real VM: on and off twice, nothing dirty when nothing ran, host marks collected. */
static void test_kvm_idle(struct unit *u, const void *arg)
{
	struct vm *vm = (struct vm *)arg;
	struct dirty_log log = { 0 };
	uint64_t *bits = calloc(dirty_bitmap_words(vm_memfd_pages(vm)), sizeof(uint64_t));
	char err[256] = "";

	for (int pass = 0; pass < 2; pass++) {
		CHECK_INT(dirty_log_start(&log, vm, err, sizeof(err)), 0);
		CHECK(!err[0], "start: %s", err);
		memset(bits, 0, dirty_bitmap_words(vm_memfd_pages(vm)) * 8);
		memset(vm->ram + 0x3000, 0xaa, 4096);           /* the host's write: KVM never sees it */
		CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
		CHECK(!err[0], "collect: %s", err);
		CHECK_INT(dirty_bitmap_count(bits, log.pages), 0);
		dirty_log_mark(&log, 3);
		CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
		CHECK_INT(dirty_bitmap_count(bits, log.pages), 1);
		CHECK(dirty_bitmap_test(bits, 3), "the marked page is not collected");
		dirty_log_stop(&log);
		CHECK(!vm->dirty_logging, "the slots still log after stop");
	}
	free(bits);
}

/* A real-mode guest writes one byte to 0x5000 and exits through a port: that page is dirty. */
static void test_kvm_guest_write(struct unit *u, const void *arg)
{
	struct vm *vm = (struct vm *)arg;
	struct dirty_log log = { 0 };
	uint64_t *bits = calloc(dirty_bitmap_words(vm_memfd_pages(vm)), sizeof(uint64_t));
	/* mov byte [0x5000], 1; out 0x10, al; jmp $ */
	static const uint8_t code[] = { 0xc6, 0x06, 0x00, 0x50, 0x01, 0xe6, 0x10, 0xeb, 0xfe };
	char err[256] = "";
	struct kvm_sregs sregs;
	struct kvm_run *run = MAP_FAILED;

	memcpy(vm->ram + 0x1000, code, sizeof(code));
	int fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0ul);
	if (fd >= 0)
		run = mmap(NULL, (size_t)vm->vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	CHECK(fd >= 0 && run != MAP_FAILED, "KVM_CREATE_VCPU or its run area failed");
	if (fd < 0 || run == MAP_FAILED)
		goto out;
	CHECK_INT(ioctl(fd, KVM_GET_SREGS, &sregs), 0);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	CHECK_INT(ioctl(fd, KVM_SET_SREGS, &sregs), 0);
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	CHECK_INT(ioctl(fd, KVM_SET_REGS, &regs), 0);
	CHECK_INT(dirty_log_start(&log, vm, err, sizeof(err)), 0);
	int r = ioctl(fd, KVM_RUN, 0);
	CHECK(r == 0 && run->exit_reason == KVM_EXIT_IO && run->io.port == 0x10,
	      "the guest did not reach its out (KVM_RUN %d, exit %u)", r, run->exit_reason);
	CHECK(vm->ram[0x5000] == 1, "the guest's byte is not in RAM");
	CHECK_INT(dirty_log_collect(&log, bits, err, sizeof(err)), 0);
	CHECK(!err[0], "collect: %s", err);
	CHECK(dirty_bitmap_test(bits, 5), "the page the guest wrote is not dirty");
	CHECK_INT(dirty_bitmap_count(bits, log.pages), 1);
	dirty_log_stop(&log);
out:
	if (run != MAP_FAILED)
		munmap(run, (size_t)vm->vcpu_mmap_size);
	if (fd >= 0)
		close(fd);
	free(bits);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	struct vm vm;
	char err[256];

	unit_case(&u, "bitmap-or-at", test_or_at, NULL);
	unit_case(&u, "bitmap-or-at-refuses", test_or_at_refuses, NULL);
	unit_case(&u, "host-marks", test_host_marks, NULL);
	unit_case(&u, "slots-in-memfd-order", test_slots, NULL);
	unit_case(&u, "extra-slot-gone-while-logging", test_extra_slot_gone, NULL);
	unit_case(&u, "marks-race-stop", test_marks_race_stop, NULL);
	if (vm_create(&vm, "/dev/kvm", KVM_VM_RAM, KVM_VM_RAM, err, sizeof(err)) == 0) {
		unit_case(&u, "kvm-logging-idle", test_kvm_idle, &vm);
		unit_case(&u, "kvm-guest-write", test_kvm_guest_write, &vm);
		vm_destroy(&vm);
	} else {
		printf("skip - kvm-logging-idle: no usable /dev/kvm (%s)\n", err);
		printf("skip - kvm-guest-write: no usable /dev/kvm (%s)\n", err);
	}
	return unit_finish(&u);
}
