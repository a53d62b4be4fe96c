/* Building, running and ending a domain.  The main thread owns the lifecycle; vCPU threads only
 * report a shutdown (domain_shutdown) and leave their loops when told (stop_vcpus). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include "hw/device.h"
#include "hw/hvm_config.h"
#include "lib/error.h"
#include "vmm/balloon_watch.h"
#include "vmm/domain.h"
#include "vmm/hvm_firmware.h"
#include "vmm/hvmloader.h"
#include "vmm/pvh_loader.h"
#include "vmm/sched.h"
#include "vmm/vcpu_state.h"

static void domain_reset_state(struct domain *dom)
{
	dom->pio = (struct io_bus){ .name = "port" };
	dom->mmio = (struct io_bus){ .name = "mmio" };
	dom->msrs = (struct msr_table){ 0 };
	dom->devices = NULL;
	dom->pv_devices = NULL;
	dom->balloon = NULL;
	dom->n_vcpus = 0;
	dom->paused = false;
	dom->stop_vcpus = false;
	dom->state = DOMAIN_RUNNING;
	dom->shutdown_reason = -1;
	dom->vcpu_watch = (struct vcpu_watch){ .timer_fd = -1 };
	dom->irq = (struct irq_router){ 0 };
	dom->pci = NULL;
}

int domain_build(struct domain *dom, const struct domain_params *params, struct console *console,
		 struct event_loop *loop, int notify_fd, char *err, size_t errlen)
{
	uint64_t ram = params->memory_mb << 20, host = host_memory_bytes();
	uint64_t maxmem = domain_maxmem_mb(params) << 20;
	struct pvh_boot boot = { 0 };

	dom->params = params;
	dom->console = console;
	dom->loop = loop;
	dom->notify_fd = notify_fd;
	domain_reset_state(dom);
	if (params->vcpus < 1 || params->vcpus > DOMAIN_MAX_VCPUS) {
		ERR_SET(err, errlen, "vcpus=%u: a domain has 1 to %d vCPUs", params->vcpus, DOMAIN_MAX_VCPUS);
		return -1;
	}
	if (params->max_vcpus && (params->max_vcpus < params->vcpus || params->max_vcpus > DOMAIN_MAX_VCPUS)) {
		ERR_SET(err, errlen, "max_vcpus=%u: must be from vcpus (%u) to %d", params->max_vcpus, params->vcpus,
			DOMAIN_MAX_VCPUS);
		return -1;
	}
	if (!params->memory_mb || (host && ram > host)) {
		ERR_SET(err, errlen, "memory=%llu MiB: must be more than 0 and at most the host's %llu MiB",
			(unsigned long long)params->memory_mb, (unsigned long long)(host >> 20));
		return -1;
	}
	if (domain_maxmem_mb(params) > DOMAIN_MAX_MEMORY_MB) {
		ERR_SET(err, errlen, "maxmem=%llu MiB: at most %llu MiB", (unsigned long long)params->maxmem_mb,
			(unsigned long long)DOMAIN_MAX_MEMORY_MB);
		return -1;
	}
	/* The memfd is sized for maxmem; only what the guest populates costs host memory. */
	if (vm_create(&dom->vm, params->kvm_device, maxmem, ram, err, errlen))
		return -1;
	/* An HVM domain's devices find its config, its firmware and its interrupt router ready. */
	dom->hvm = params->hvm;
	if (xen_init(dom, err, errlen) || xen_hypercall_path_init(dom, err, errlen) ||
	    (params->hvm && hvm_build(dom, params->hvm->firmware, err, errlen)) ||
	    devices_init(dom, params->hvm ? hvm_devices : pvh_devices, err, errlen))
		goto fail;
	/* What Xen's hvmloader does before SeaBIOS runs (docs/hvm.md): again at every reset, since
	 * the guest has overwritten its tables since. */
	if (params->hvm && (hvmloader_setup(dom, err, errlen) ||
			    vm_pic_set_elcr(&dom->vm, hvmloader_elcr(), err, errlen)))
		goto fail;
	struct pvh_options opt = {
		.vcpus = params->vcpus, .max_vcpus = domain_max_vcpus(params),
		.rewrite_hypercalls = !dom->xen.kvm_intercepts_hypercalls,
	};
	/* A restored domain's memory and registers come from its stream (vmm/restore.c). */
	bool restoring = params->restore_fd >= 0;
	/* An HVM domain boots its firmware: vCPU 0 starts at the reset vector, as KVM makes it. */
	bool loads_kernel = !restoring && !params->hvm;
	if (loads_kernel && !params->kernel) {
		ERR_SET(err, errlen, "no kernel to build the domain from");
		goto fail;
	}
	if (loads_kernel &&
	    pvh_load(&dom->vm, params->kernel, params->ramdisk, params->cmdline, &opt, &boot, err, errlen))
		goto fail;
	/* Every possible vCPU exists from the start: those past `vcpus` are offline in xenstore and
	 * disabled in the MADT until the guest plugs them (xl vcpu-set). */
	for (unsigned int i = 0; i < domain_max_vcpus(params); i++) {
		if (vcpu_create(&dom->vcpus[i], dom, i, err, errlen))
			goto fail;
		dom->n_vcpus++;
	}
	/* Secondary vCPUs wait in the in-kernel APIC for a start IPI, as on hardware, or for
	 * VCPUOP_initialise + VCPUOP_up (xen/vcpu_power.c); offline until then. */
	vcpu_power_init(dom);
	if (loads_kernel && pvh_setup_boot_vcpu(dom->vcpus[0].fd, &boot, err, errlen))
		goto fail;
	return 0;
