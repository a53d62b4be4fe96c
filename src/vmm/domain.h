/* A domain: one KVM VM, its vCPUs, its devices and its Xen state.  The VMM process serves exactly
 * one; after a restart it serves the same one under a new domid. */
#ifndef XENITH_DOMAIN_H
#define XENITH_DOMAIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "backends/console.h"
#include "backends/pv_backend.h"
#include "lib/cpumap.h"
#include "lib/domain_limits.h"
#include "vmm/vcpu_watch.h"
#include "vmm/io.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"
#include "xen/xen_state.h"

/* DOMAIN_MAX_VCPUS, _VIFS, _DISKS and the memory bounds are xl's too: lib/domain_limits.h. */
_Static_assert(DOMAIN_MAX_VCPUS <= XEN_MAX_VCPUS, "the Xen state holds every vCPU");

enum shutdown_action { ACTION_DESTROY, ACTION_RESTART, ACTION_PRESERVE };

struct domain_params {
	const char *name;
	uint8_t uuid[16];        /* --uuid, or a random one: /vm/<uuid>, `info`; kept across restarts */
	const char *config;      /* --config: xl's cfg file, moved into domains/<domid>/config; or NULL */
	const char *kernel;
	const char *ramdisk;     /* NULL: none */
	const char *cmdline;
	const char *kvm_device;
	uint64_t memory_mb;      /* RAM the guest starts with (xl.cfg memory) */
	uint64_t maxmem_mb;      /* RAM it may balloon up to (--maxmem); 0: memory_mb */
	unsigned int vcpus;
	unsigned int max_vcpus;  /* vCPUs made and described (hot-pluggable up to it); 0: vcpus */
	enum shutdown_action on_poweroff, on_reboot, on_crash;
	bool start_paused;
	/* --restore-fd: the domain comes from a save stream on this descriptor (vmm/restore.c), not from
	 * a kernel; -1 otherwise. */
	int restore_fd;
	/* --hvm: an emulated PC booting its firmware (docs/hvm.md), what it is to have; NULL: PVH. */
	struct hvm_config *hvm;
	struct pv_spec pv_specs[PV_MAX_DEVICES];  /* --vif, --disk ...: built after the domid is known */
	unsigned int n_pv_specs;
	/* Placement and share (vmm/sched.h): Xen's credit weight (256) and cap (0), and each vCPU's
	 * hard and soft affinity (all CPUs) from --weight, --cap, --cpus, --cpus-soft. */
	unsigned int sched_weight, sched_cap;
	struct cpumap cpus[DOMAIN_MAX_VCPUS], cpus_soft[DOMAIN_MAX_VCPUS];
	/* --backend-poll-us: how long each backend ring's thread spins after its last work before it
	 * sleeps on its event channel (backends/ring_poller.h). */
	unsigned int backend_poll_us;
};

/* What the domain is doing, as xl's state column shows it. */
enum domain_run_state {
	DOMAIN_RUNNING,
	DOMAIN_SHUTDOWN,          /* vCPUs stopped after the guest shut down, awaiting the action */
	DOMAIN_PRESERVED,         /* shut down and kept, per on_* = preserve, until destroyed */
};

struct device_instance;
struct console_ring;
struct xenstore_link;
struct event_loop;
struct domain_sched;
struct balloon_watch;
struct dirty_log;
struct save_job;
struct pci_bus;
struct hvm_config;

/* Where emulated devices' interrupt lines go (hw/irq.h): KVM's irqchip, or a test's watcher. */
struct irq_router {
	void (*set)(void *opaque, unsigned int gsi, bool level);
	void *opaque;
};

struct domain {
	const struct domain_params *params;
	int domid;
	struct vm vm;
	struct vcpu vcpus[DOMAIN_MAX_VCPUS];
	unsigned int n_vcpus;
	struct io_bus pio, mmio;
	struct msr_table msrs;
	struct xen_state xen;
	struct console *console;
	struct event_loop *loop;           /* the VMM main thread's, for timers and Dom0 services */
	struct device_instance *devices;   /* built from the device table, torn down in reverse */
	struct console_ring *console_ring; /* the PV console backend, while the domain is built */
	struct xenstore_link *xenstore_link;
	struct pv_device *pv_devices;      /* PV backends of every type, newest first (pv_backend.h) */
	struct vcpu_watch vcpu_watch;      /* what no exit tells us: unseen hypercalls, a halted guest */
	struct domain_sched *sched;        /* placement and share; the VMM's, kept across restarts */
	struct balloon_watch *balloon;     /* memory/target and whether the guest follows it */
	struct dirty_log *dirty_log;       /* while a live save runs: pages the host writes are marked */
	struct save_job *save_job;         /* a save or migration under way (vmm/save.c); main thread's */
	struct irq_router irq;             /* HVM: emulated devices' interrupt lines */
	struct pci_bus *pci;               /* HVM: PCI bus 0 (hw/pci.h); NULL for PVH domains */
	struct hvm_config *hvm;            /* HVM: what the config asks of the emulated PC; NULL for PVH */

