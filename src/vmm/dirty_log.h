/* Which guest pages were written since the last look: KVM's dirty page log over the VM's memory
 * slots (KVM_MEM_LOG_DIRTY_PAGES and KVM_GET_DIRTY_LOG), in memfd page order, for live migration's
 * pre-copy rounds (docs/migration.md).  Pages the VMM itself writes (backends filling rings and
 * granted buffers, the console ring, shared_info, time) go around KVM, so they are marked here too
 * (dirty_log_mark) by the few paths that write guest memory from the host.
 *
 * Single user: the migration thread starts, collects and stops; dirty_log_mark may run on any
 * thread (an atomic bit set). */
#ifndef XENITH_DIRTY_LOG_H
#define XENITH_DIRTY_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

struct dirty_log {
	struct vm *vm;
	bool active;
	uint64_t pages;            /* memfd pages covered: RAM and the extra pages */
	uint64_t *host_marks;      /* pages the VMM wrote (dirty_log_mark), one bit each */
	uint64_t *scratch;         /* KVM_GET_DIRTY_LOG's bitmap for one slot */
	size_t scratch_bytes;
};

/* Turns logging on for every memory slot of the VM (re-registering each with the flag).  0, or -1
 * with err (a host without dirty logging says so). */
int dirty_log_start(struct dirty_log *log, struct vm *vm, char *err, size_t errlen);
/* ORs the pages written since the last collect (or start) into `bitmap` (log->pages bits, memfd
 * order) and resets the log.  0, or -1 with err. */
int dirty_log_collect(struct dirty_log *log, uint64_t *bitmap, char *err, size_t errlen);
/* Turns logging off again and frees the log; the VM goes on as before. */
void dirty_log_stop(struct dirty_log *log);
/* The host wrote guest page `memfd_page` (any thread; a no-op while logging is off). */
void dirty_log_mark(struct dirty_log *log, uint64_t memfd_page);

#endif
