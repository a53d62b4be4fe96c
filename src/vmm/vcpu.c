/* The vCPU loop.  Each exit goes to a table: ports and MMIO to the buses, MSRs to the MSR table,
 * hypercalls (when KVM intercepts them) to the Xen dispatcher.  Anything a guest can cause is
 * answered or kills the guest; nothing here may take the VMM down. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/sched.h"
#include "vmm/vcpu_watch.h"
#include "vmm/upcall.h"
#include "vmm/vcpu.h"
#include "vmm/vcpu_emulate.h"
#include "xen/xen_state.h"

static void kick_handler(int sig)
{
	(void)sig;   /* only here to interrupt KVM_RUN */
}

void vcpu_install_kick_signal(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	sigaction(VCPU_KICK_SIGNAL, &sa, NULL);   /* no SA_RESTART: KVM_RUN must return EINTR */
}

int vcpu_create(struct vcpu *vcpu, struct domain *dom, unsigned int id, char *err, size_t errlen)
{
	*vcpu = (struct vcpu){ .dom = dom, .id = id, .fd = -1 };
	vcpu->fd = ioctl(dom->vm.vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (vcpu->fd < 0) {
		ERR_SET(err, errlen, "KVM_CREATE_VCPU %u: %s", id, strerror(errno));
		return -1;
	}
	vcpu->run = mmap(NULL, dom->vm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		vcpu->run = NULL;
		ERR_SET(err, errlen, "mapping vCPU %u's run area: %s", id, strerror(errno));
		vcpu_destroy(vcpu);
		return -1;
	}
	/* Optional: without binary stats (Linux < 5.14) only the exits reaching us are counted. */
	int stats_fd = ioctl(vcpu->fd, KVM_GET_STATS_FD, 0);
	char why[160];
	if (stats_fd >= 0 && kvm_stat_counter_open(&vcpu->kvm_exits, stats_fd, "exits", why, sizeof(why)) == 0)
		vcpu->kvm_exits_known = true;
	else if (stats_fd >= 0 && id == 0)
		LOG("vCPU %u: %s; counting only the exits that reach the VMM", id, why);
	/* Registers arrive with every exit, so a hypercall costs no extra ioctls. */
	vcpu->run->kvm_valid_regs = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	if (xen_vcpu_setup(dom, vcpu, err, errlen) < 0) {
		vcpu_destroy(vcpu);
		return -1;
	}
	return 0;
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->kvm_exits_known)
		kvm_stat_counter_close(&vcpu->kvm_exits);
	vcpu->kvm_exits_known = false;
	if (vcpu->run)
		munmap(vcpu->run, vcpu->dom->vm.vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
}

static void handle_pio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* String I/O comes as `count` elements in a row; each is one access. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size)
		io_bus_dispatch(&vcpu->dom->pio, vcpu, run->io.port, is_write, data, run->io.size);
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	unsigned int len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : sizeof(run->mmio.data);

	io_bus_dispatch(&vcpu->dom->mmio, vcpu, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data, len);
}

static void handle_msr(struct vcpu *vcpu, bool is_write)
{
	struct kvm_run *run = vcpu->run;
	const struct msr_handler *h = msr_table_find(&vcpu->dom->msrs, run->msr.index);
	int r = -1;

	if (h && is_write && h->write)
		r = h->write(h->opaque, vcpu, run->msr.index, run->msr.data);
	else if (h && !is_write && h->read) {
		uint64_t value = 0;
		r = h->read(h->opaque, vcpu, run->msr.index, &value);
		run->msr.data = value;
	}
	/* Like real hardware, an MSR nobody implements raises #GP in the guest. */
	run->msr.error = r < 0;
}