	pthread_mutex_t lock;      /* guards what follows */
	pthread_cond_t unpaused;
	bool paused;
	bool stop_vcpus;           /* shutdown or destroy under way: vCPU threads leave their loops */
	enum domain_run_state state;
	int shutdown_reason;       /* SHUTDOWN_* from xen/sched.h, or -1 */
	int notify_fd;             /* eventfd: tells the main loop a shutdown happened */
	/* SHUTDOWN_suspend: the guest asked to be saved.  Its vCPUs are held (paused, threads alive)
	 * rather than stopped, so that a cancelled save lets it run on (domain_resume_suspended). */
	unsigned int suspended_vcpu;       /* which vCPU made the call */
	/* vCPU threads alive, and of those how many wait outside KVM_RUN while paused, their last exit
	 * completed (vcpu.c): domain_pause_sync waits for the two to agree. */
	unsigned int vcpu_threads, vcpus_held;
	pthread_cond_t held;               /* vcpus_held or vcpu_threads changed */
};

/* How many vCPUs the domain has: online ones and those that may be plugged later. */
static inline unsigned int domain_max_vcpus(const struct domain_params *params)
{
	return params->max_vcpus > params->vcpus ? params->max_vcpus : params->vcpus;
}

/* The RAM a domain is built with: maxmem, of which memory is populated at start. */
static inline uint64_t domain_maxmem_mb(const struct domain_params *params)
{
	return params->maxmem_mb > params->memory_mb ? params->maxmem_mb : params->memory_mb;
}

/* Makes the VM, devices, Xen state and vCPUs and loads the kernel.  0, or -1 with err set; on failure
 * everything it made is gone again. */
int domain_build(struct domain *dom, const struct domain_params *params, struct console *console,
		 struct event_loop *loop, int notify_fd, char *err, size_t errlen);
int domain_start(struct domain *dom, char *err, size_t errlen);
void domain_pause(struct domain *dom);
void domain_unpause(struct domain *dom);
/* Pauses the domain and waits (up to timeout_ms) until every vCPU thread waits outside KVM_RUN
 * with its last exit completed, so that its state can be read or written from another thread.
 * 0, or -ETIMEDOUT (still paused). */
int domain_pause_sync(struct domain *dom, int timeout_ms);
/* From a vCPU thread: SCHEDOP_shutdown(SHUTDOWN_suspend).  The domain is shut down for "suspend"
 * with its vCPUs held, and the main loop told. */
void domain_suspend(struct domain *dom, unsigned int vcpu);
/* Main thread: a suspend ends without the domain leaving (a cancelled or failed save): the
 * suspending call returns 1 (Xen's "cancelled") and the domain runs again.  0, or -1 with err
 * (the domain then stays suspended). */
int domain_resume_suspended(struct domain *dom, char *err, size_t errlen);
/* From any thread: the guest shut itself down (or died).  The first reason wins. */
void domain_shutdown(struct domain *dom, int reason);
/* Stops vCPUs and frees all but the console. */
void domain_teardown(struct domain *dom);
/* State letters for xl list: six characters and a NUL. */
void domain_state_flags(struct domain *dom, char flags[7]);
/* What one vCPU is doing, for the r/b letter: down (offline or never started), blocked (in
 * SCHEDOP_block/poll, or its thread asleep in KVM_RUN: halted), or running (or runnable). */
enum vcpu_activity { VCPU_DOWN, VCPU_BLOCKED, VCPU_RUNNING };
/* 'r' if any vCPU runs, 'b' if none does (every vCPU that is up is blocked, or none is up). */
char domain_run_letter(const enum vcpu_activity *vcpus, unsigned int n);
double domain_cpu_seconds(struct domain *dom);
/* vCPUs up now (Xen's VCPUOP_is_up), for xl list's VCPUs column. */
unsigned int domain_vcpus_online(struct domain *dom);
/* Once the domain has its domid: writes its xenstore nodes and introduces it to xenstored. */
int xenstore_link_connect(struct domain *dom, char *err, size_t errlen);
/* What a console client typed, for the PV console ring (backends/console_ring.c). */
void console_ring_input(struct domain *dom, const char *buf, size_t len);
/* A guest broke the rules in a way we cannot answer with an error: log why and crash it. */
void domain_crash(struct domain *dom, const char *why);

#endif