fail:
	domain_teardown(dom);
	return -1;
}

int domain_start(struct domain *dom, char *err, size_t errlen)
{
	dom->paused = dom->params->start_paused;
	if (vcpu_watch_start(dom, err, errlen))
		return -1;
	/* Only a log line depends on it: a domain runs without. */
	int r = balloon_watch_start(dom);
	if (r)
		LOG("domain %d: not watching memory/target: %s", dom->domid, strerror(-r));
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		if (vcpu_start(&dom->vcpus[i], err, errlen))
			return -1;
	return 0;
}

void domain_pause(struct domain *dom)
{
	pthread_mutex_lock(&dom->lock);
	dom->paused = true;
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		vcpu_kick(&dom->vcpus[i]);
	pthread_mutex_unlock(&dom->lock);
	xen_wake_vcpus(dom);
}

void domain_unpause(struct domain *dom)
{
	pthread_mutex_lock(&dom->lock);
	dom->paused = false;
	pthread_cond_broadcast(&dom->unpaused);
	pthread_mutex_unlock(&dom->lock);
}

static void stop_vcpus_locked(struct domain *dom)
{
	dom->stop_vcpus = true;
	pthread_cond_broadcast(&dom->unpaused);
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		vcpu_kick(&dom->vcpus[i]);
}

void domain_shutdown(struct domain *dom, int reason)
{
	uint64_t one = 1;

	pthread_mutex_lock(&dom->lock);
	if (dom->shutdown_reason < 0) {
		dom->shutdown_reason = reason;
		dom->state = DOMAIN_SHUTDOWN;
		stop_vcpus_locked(dom);
	}
	pthread_mutex_unlock(&dom->lock);
	xen_wake_vcpus(dom);
	if (write(dom->notify_fd, &one, sizeof(one)) < 0)
		LOG("waking the main loop: %s", strerror(errno));
}

void domain_suspend(struct domain *dom, unsigned int vcpu)
{
	uint64_t one = 1;

	pthread_mutex_lock(&dom->lock);
	if (dom->shutdown_reason < 0) {
		dom->shutdown_reason = SHUTDOWN_suspend;
		dom->state = DOMAIN_SHUTDOWN;
		dom->suspended_vcpu = vcpu;
		/* Held, not stopped: the vCPU threads stay for a resume. */
		dom->paused = true;
		for (unsigned int i = 0; i < dom->n_vcpus; i++)
			vcpu_kick(&dom->vcpus[i]);
	}
	pthread_mutex_unlock(&dom->lock);
	xen_wake_vcpus(dom);
	if (write(dom->notify_fd, &one, sizeof(one)) < 0)
		LOG("waking the main loop: %s", strerror(errno));
}

int domain_pause_sync(struct domain *dom, int timeout_ms)
{
	struct timespec deadline;
	int r = 0;

	domain_pause(dom);
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&dom->lock);
	while (dom->vcpus_held < dom->vcpu_threads && r == 0)
		r = pthread_cond_timedwait(&dom->held, &dom->lock, &deadline);
	bool all = dom->vcpus_held >= dom->vcpu_threads;
	pthread_mutex_unlock(&dom->lock);
	return all ? 0 : -ETIMEDOUT;
}