/* Returns false when the loop must end. */
static bool handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	char why[256];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_pio(vcpu);
		return true;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		return true;
	case KVM_EXIT_X86_RDMSR:
		handle_msr(vcpu, false);
		return true;
	case KVM_EXIT_X86_WRMSR:
		handle_msr(vcpu, true);
		return true;
	case KVM_EXIT_XEN:
		xen_handle_kvm_xen_exit(vcpu);
		return true;
	case KVM_EXIT_INTR:
		return true;
	case KVM_EXIT_HLT:
		/* Without interrupts to wake it a halted vCPU would spin here; with the in-kernel
		 * irqchip KVM keeps halts to itself, so this only comes from a stopped guest. */
		snprintf(why, sizeof(why), "vCPU %u halted with no way to wake", vcpu->id);
		domain_crash(vcpu->dom, why);
		return false;
	case KVM_EXIT_SHUTDOWN: {
		/* As in Xen, HVM_PARAM_TRIPLE_FAULT_REASON says what a triple fault means (default: reboot,
		 * the end of x86 Linux's reboot path when no reset method answers). */
		uint64_t reason = vcpu->dom->xen.params[HVM_PARAM_TRIPLE_FAULT_REASON];
		LOG("domain %d: vCPU %u triple-faulted at rip %#llx: shutdown reason %llu",
		    vcpu->dom->domid, vcpu->id, (unsigned long long)run->s.regs.regs.rip,
		    (unsigned long long)reason);
		domain_shutdown(vcpu->dom, reason <= SHUTDOWN_MAX ? (int)reason : SHUTDOWN_crash);
		return false;
	}
	case KVM_EXIT_SYSTEM_EVENT:
		domain_shutdown(vcpu->dom, run->system_event.type == KVM_SYSTEM_EVENT_RESET ?
				SHUTDOWN_reboot : SHUTDOWN_poweroff);
		return false;
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(why, sizeof(why), "vCPU %u failed to enter the guest (hardware reason %#llx)",
			 vcpu->id, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		domain_crash(vcpu->dom, why);
		return false;
	case KVM_EXIT_INTERNAL_ERROR:
		/* KVM's emulator (all guest ring-0 code on PVM hosts) gives up on some instructions
		 * kernels run while booting: we finish those ourselves (vcpu_emulate.c). */
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
			if (vcpu_emulate(vcpu, &vcpu->emu_stats, why, sizeof(why)))
				return true;
		} else {
			snprintf(why, sizeof(why), "vCPU %u: KVM internal error %u at rip %#llx", vcpu->id,
				 run->internal.suberror, (unsigned long long)run->s.regs.regs.rip);
		}
		domain_crash(vcpu->dom, why);
		return false;
	default:
		snprintf(why, sizeof(why), "vCPU %u: unexpected KVM exit %u", vcpu->id, run->exit_reason);
		domain_crash(vcpu->dom, why);
		return false;
	}
}

/* Loads a VCPUOP_initialise context on this thread (KVM wants a vCPU's registers set by its own)
 * and leaves the wait-for-SIPI state. */
