/* KVM's dirty page log in memfd order (dirty_log.h).
 *
 * Three sources make one bitmap at each collect:
 *   - KVM's log of each memory slot (KVM_GET_DIRTY_LOG, which also resets and write-protects it),
 *     shifted from the slot's own page numbers to the memfd page it starts at (vm_for_each_slot
 *     walks the slots with the slot table locked, so no extra-page slot moves meanwhile);
 *   - extra pages whose slot went away while logging: KVM dropped that slot's log with it, so vm.c
 *     notes them (vm_extra_unlogged_take) and they count as written;
 *   - host marks: pages the VMM wrote through its own mapping, which KVM never sees.
 *
 * Host marks may come from any thread at any time, also while the migration thread stops the log
 * and frees the marks.  A marker announces itself in vm->dirty_markers before it looks at
 * `active`, and stop clears `active` before it waits for dirty_markers to drain: with both steps
 * sequentially consistent, either stop sees the marker and waits, or the marker sees the log off
 * and touches nothing.  A marker holds the count for a handful of instructions.
 *
 * A zeroed struct dirty_log is off; dirty_log_stop leaves it so again (its vm stays, for late
 * markers to find the count in).
 *
 * A VM without KVM (a test's fake VM, vm_fd -1) has no KVM log: collect gives the host marks and
 * the extra-page notes alone. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/kvm.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include "lib/error.h"
#include "vmm/dirty_bitmap.h"
#include "vmm/dirty_log.h"
#include "vmm/vm.h"

#define PAGE 4096u

static void free_bitmaps(struct dirty_log *log)
{
	free(log->host_marks);
	free(log->scratch);
	log->host_marks = log->scratch = NULL;
	log->scratch_bytes = 0;
	log->pages = 0;
}

/* Waits out the dirty_log_mark calls that may still look at the log (see the top). */
static void drain_markers(struct vm *vm)
{
	while (__atomic_load_n(&vm->dirty_markers, __ATOMIC_SEQ_CST))
		sched_yield();
}

int dirty_log_start(struct dirty_log *log, struct vm *vm, char *err, size_t errlen)
{
	if (__atomic_load_n(&log->active, __ATOMIC_SEQ_CST)) {
		ERR_SET(err, errlen, "dirty page logging is already on");
		return -1;
	}
	uint64_t pages = vm_memfd_pages(vm);
	/* The largest slot's log: low or high RAM, or every extra page in one run. */
	uint64_t high = vm->ram_size - vm->low_ram_size, biggest = vm->low_ram_size > high ? vm->low_ram_size : high;
	uint64_t slot_pages = biggest / PAGE > VM_EXTRA_PAGES ? biggest / PAGE : VM_EXTRA_PAGES;

	/* A zeroed or stopped log holds no bitmaps. */
	log->host_marks = calloc(dirty_bitmap_words(pages), sizeof(uint64_t));
	log->scratch_bytes = dirty_bitmap_words(slot_pages) * sizeof(uint64_t);
	log->scratch = calloc(1, log->scratch_bytes);
	if (!log->host_marks || !log->scratch) {
		free_bitmaps(log);
		ERR_SET(err, errlen, "no memory for the dirty page bitmaps of %llu pages", (unsigned long long)pages);
		return -1;
	}
	log->pages = pages;
	__atomic_store_n(&log->vm, vm, __ATOMIC_SEQ_CST);
	/* Marks count from here, before KVM's log starts: a page written in between is sent twice at
	 * worst, never missed. */
	__atomic_store_n(&log->active, true, __ATOMIC_SEQ_CST);
	if (vm_set_dirty_logging(vm, true, err, errlen)) {
		__atomic_store_n(&log->active, false, __ATOMIC_SEQ_CST);
		drain_markers(vm);
		free_bitmaps(log);
		return -1;
	}
	return 0;
}

struct collect_ctx {
	struct dirty_log *log;
	uint64_t *bitmap;
	char *err;
	size_t errlen;
};

static int collect_slot(void *opaque, struct vm *vm, const struct vm_slot *slot)
{
	struct collect_ctx *c = opaque;
	struct dirty_log *log = c->log;
	uint64_t pages = slot->size / PAGE;

	if (vm->vm_fd < 0)
		return 0;
	if (dirty_bitmap_words(pages) * sizeof(uint64_t) > log->scratch_bytes) {
		ERR_SET(c->err, c->errlen, "memory slot %u of %llu pages is larger than the dirty log expected",
			slot->slot, (unsigned long long)pages);
		return -1;
	}
	struct kvm_dirty_log d = { .slot = slot->slot, .dirty_bitmap = log->scratch };
	if (ioctl(vm->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0) {
		ERR_SET(c->err, c->errlen, "KVM_GET_DIRTY_LOG for memory slot %u: %s", slot->slot, strerror(errno));
		return -1;
	}
	if (dirty_bitmap_or_at(c->bitmap, log->pages, log->scratch, pages, slot->memfd_page)) {
		ERR_SET(c->err, c->errlen, "memory slot %u (memfd pages %llu+%llu) lies beyond the %llu pages logged",
			slot->slot, (unsigned long long)slot->memfd_page, (unsigned long long)pages,
			(unsigned long long)log->pages);
		return -1;
	}
	return 0;
}

int dirty_log_collect(struct dirty_log *log, uint64_t *bitmap, char *err, size_t errlen)
{
	if (!__atomic_load_n(&log->active, __ATOMIC_SEQ_CST)) {
		ERR_SET(err, errlen, "dirty page logging is off: nothing to collect");
		return -1;
	}
	struct collect_ctx c = { .log = log, .bitmap = bitmap, .err = err, .errlen = errlen };
	if (vm_for_each_slot(log->vm, collect_slot, &c))
		return -1;
	uint64_t unlogged = vm_extra_unlogged_take(log->vm), first_extra = log->vm->ram_size / PAGE;
	for (unsigned int i = 0; i < VM_EXTRA_PAGES; i++)
		if (unlogged >> i & 1 && first_extra + i < log->pages)
			dirty_bitmap_set(bitmap, first_extra + i);
	uint64_t words = dirty_bitmap_words(log->pages);
	for (uint64_t w = 0; w < words; w++)
		if (__atomic_load_n(&log->host_marks[w], __ATOMIC_RELAXED))
			bitmap[w] |= __atomic_exchange_n(&log->host_marks[w], 0, __ATOMIC_SEQ_CST);
	return 0;
}

void dirty_log_stop(struct dirty_log *log)
{
	struct vm *vm = __atomic_load_n(&log->vm, __ATOMIC_SEQ_CST);
	char err[256];

	if (!vm)
		return;                  /* never started */
	bool was = __atomic_exchange_n(&log->active, false, __ATOMIC_SEQ_CST);
	drain_markers(vm);
	if (was && vm_set_dirty_logging(vm, false, err, sizeof(err)))
		LOG("dirty page logging stays on: %s", err);
	free_bitmaps(log);
}

void dirty_log_mark(struct dirty_log *log, uint64_t memfd_page)
{
	struct vm *vm = __atomic_load_n(&log->vm, __ATOMIC_SEQ_CST);

	if (!vm)
		return;
	__atomic_fetch_add(&vm->dirty_markers, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&log->active, __ATOMIC_SEQ_CST) && memfd_page < log->pages)
		__atomic_fetch_or(&log->host_marks[memfd_page / 64], 1ull << (memfd_page % 64), __ATOMIC_RELAXED);
	__atomic_fetch_sub(&vm->dirty_markers, 1, __ATOMIC_SEQ_CST);
}
