/* Saving a running domain into a stream: `xl save` and the sending half of `xl migrate`
 * (docs/migration.md).
 *
 * The work runs on a thread of its own, so the main loop keeps serving the domain (its backends,
 * timers, console and control socket) while RAM is copied.  In order:
 *   1. DOMAIN: the layout the target must build.
 *   2. live only: turn on KVM's dirty log, send every page (round 0), then again and again the
 *      pages written since the previous round, until few enough are left (or the rounds stop
 *      shrinking, or MAX_ROUNDS): what is left is what the downtime costs.
 *   3. Ask the guest to suspend (control/shutdown = "suspend", written by the main loop, which
 *      owns the xenstore link) and wait for its SCHEDOP_shutdown(SHUTDOWN_suspend).  The main
 *      loop captures the backends' and devices' state right then, on its own thread.
 *   4. With the vCPUs held: the last dirty pages (live) or all of them, plus the pages the host
 *      writes behind KVM's back (the special pages, shared_info, vcpu_info), each vCPU's state,
 *      the Xen state, the devices, [a digest of RAM], END.
 *   5. The main loop answers the request.  The domain stays suspended: `destroy` ends it (the
 *      copy lives on elsewhere) and `resume` lets it run on with the suspend cancelled.
 * Any failure before the answer resumes the guest if it had suspended: a save never loses the
 * domain.  Pages are read straight from the guest-RAM mapping; a page the guest changes while it
 * is being sent is dirty again and goes again in the next round. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "backends/pv_backend.h"
#include "backends/xenstore_link.h"
#include "hw/device.h"
#include "lib/error.h"
#include "lib/xs_client.h"
#include "migrate/stream.h"
#include "vmm/dirty_bitmap.h"
#include "vmm/dirty_log.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"
#include "vmm/save.h"
#include "vmm/vcpu_state.h"
#include "xen/xen_record.h"

#define MAX_ROUNDS 30
#define STOP_COPY_PAGES 256          /* 1 MiB left dirty: sent while the guest is suspended */
#define SUSPEND_TIMEOUT_MS 10000     /* for the guest to answer control/shutdown = suspend */
#define HOLD_TIMEOUT_MS 5000         /* for its vCPU threads to stop once it has */
#define DEVICES_MAX (64u << 10)

enum save_phase { PHASE_COPYING, PHASE_WANT_SUSPEND, PHASE_DONE };

struct save_job {
	struct domain *dom;
	void *conn;                      /* the request's connection, answered at the end */
	int stream_fd, progress_fd;
	bool live, debug;
	pthread_t thread;
	bool thread_started;
	int wake_fd;                     /* eventfd: the thread has news for the main loop */
	uint64_t suspend_timer;

	pthread_mutex_t lock;            /* guards what follows */
	pthread_cond_t cond;
	enum save_phase phase;
	bool suspended;                  /* the guest suspended; the state below is captured */
	bool give_up;                    /* the main loop gave up on the suspend, or the domain goes */
	char give_up_why[256];
	int64_t suspended_ns;
	uint8_t *devices;                /* devices_save's stream */
	size_t devices_len;
	uint8_t *pv;                     /* pv_backends_save_all's records */
	size_t pv_len;
	char capture_err[256];