int domain_resume_suspended(struct domain *dom, char *err, size_t errlen)
{
	pthread_mutex_lock(&dom->lock);
	bool suspended = dom->state == DOMAIN_SHUTDOWN && dom->shutdown_reason == SHUTDOWN_suspend;
	unsigned int id = dom->suspended_vcpu;
	pthread_mutex_unlock(&dom->lock);
	if (!suspended) {
		ERR_SET(err, errlen, "domain %d is not suspended", dom->domid);
		return -1;
	}
	if (domain_pause_sync(dom, 5000)) {
		ERR_SET(err, errlen, "domain %d: its vCPUs did not stop within 5 s", dom->domid);
		return -1;
	}
	if (id < dom->n_vcpus && vcpu_set_return(&dom->vcpus[id], 1, err, errlen))
		return -1;
	pthread_mutex_lock(&dom->lock);
	dom->shutdown_reason = -1;
	dom->state = DOMAIN_RUNNING;
	dom->paused = false;
	pthread_cond_broadcast(&dom->unpaused);
	pthread_mutex_unlock(&dom->lock);
	return 0;
}

void domain_crash(struct domain *dom, const char *why)
{
	LOG("domain %d crashed: %s", dom->domid, why);
	domain_shutdown(dom, SHUTDOWN_crash);
}

void domain_teardown(struct domain *dom)
{
	balloon_watch_stop(dom);
	pthread_mutex_lock(&dom->lock);
	stop_vcpus_locked(dom);
	pthread_mutex_unlock(&dom->lock);
	xen_wake_vcpus(dom);
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		vcpu_join(&dom->vcpus[i]);
	if (dom->n_vcpus)
		xen_log_stats(dom);
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		vcpu_destroy(&dom->vcpus[i]);
	dom->n_vcpus = 0;
	vcpu_watch_stop(dom);
	/* Backends that use the xenstore link go before it does. */
	pv_backends_teardown_all(dom);
	devices_teardown(dom);
	xen_teardown(dom);
	vm_destroy(&dom->vm);
}

char domain_run_letter(const enum vcpu_activity *vcpus, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		if (vcpus[i] == VCPU_RUNNING)
			return 'r';
	return 'b';
}

/* A vCPU blocked in SCHEDOP_block/poll says so in its runstate, kept by its own loop; one halted
 * in KVM_RUN (in-kernel hlt) only shows as its thread asleep, which the scheduler's view reads. */
static void vcpu_activities(struct domain *dom, enum vcpu_activity act[DOMAIN_MAX_VCPUS])
{
	pthread_mutex_lock(&dom->xen.lock);
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		act[i] = dom->xen.vcpu[i].runstate.state == RUNSTATE_blocked ? VCPU_BLOCKED : VCPU_RUNNING;
	pthread_mutex_unlock(&dom->xen.lock);
	pthread_mutex_lock(&dom->lock);
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		if (!dom->vcpus[i].thread_started || !vcpu_power_is_up_locked(&dom->vcpus[i]))
			act[i] = VCPU_DOWN;
	pthread_mutex_unlock(&dom->lock);
	for (unsigned int i = 0; i < dom->n_vcpus && dom->sched; i++) {
		struct vcpu_sched_info info;
		if (act[i] != VCPU_RUNNING)
			continue;
		domain_sched_vcpu_info(dom->sched, i, dom->vcpus[i].thread_started, &info);
		if (info.online && info.state == 'b')
			act[i] = VCPU_BLOCKED;
	}
}

void domain_state_flags(struct domain *dom, char flags[7])
{
	enum vcpu_activity act[DOMAIN_MAX_VCPUS];

	memcpy(flags, "------", 7);
	vcpu_activities(dom, act);
	pthread_mutex_lock(&dom->lock);
	if (dom->state == DOMAIN_RUNNING && !dom->paused)
		flags[0] = 'r';
	if (dom->state == DOMAIN_RUNNING && !dom->paused && domain_run_letter(act, dom->n_vcpus) == 'b') {
		flags[0] = '-';
		flags[1] = 'b';
	}
	if (dom->paused)
		flags[2] = 'p';
	if (dom->state != DOMAIN_RUNNING) {
		if (dom->shutdown_reason == SHUTDOWN_crash)
			flags[4] = 'c';
		else
			flags[3] = 's';
	}
	pthread_mutex_unlock(&dom->lock);
}

double domain_cpu_seconds(struct domain *dom)
{
	double total = 0;

	for (unsigned int i = 0; i < dom->n_vcpus; i++) {
		struct timespec ts;
		if (dom->vcpus[i].thread_started && !clock_gettime(dom->vcpus[i].cpu_clock, &ts))
			total += ts.tv_sec + ts.tv_nsec / 1e9;
	}
	return total;
}

unsigned int domain_vcpus_online(struct domain *dom)
{
	unsigned int n = 0;

	pthread_mutex_lock(&dom->lock);
	for (unsigned int i = 0; i < dom->n_vcpus; i++)
		n += vcpu_power_is_up_locked(&dom->vcpus[i]);
	pthread_mutex_unlock(&dom->lock);
	return n;
}