static bool load_context(struct vcpu *vcpu, const struct vcpu_boot_context *ctx)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = ctx->regs;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	char why[160];

	if (ioctl(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		goto fail;
	vcpu_context_apply(ctx, &sregs);
	if (ioctl(vcpu->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(vcpu->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(vcpu->fd, KVM_SET_MP_STATE, &mp) < 0)
		goto fail;
	vcpu->run->kvm_dirty_regs &= ~(uint64_t)(KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS);
	return true;
fail:
	snprintf(why, sizeof(why), "vCPU %u: loading its VCPUOP_initialise context: %s", vcpu->id, strerror(errno));
	domain_crash(vcpu->dom, why);
	return false;
}

/* Completes the vCPU's last exit inside KVM without running guest code: KVM finishes an I/O or
 * hypercall exit (skips the instruction, applies registers we left in the run area) only on the
 * next KVM_RUN, and immediate_exit makes that entry return at once.  Until then KVM's registers
 * are those of before the exit, which a save must not read. */
static void complete_last_exit(struct vcpu *vcpu)
{
	vcpu->run->immediate_exit = 1;
	if (ioctl(vcpu->fd, KVM_RUN, 0) == 0 || (errno != EINTR && errno != EAGAIN))
		LOG("vCPU %u: completing its last exit before holding it: %s", vcpu->id,
		    errno ? strerror(errno) : "KVM ran the guest");
	vcpu->run->kvm_dirty_regs = 0;
}

/* Waits while paused or down (parked, runstate offline); returns false once the vCPU must stop.
 * While it waits paused it counts as held (domain_pause_sync), its last exit completed first. */
static bool wait_until_runnable(struct vcpu *vcpu)
{
	struct domain *dom = vcpu->dom;
	struct vcpu_boot_context ctx;
	bool go, have_context, parked = false, held = false;

	pthread_mutex_lock(&dom->lock);
	while (!dom->stop_vcpus) {
		if (dom->paused) {
			if (!held) {
				pthread_mutex_unlock(&dom->lock);
				complete_last_exit(vcpu);
				pthread_mutex_lock(&dom->lock);
				held = true;
				dom->vcpus_held++;
				pthread_cond_broadcast(&dom->held);
				continue;
			}
			pthread_cond_wait(&dom->unpaused, &dom->lock);
		} else if (vcpu_power_wants_park_locked(vcpu)) {
			if (!parked) {
				parked = vcpu->power.parked = true;
				pthread_mutex_unlock(&dom->lock);
				vcpu_power_runstate(vcpu, true);
				pthread_mutex_lock(&dom->lock);
				continue;
			}
			pthread_cond_wait(&dom->unpaused, &dom->lock);
		} else {
			break;
		}
	}
	if (held) {
		dom->vcpus_held--;
		pthread_cond_broadcast(&dom->held);
	}
	vcpu->run->immediate_exit = 0;
	go = !dom->stop_vcpus;
	vcpu->power.parked = false;
	have_context = go && vcpu_power_take_context_locked(vcpu, &ctx);
	pthread_mutex_unlock(&dom->lock);
	if (parked && go)
		vcpu_power_runstate(vcpu, false);
	if (have_context && !load_context(vcpu, &ctx))
		return false;
	return go;
}

/* The first real exit of a secondary that was waiting for SIPI: the guest started it. */
static void note_running(struct vcpu *vcpu)
{
	bool news;

	if (vcpu->seen_running)
		return;
	vcpu->seen_running = true;
	pthread_mutex_lock(&vcpu->dom->lock);
	news = vcpu_power_seen_running_locked(vcpu);
	pthread_mutex_unlock(&vcpu->dom->lock);
	if (news)
		vcpu_power_runstate(vcpu, false);
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char why[128];

	/* Its tid and hard affinity (vmm/sched.h) before it first enters the guest. */
	if (vcpu->dom->sched)
		domain_sched_vcpu_thread(vcpu->dom->sched, vcpu->id);
	upcall_vcpu_thread_init(vcpu);
	while (wait_until_runnable(vcpu)) {
		if (__atomic_exchange_n(&vcpu->nmi_pending, false, __ATOMIC_ACQ_REL) &&
		    ioctl(vcpu->fd, KVM_NMI) < 0)
			LOG("vCPU %u: KVM_NMI: %s", vcpu->id, strerror(errno));
		upcall_deliver(vcpu);
		vcpu_watch_sample(vcpu);
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu->run->exit_reason = KVM_EXIT_INTR;
				continue;
			}
			snprintf(why, sizeof(why), "vCPU %u: KVM_RUN: %s", vcpu->id, strerror(errno));
			domain_crash(vcpu->dom, why);
			break;
		}
		__atomic_store_n(&vcpu->user_exits, vcpu->user_exits + 1, __ATOMIC_RELAXED);
		note_running(vcpu);
		if (!handle_exit(vcpu))
			break;
	}
	upcall_vcpu_thread_exit(vcpu);
	pthread_mutex_lock(&vcpu->dom->lock);
	vcpu->dom->vcpu_threads--;
	pthread_cond_broadcast(&vcpu->dom->held);
	pthread_mutex_unlock(&vcpu->dom->lock);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu, char *err, size_t errlen)
{
	sigset_t all, old;
	int r;

	/* The thread starts with every signal blocked but the kick, so the main loop gets the rest. */
	sigfillset(&all);
	sigdelset(&all, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_mutex_lock(&vcpu->dom->lock);
	vcpu->dom->vcpu_threads++;
	pthread_mutex_unlock(&vcpu->dom->lock);
	r = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_mutex_lock(&vcpu->dom->lock);
		vcpu->dom->vcpu_threads--;
		pthread_mutex_unlock(&vcpu->dom->lock);
		ERR_SET(err, errlen, "starting vCPU %u's thread: %s", vcpu->id, strerror(r));
		return -1;
	}
	vcpu->thread_started = true;
	pthread_getcpuclockid(vcpu->thread, &vcpu->cpu_clock);
	return 0;
}

void vcpu_inject_nmi(struct vcpu *vcpu)
{
	__atomic_store_n(&vcpu->nmi_pending, true, __ATOMIC_RELEASE);
	pthread_mutex_lock(&vcpu->dom->lock);
	vcpu_kick(vcpu);
	pthread_mutex_unlock(&vcpu->dom->lock);
}

void vcpu_join(struct vcpu *vcpu)
{
	if (vcpu->thread_started)
		pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
}