	/* The thread's own. */
	struct mig_writer w;
	struct dirty_log log;
	bool logging;
	uint64_t *dirty;                 /* pages to send, memfd order */
	uint8_t *batch;                  /* a PAGES body under construction */
	uint64_t pages_sent, ram_pages;
	unsigned int rounds;
	int64_t downtime_ns;
	int rc;
	char err[512];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void progress(struct save_job *job, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void progress(struct save_job *job, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	LOG("domain %d: %s", job->dom->domid, line);
	if (job->progress_fd < 0 || n <= 0)
		return;
	n = n < (int)sizeof(line) - 1 ? n : (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* Best effort: progress never holds the save up, nor ends it. */
	if (write(job->progress_fd, line, (size_t)n) < 0) {
		close(job->progress_fd);
		job->progress_fd = -1;
	}
}

static void post_phase(struct save_job *job, enum save_phase phase)
{
	uint64_t one = 1;

	pthread_mutex_lock(&job->lock);
	job->phase = phase;
	pthread_mutex_unlock(&job->lock);
	if (write(job->wake_fd, &one, sizeof(one)) < 0)
		LOG("save: waking the main loop: %s", strerror(errno));
}

static bool giving_up(struct save_job *job)
{
	pthread_mutex_lock(&job->lock);
	bool g = job->give_up;
	if (g)
		ERR_SET(job->err, sizeof(job->err), "%s", job->give_up_why);
	pthread_mutex_unlock(&job->lock);
	return g;
}

/* ---- Pages ---- */

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (unsigned int i = 0; i < MIG_PAGE_SIZE / 8; i++)
		if (q[i])
			return false;
	return true;
}

struct batch {
	uint32_t count;
	unsigned int data;               /* pages of contents in the batch */
};

static uint64_t *batch_entries(struct save_job *job) { return (uint64_t *)(job->batch + 8); }
static uint8_t *batch_data(struct save_job *job)
{
	return job->batch + 8 + 8 * MIG_PAGES_PER_BATCH;
}

static int flush_batch(struct save_job *job, struct batch *b)
{
	if (!b->count)
		return 0;
	uint32_t head[2] = { b->count, 0 };
	struct mig_piece pieces[3] = {
		{ head, sizeof(head) },
		{ batch_entries(job), 8ull * b->count },
		{ batch_data(job), (size_t)MIG_PAGE_SIZE * b->data },
	};
	int r = mig_write_record_pieces(&job->w, MIG_REC_PAGES, pieces, 3, job->err, sizeof(job->err));
	job->pages_sent += b->count;
	*b = (struct batch){ 0 };
	return r;
}

/* Memfd pages that are holes (never written, or given back) read as zeros without being read,
 * which would give each one host memory. */
static bool in_hole(int memfd, uint64_t index, uint64_t *hole_end)
{
	off_t at = (off_t)(index * MIG_PAGE_SIZE);
	off_t data = lseek(memfd, at, SEEK_DATA);

	if (data < 0) {
		if (errno != ENXIO)
			return false;               /* no SEEK_DATA: read it */
		*hole_end = UINT64_MAX;         /* holes to the end */
		return true;
	}
	if (data == at)
		return false;
	*hole_end = (uint64_t)data / MIG_PAGE_SIZE;
	return true;
}

static int add_page(struct save_job *job, struct batch *b, uint64_t index, bool hole)
{
	struct domain *dom = job->dom;
	enum mig_page_kind kind = MIG_PAGE_DATA;
	const uint8_t *page = dom->vm.ram + index * MIG_PAGE_SIZE;

	if (xen_reservation_page_out(dom, index))
		kind = MIG_PAGE_ABSENT;
	else if (hole || page_is_zero(page))
		kind = MIG_PAGE_ZERO;
	batch_entries(job)[b->count++] = index << MIG_PAGE_KIND_BITS | kind;
	if (kind == MIG_PAGE_DATA)
		memcpy(batch_data(job) + (size_t)MIG_PAGE_SIZE * b->data++, page, MIG_PAGE_SIZE);
	return b->count == MIG_PAGES_PER_BATCH ? flush_batch(job, b) : 0;
}

/* Sends the pages set in `bitmap`, or every RAM page when it is NULL; clears what it sent. */
static int send_pages(struct save_job *job, uint64_t *bitmap, uint64_t *sent)
{
	struct batch b = { 0 };
	uint64_t hole_end = 0, before = job->pages_sent;

	for (uint64_t i = 0; i < job->ram_pages; i++) {
		bool hole = false;
		if (bitmap) {
			if (!bitmap[i / 64]) {
				i |= 63;
				continue;
			}
			if (!(bitmap[i / 64] & (1ull << (i % 64))))
				continue;
			bitmap[i / 64] &= ~(1ull << (i % 64));
		} else if (i >= hole_end) {
			uint64_t end;
			hole = in_hole(job->dom->vm.memfd, i, &end);
			hole_end = hole ? end : i + 1;
		} else {
			hole = true;
		}
		if (add_page(job, &b, i, hole))
			return -1;
	}
	if (flush_batch(job, &b))
		return -1;
	*sent = job->pages_sent - before;
	return 0;
}

static uint64_t count_bits(const uint64_t *bitmap, uint64_t bits)
{
	uint64_t n = 0;

	for (uint64_t i = 0; i < (bits + 63) / 64; i++)
		n += (uint64_t)__builtin_popcountll(bitmap[i]);
	return n;
}

static void mark_gpa(struct save_job *job, const void *hva)
{
	const uint8_t *ram = job->dom->vm.ram;

	if (!hva || (const uint8_t *)hva < ram)
		return;
	uint64_t index = (uint64_t)((const uint8_t *)hva - ram) / MIG_PAGE_SIZE;
	if (index < job->ram_pages)
		job->dirty[index / 64] |= 1ull << (index % 64);
}

/* Pages the VMM and xenstored write through their own mappings, which KVM's log never sees:
 * sent again with the last round. */
static void mark_host_written(struct save_job *job)
{
	struct domain *dom = job->dom;

	for (unsigned int p = 0; p < SPECIAL_PAGES; p++)
		mark_gpa(job, vm_ram_gpa_to_hva(&dom->vm, vm_special_page_gpa(&dom->vm, p), MIG_PAGE_SIZE));
	pthread_mutex_lock(&dom->xen.lock);
	if (dom->xen.shared_info_gfn != ~0ull && dom->xen.shared_info_gfn < (1ull << 40))
		mark_gpa(job, vm_ram_gpa_to_hva(&dom->vm, dom->xen.shared_info_gfn << 12, MIG_PAGE_SIZE));
	for (unsigned int v = 0; v < dom->n_vcpus; v++)
		if (dom->xen.vcpu[v].info_registered)
			mark_gpa(job, dom->xen.vcpu[v].info);
	pthread_mutex_unlock(&dom->xen.lock);
}

/* ---- The stream ---- */

static int write_domain_record(struct save_job *job)
{
	struct domain *dom = job->dom;
	struct mig_domain d = {
		.ram_bytes = dom->vm.ram_size, .populated_bytes = vm_populated_bytes(&dom->vm),
		.low_ram_bytes = dom->vm.low_ram_size, .vcpus = domain_vcpus_online(dom),
		.max_vcpus = dom->n_vcpus,
	};

	memcpy(d.uuid, dom->params->uuid, sizeof(d.uuid));
	snprintf(d.name, sizeof(d.name), "%s", dom->params->name);
	return mig_write_record(&job->w, MIG_REC_DOMAIN, &d, sizeof(d), job->err, sizeof(job->err));
}

static int write_round(struct save_job *job, uint32_t round, uint64_t sent, uint64_t dirty, int64_t t0)
{
	struct mig_round r = { .round = round, .pages_sent = sent, .pages_dirty = dirty,
			       .elapsed_us = (uint64_t)(now_ns() - t0) / 1000 };
	double secs = (double)(now_ns() - t0) / 1e9;

	progress(job, "migration: round %u: %llu pages sent, %llu dirty, %.0f MiB/s", round,
		 (unsigned long long)sent, (unsigned long long)dirty,
		 secs > 0 ? (double)sent * MIG_PAGE_SIZE / secs / 1048576.0 : 0.0);
	return mig_write_record(&job->w, MIG_REC_ROUND, &r, sizeof(r), job->err, sizeof(job->err));
}

/* Round 0 and the rounds after it, while the guest runs.  Leaves in job->dirty what is still to
 * be sent. */
static int precopy(struct save_job *job)
{
	struct domain *dom = job->dom;
	uint64_t sent, prev = UINT64_MAX;

	if (dirty_log_start(&job->log, &dom->vm, job->err, sizeof(job->err)))
		return -1;
	job->logging = true;
	pthread_mutex_lock(&dom->xen.lock);
	dom->dirty_log = &job->log;
	pthread_mutex_unlock(&dom->xen.lock);
	int64_t t0 = now_ns();
	if (send_pages(job, NULL, &sent) || write_round(job, 0, sent, 0, t0))
		return -1;
	for (unsigned int round = 1; round < MAX_ROUNDS; round++) {
		if (giving_up(job))
			return -1;
		t0 = now_ns();
		if (dirty_log_collect(&job->log, job->dirty, job->err, sizeof(job->err)))
			return -1;
		uint64_t dirty = count_bits(job->dirty, job->ram_pages);
		/* Few enough for the downtime, or no longer converging: the rest goes suspended. */
		if (dirty <= STOP_COPY_PAGES || (round >= 4 && dirty >= prev))
			break;
		prev = dirty;
		if (send_pages(job, job->dirty, &sent) || write_round(job, round, sent, dirty, t0))
			return -1;
		job->rounds = round;
		pthread_mutex_lock(&job->lock);
		bool suspended = job->suspended;
		pthread_mutex_unlock(&job->lock);
		if (suspended)
			break;
	}
	return 0;
}

static int write_vcpus(struct save_job *job)
{
	struct domain *dom = job->dom;
	struct vcpu_state *s = malloc(sizeof(*s));
	uint8_t *buf = malloc(vcpu_state_encoded_max());
	int r = -1;

	if (!s || !buf) {
		ERR_SET(job->err, sizeof(job->err), "out of memory for the vCPU state");
		goto out;
	}
	for (unsigned int i = 0; i < dom->n_vcpus; i++) {
		char why[256];
		if (vcpu_state_capture(&dom->vcpus[i], s, why, sizeof(why))) {
			ERR_SET(job->err, sizeof(job->err), "saving vCPU %u: %s", i, why);
			goto out;
		}
		pthread_mutex_lock(&dom->lock);
		s->online = vcpu_power_is_up_locked(&dom->vcpus[i]);
		pthread_mutex_unlock(&dom->lock);
		size_t len = vcpu_state_encode(s, buf);
		if (mig_write_record(&job->w, MIG_REC_VCPU, buf, len, job->err, sizeof(job->err)))
			goto out;
	}
	r = 0;
out:
	free(s);
	free(buf);
	return r;
}

static int write_pv_records(struct save_job *job)
{
	size_t at = 0;

	while (at < job->pv_len) {
		const uint8_t *rec = job->pv + at;
		size_t len = pv_record_length(rec, job->pv_len - at);
		if (!len) {
			ERR_SET(job->err, sizeof(job->err), "the devices' saved records end mid-header");
			return -1;
		}
		if (len > job->pv_len - at) {
			ERR_SET(job->err, sizeof(job->err), "the devices' saved records end mid-record");
			return -1;
		}
		if (mig_write_record(&job->w, MIG_REC_PV_DEVICE, rec, len, job->err, sizeof(job->err)))
			return -1;
		at += len;
	}
	return 0;
}

/* Waits for the guest's suspend (or the main loop giving up on it). */
static int await_suspend(struct save_job *job)
{
	post_phase(job, PHASE_WANT_SUSPEND);
	pthread_mutex_lock(&job->lock);
	while (!job->suspended && !job->give_up)
		pthread_cond_wait(&job->cond, &job->lock);
	bool ok = job->suspended && !job->capture_err[0];
	if (!ok)
		ERR_SET(job->err, sizeof(job->err), "%s", job->give_up ? job->give_up_why : job->capture_err);
	pthread_mutex_unlock(&job->lock);
	return ok ? 0 : -1;
}

static int save_stream(struct save_job *job)
{
	struct domain *dom = job->dom;
	uint64_t sent;

	job->ram_pages = dom->vm.ram_size / MIG_PAGE_SIZE;
	/* The log covers the memfd's every page (RAM and the extra pages past it); only RAM is sent:
	 * the extra pages are grant frames, which a resumed guest maps and fills again. */
	job->dirty = calloc(dirty_bitmap_words(vm_memfd_pages(&dom->vm)), sizeof(uint64_t));
	job->batch = malloc(8 + 8 * MIG_PAGES_PER_BATCH + (size_t)MIG_PAGE_SIZE * MIG_PAGES_PER_BATCH);
	if (!job->dirty || !job->batch) {
		ERR_SET(job->err, sizeof(job->err), "out of memory for the save's page maps");
		return -1;
	}
	if (write_domain_record(job) || (job->live && precopy(job)) || await_suspend(job))
		return -1;
	if (domain_pause_sync(dom, HOLD_TIMEOUT_MS)) {
		ERR_SET(job->err, sizeof(job->err), "the domain's vCPUs did not stop within %d ms",
			HOLD_TIMEOUT_MS);
		return -1;
	}
	if (job->live) {
		if (dirty_log_collect(&job->log, job->dirty, job->err, sizeof(job->err)))
			return -1;
		mark_host_written(job);
		if (send_pages(job, job->dirty, &sent))
			return -1;
		progress(job, "migration: suspended: last %llu pages and the state follow",
			 (unsigned long long)sent);
	} else if (send_pages(job, NULL, &sent)) {
		return -1;
	}
	struct xen_record xr;
	xen_record_save(dom, &xr);
	if (write_vcpus(job) ||
	    mig_write_record(&job->w, MIG_REC_XEN, &xr, sizeof(xr), job->err, sizeof(job->err)) ||
	    mig_write_record(&job->w, MIG_REC_DEVICES, job->devices, job->devices_len, job->err,
			     sizeof(job->err)) ||
	    write_pv_records(job))
		return -1;
	if (job->debug) {
		struct mig_digest d = { .pages = job->ram_pages,
					.digest = mig_digest_ram(dom->vm.ram, job->ram_pages) };
		progress(job, "migration: RAM digest %016llx over %llu pages", (unsigned long long)d.digest,
			 (unsigned long long)d.pages);
		if (mig_write_record(&job->w, MIG_REC_DIGEST, &d, sizeof(d), job->err, sizeof(job->err)))
			return -1;
	}
	if (mig_write_record(&job->w, MIG_REC_END, NULL, 0, job->err, sizeof(job->err)))
		return -1;
	job->downtime_ns = now_ns() - job->suspended_ns;
	return 0;
}

static void *save_thread(void *opaque)
{
	struct save_job *job = opaque;

	job->rc = save_stream(job);
	post_phase(job, PHASE_DONE);
	return NULL;
}

/* ---- The main loop's half ---- */

static void stop_logging(struct save_job *job)
{
	struct domain *dom = job->dom;

	if (!job->logging)
		return;
	/* gnttab_unmap marks under xen.lock: once this is NULL nobody touches the log. */
	pthread_mutex_lock(&dom->xen.lock);
	dom->dirty_log = NULL;
	pthread_mutex_unlock(&dom->xen.lock);
	dirty_log_stop(&job->log);
	job->logging = false;
}

static void job_free(struct save_job *job)
{
	if (job->thread_started)
		pthread_join(job->thread, NULL);
	stop_logging(job);
	if (job->suspend_timer)
		event_loop_timer_cancel(job->dom->loop, job->suspend_timer);
	if (job->wake_fd >= 0) {
		event_loop_remove(job->dom->loop, job->wake_fd);
		close(job->wake_fd);
	}
	if (job->stream_fd >= 0)
		close(job->stream_fd);
	if (job->progress_fd >= 0)
		close(job->progress_fd);
	free(job->dirty);
	free(job->batch);
	free(job->devices);
	free(job->pv);
	pthread_mutex_destroy(&job->lock);
	pthread_cond_destroy(&job->cond);
	if (job->dom->save_job == job)
		job->dom->save_job = NULL;
	free(job);
}

static bool domain_suspended(struct domain *dom)
{
	pthread_mutex_lock(&dom->lock);
	bool s = dom->state == DOMAIN_SHUTDOWN && dom->shutdown_reason == SHUTDOWN_suspend;
	pthread_mutex_unlock(&dom->lock);
	return s;
}

static void finish(struct save_job *job)
{
	struct domain *dom = job->dom;
	char msg[800];

	if (job->thread_started) {
		pthread_join(job->thread, NULL);
		job->thread_started = false;
	}
	stop_logging(job);
	if (job->rc == 0) {
		snprintf(msg, sizeof(msg), "rounds=%u pages=%llu bytes=%llu downtime_ms=%.3f", job->rounds,
			 (unsigned long long)job->pages_sent, (unsigned long long)job->w.offset,
			 (double)job->downtime_ns / 1e6);
		LOG("domain %d saved: %s", dom->domid, msg);
		control_reply_later(job->conn, 0, msg);
	} else {
		char why[160] = "";
		LOG("domain %d: save failed: %s", dom->domid, job->err);
		if (domain_suspended(dom) && domain_resume_suspended(dom, why, sizeof(why)))
			LOG("domain %d: resuming after the failed save: %s", dom->domid, why);
		snprintf(msg, sizeof(msg), "%.512s%s%.160s", job->err,
			 why[0] ? "; and resuming the domain failed: " : "", why);
		control_reply_later(job->conn, -EIO, msg);
	}
	job_free(job);
}

static void give_up(struct save_job *job, const char *why)
{
	pthread_mutex_lock(&job->lock);
	if (!job->give_up) {
		job->give_up = true;
		snprintf(job->give_up_why, sizeof(job->give_up_why), "%s", why);
	}
	pthread_cond_broadcast(&job->cond);
	pthread_mutex_unlock(&job->lock);
}

static void suspend_timed_out(void *opaque)
{
	struct save_job *job = opaque;
	struct xs_client *xs = xenstore_link_xs(job->dom);
	char path[64], why[160];

	job->suspend_timer = 0;
	/* The request is withdrawn, as libxl does when a guest does not answer. */
	snprintf(path, sizeof(path), "/local/domain/%d/control/shutdown", job->dom->domid);
	if (xs)
		xs_rm(xs, 0, path);
	snprintf(why, sizeof(why), "the guest did not suspend within %d s of control/shutdown = suspend "
		 "(does it handle Xen's suspend?)", SUSPEND_TIMEOUT_MS / 1000);
	give_up(job, why);
}

static void ask_guest_to_suspend(struct save_job *job)
{
	struct domain *dom = job->dom;
	struct xs_client *xs = xenstore_link_xs(dom);
	char path[64], why[200];

	if (domain_suspended(dom)) {              /* it did already, by itself */
		save_on_suspend(dom);
		return;
	}
	snprintf(path, sizeof(path), "/local/domain/%d/control/shutdown", dom->domid);
	int r = xs ? xs_write_str(xs, 0, path, "suspend") : -ENOTCONN;
	if (r) {
		snprintf(why, sizeof(why), "asking the guest to suspend (writing %s): %s", path, strerror(-r));
		give_up(job, why);
		return;
	}
	if (event_loop_timer_add(dom->loop, SUSPEND_TIMEOUT_MS, suspend_timed_out, job, &job->suspend_timer))
		give_up(job, "no timer for the suspend's deadline");
}

static void on_wake(void *opaque, uint32_t events)
{
	struct save_job *job = opaque;
	uint64_t count;

	(void)events;
	if (read(job->wake_fd, &count, sizeof(count)) < 0)
		return;
	pthread_mutex_lock(&job->lock);
	enum save_phase phase = job->phase;
	job->phase = PHASE_COPYING;
	pthread_mutex_unlock(&job->lock);
	if (phase == PHASE_WANT_SUSPEND)
		ask_guest_to_suspend(job);
	else if (phase == PHASE_DONE)
		finish(job);
}

bool save_on_suspend(struct domain *dom)
{
	struct save_job *job = dom->save_job;
	char err[256] = "";

	if (!job)
		return false;
	if (job->suspend_timer) {
		event_loop_timer_cancel(dom->loop, job->suspend_timer);
		job->suspend_timer = 0;
	}
	pthread_mutex_lock(&job->lock);
	bool already = job->suspended;
	pthread_mutex_unlock(&job->lock);
	if (already)
		return true;
	/* The backends and devices are the main loop's: their state is taken here, at once. */
	uint8_t *devices = malloc(DEVICES_MAX), *pv = NULL;
	size_t pv_len = 0;
	long devices_len = devices ? devices_save(dom, devices, DEVICES_MAX, err, sizeof(err)) : -1;
	if (!devices)
		snprintf(err, sizeof(err), "out of memory for the devices' state");
	else if (devices_len >= 0 && pv_backends_save_all(dom, &pv, &pv_len, err, sizeof(err)))
		devices_len = -1;
	pthread_mutex_lock(&job->lock);
	job->suspended = true;
	job->suspended_ns = now_ns();
	job->devices = devices;
	job->devices_len = devices_len > 0 ? (size_t)devices_len : 0;
	job->pv = pv;
	job->pv_len = pv_len;
	if (devices_len < 0)
		snprintf(job->capture_err, sizeof(job->capture_err), "saving the devices: %.200s", err);
	pthread_cond_broadcast(&job->cond);
	pthread_mutex_unlock(&job->lock);
	return true;
}

void save_abort(struct domain *dom)
{
	struct save_job *job = dom->save_job;

	if (!job)
		return;
	give_up(job, "the domain is being destroyed");
	/* A thread blocked writing to a reader that stopped reading must come out. */
	if (job->stream_fd >= 0)
		shutdown(job->stream_fd, SHUT_RDWR);
	if (job->thread_started) {
		pthread_join(job->thread, NULL);
		job->thread_started = false;
	}
	job->rc = -1;
	if (!job->err[0])
		snprintf(job->err, sizeof(job->err), "the domain is being destroyed");
	stop_logging(job);
	control_reply_later(job->conn, -ECANCELED, job->err);
	job_free(job);
}

static bool word_is(const char *w, const char *name) { return w && !strcmp(w, name); }

enum control_outcome save_request(struct control_call *c)
{
	struct domain *dom = c->dom;
	struct save_job *job;
	char *word;
	bool live = false, debug = false;

	while ((word = control_next_word(c, " \n"))) {
		if (word_is(word, "live"))
			live = true;
		else if (word_is(word, "debug"))
			debug = true;
		else {
			snprintf(c->reply, c->len, "error EINVAL save: unknown option '%.64s' (live, debug)", word);
			return CONTROL_REPLY;
		}
	}
	if (c->n_fds < 1) {
		snprintf(c->reply, c->len, "error EINVAL save: the stream's descriptor must come with the "
			 "request (SCM_RIGHTS)");
		return CONTROL_REPLY;
	}
	if (dom->save_job) {
		snprintf(c->reply, c->len, "error EBUSY a save of this domain is under way");
		return CONTROL_REPLY;
	}
	pthread_mutex_lock(&dom->lock);
	/* A guest that suspended by itself is saved as it is. */
	bool running = dom->state == DOMAIN_RUNNING ||
		       (dom->state == DOMAIN_SHUTDOWN && dom->shutdown_reason == SHUTDOWN_suspend);
	pthread_mutex_unlock(&dom->lock);
	if (!running) {
		snprintf(c->reply, c->len, "error EINVAL domain %d is not running: only a running (or "
			 "suspended) domain is saved", dom->domid);
		return CONTROL_REPLY;
	}
	if (!c->conn || !(job = calloc(1, sizeof(*job)))) {
		snprintf(c->reply, c->len, "error ENOMEM out of memory for the save");
		return CONTROL_REPLY;
	}
	*job = (struct save_job){ .dom = dom, .conn = c->conn, .stream_fd = c->fds[0],
				  .progress_fd = c->n_fds > 1 ? c->fds[1] : -1, .live = live, .debug = debug,
				  .wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) };
	c->fds[0] = -1;
	if (c->n_fds > 1)
		c->fds[1] = -1;
	pthread_mutex_init(&job->lock, NULL);
	pthread_cond_init(&job->cond, NULL);
	mig_writer_init(&job->w, job->stream_fd);
	/* xl wrote the header and the config: the offset goes on from where the descriptor is. */
	off_t at = lseek(job->stream_fd, 0, SEEK_CUR);
	job->w.offset = at > 0 ? (uint64_t)at : 0;
	int r = job->wake_fd < 0 ? -errno : event_loop_add(dom->loop, job->wake_fd, EPOLLIN, on_wake, job);
	if (!r)
		r = -pthread_create(&job->thread, NULL, save_thread, job);
	if (r) {
		job->conn = NULL;
		job_free(job);
		snprintf(c->reply, c->len, "error EIO starting the save: %s", strerror(-r));
		return CONTROL_REPLY;
	}
	job->thread_started = true;
	dom->save_job = job;
	LOG("domain %d: %ssave started", dom->domid, live ? "live " : "");
	return CONTROL_DEFERRED;
}

enum control_outcome resume_request(struct control_call *c)
{
	char why[200];

	if (c->dom->save_job) {
		snprintf(c->reply, c->len, "error EBUSY a save of this domain is under way");
		return CONTROL_REPLY;
	}
	if (domain_resume_suspended(c->dom, why, sizeof(why))) {
		snprintf(c->reply, c->len, "error EINVAL %s", why);
		return CONTROL_REPLY;
	}
	LOG("domain %d resumed: its suspend was cancelled", c->dom->domid);
	snprintf(c->reply, c->len, "ok");
	return CONTROL_REPLY;
}
