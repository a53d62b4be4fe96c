/* The Xen guest ABI's per-domain state, and the entry points the VMM core calls. */
#ifndef XENITH_XEN_STATE_H
#define XENITH_XEN_STATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xen/xen_public.h"

struct domain;
struct vcpu;

#define XEN_HYPERCALL_MSR 0x40000000u    /* CPUID 0x40000002 ebx tells the guest this */
#define XEN_HYPERCALL_PORT 0x5c          /* the stubs' `out` port when KVM does not intercept */
#define XEN_HYPERCALL_SLOTS 128          /* 32-byte stubs in one 4 KiB page */
#define XEN_HYPERCALL_NR_MAX 64          /* counters kept per number below this; the rest share one */
#define XEN_MAX_VCPUS 64
#define EVTCHN_PORTS 1024                /* of the 2-level ABI's 4096: plenty, and bounds the table */
#define EVTCHN_STORE_PORT 1              /* bound at build time to xenstored */
#define EVTCHN_CONSOLE_PORT 2            /* bound at build time to the console backend */
#define GNTTAB_MAX_FRAMES 64             /* Xen 4.17's default max_grant_frames (xl leaves it to Xen) */
#define XEN_UNKNOWN_SUBOP_PAIRS 32       /* (hypercall, sub-op) pairs counted apart; the rest share one */

/* What a Dom0 service does when the guest notifies a port bound to it.  Runs on a vCPU thread. */
typedef void (*evtchn_dom0_fn)(void *opaque);

enum evtchn_state {
	EVTCHN_STATE_FREE, EVTCHN_STATE_RESERVED, EVTCHN_STATE_UNBOUND, EVTCHN_STATE_INTERDOMAIN,
	EVTCHN_STATE_VIRQ, EVTCHN_STATE_IPI,
};

struct evtchn_port {
	uint8_t state;                   /* enum evtchn_state */
	uint8_t vcpu;                    /* which vCPU is notified */
	uint16_t virq;                   /* EVTCHN_STATE_VIRQ */
	domid_t remote_dom;              /* EVTCHN_STATE_UNBOUND: who may bind; EVTCHN_STATE_INTERDOMAIN: the peer */
	evtchn_port_t remote_port;       /* EVTCHN_STATE_INTERDOMAIN with ourselves (loopback) */
	evtchn_dom0_fn dom0_fn;          /* EVTCHN_STATE_INTERDOMAIN with Dom0: the service's callback */
	void *dom0_opaque;
};

/* A vCPU's runstate as Xen keeps it (runstate.c), in plain fields a save stream can carry. */
struct xen_runstate {
	uint64_t area_gva;               /* VCPUOP_register_runstate_memory_area; 0: none */
	uint32_t state;                  /* RUNSTATE_running or RUNSTATE_blocked */
	uint64_t entry_ns;               /* system time the state began (or was last accounted) */
	uint64_t time[4];                /* ns spent in each RUNSTATE_*, up to entry_ns */
	bool area_fault_logged;
};

struct xen_vcpu_state {
	struct vcpu_info *info;          /* in shared_info, or where VCPUOP_register_vcpu_info put it */
	bool info_registered;
	uint8_t upcall_vector;           /* HVMOP_set_evtchn_upcall_vector; 0: the domain's callback */
	evtchn_port_t virq_port[NR_VIRQS];
	int64_t tsc_offset;              /* guest TSC = host TSC + offset */
	int timer_fd;                    /* singleshot and periodic timers, on the main loop */
	uint64_t singleshot_ns;          /* absolute system time, 0: none */
	uint64_t period_ns;              /* 0: none */
	uint64_t next_period_ns;
	struct xen_runstate runstate;
	bool call_compat;                /* the hypercall under way came from outside 64-bit mode (compat.h) */
};

struct gnttab_pin { uint16_t readers, writers; };

/* A sub-op we do not implement, and how often a guest asked for it. */
struct xen_unknown_subop {
	uint32_t hypercall;
	int32_t answer;                  /* the Xen errno it got, negative */
	uint64_t subop;
	uint64_t count;
};

/* Ballooning: which pages of guest RAM the guest gave back (XENMEM_decrease_reservation) and which
 * it took again (XENMEM_populate_physmap).  Plain data, so a save stream can carry it as it is. */
struct xen_reservation {
	uint64_t *out;                   /* one bit per page of RAM, in memfd order: 1 = given back */
	uint64_t ram_pages;              /* RAM pages (xl.cfg maxmem), the most max_pages may be */
	uint64_t max_pages;              /* the maximum reservation (xl mem-max), at most ram_pages */
	uint64_t pages_out;              /* bits set in `out` */
	uint64_t pages_unmapped;         /* XENMEM_increase_reservation: counted, mapped at no gfn (as Xen) */
	bool discard_error_logged;
};

struct xen_state {
	bool kvm_intercepts_hypercalls;      /* KVM_CAP_XEN_HVM with KVM_XEN_HVM_CONFIG_INTERCEPT_HCALL */
	uint64_t calls[XEN_HYPERCALL_NR_MAX + 1];
	uint64_t unknown_calls;              /* -ENOSYS answers: counted, never fatal */
	pthread_mutex_t subop_lock;          /* guards the unknown sub-op counts (a leaf lock) */
	struct xen_unknown_subop unknown_subops[XEN_UNKNOWN_SUBOP_PAIRS];
	unsigned int unknown_subop_pairs;    /* entries in use */
	uint64_t unknown_subops_total;
	uint64_t unknown_subops_untracked;   /* calls of pairs beyond the table */

	pthread_mutex_t lock;                /* guards all that follows */
	pthread_cond_t wake;                 /* vCPUs blocked in SCHEDOP_block/poll wait here */
	struct shared_info *shared_info;     /* the VMM's own page until the guest places it */
	struct shared_info *private_shared_info;
	uint64_t shared_info_gfn;            /* ~0: not placed */
	uint64_t callback_via;               /* HVM_PARAM_CALLBACK_IRQ */
	/* Xen's has_32bit_shinfo: shared_info, vcpu_info and runstate areas are in the 32-bit layout.  Latched from the calling vCPU's mode when it sets HVM_PARAM_CALLBACK_IRQ or writes the
	 * hypercall-page MSR, as Xen's hvm_latch_shinfo_size; state a save stream must carry. */
	bool shinfo_compat;
	uint64_t params[HVM_NR_PARAMS];
	struct xen_vcpu_state vcpu[XEN_MAX_VCPUS];
	struct evtchn_port ports[EVTCHN_PORTS];
	uint64_t boot_ns;                    /* CLOCK_MONOTONIC when system time was 0 */
	uint64_t tsc_base;                   /* host TSC when system time was stime_base (time.c) */
	uint64_t stime_base;
	uint64_t vm_assist;                  /* VMASST_TYPE_* bits the guest enabled */
	uint32_t tsc_khz;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint64_t grant_gfn[GNTTAB_MAX_FRAMES];   /* per frame its gfn (RAM or not), ~0: not placed */
	unsigned int grant_frames;           /* frames in use (setup_table / add_to_physmap) */
	struct gnttab_pin pins[GNTTAB_MAX_FRAMES * 4096 / sizeof(grant_entry_v1_t)];
	int store_kick_fd, store_notify_fd;  /* eventfds to and from xenstored */
	unsigned int dom0_calls_running;     /* Dom0 callbacks under way (unbind waits for none) */
	struct xen_reservation reservation;
};

/* Sets up shared_info, event channels (the store and console ports), grant tables and HVM params.
 * Touches no KVM state, so tests can run it on a domain with plain memory. 0, or -1 with err. */
int xen_init(struct domain *dom, char *err, size_t errlen);
/* Picks the hypercall path (KVM interception or port stubs) and registers its MSR and port. */
int xen_hypercall_path_init(struct domain *dom, char *err, size_t errlen);
void xen_teardown(struct domain *dom);
/* Per vCPU: the CPUID table with Xen's leaves, TSC offset and timer. */
int xen_vcpu_setup(struct domain *dom, struct vcpu *vcpu, char *err, size_t errlen);
/* A KVM_EXIT_XEN exit (hypercall intercepted by KVM). */
void xen_handle_kvm_xen_exit(struct vcpu *vcpu);
/* Runs hypercall `nr` for the vCPU with its argument structs in the native (64-bit) layout; returns
 * the value for rax. */
long xen_hypercall_dispatch(struct vcpu *vcpu, uint64_t nr, const uint64_t args[5]);
/* The same for a call made in `compat` (32-bit) mode or not: args already cut to 32 bits by the
 * caller, structs read in Xen's compat layout (compat.h). */
long xen_hypercall_dispatch_mode(struct vcpu *vcpu, uint64_t nr, const uint64_t args[5], bool compat);
/* True if the vCPU's registers say it is in 64-bit mode (EFER.LMA and CS.L), as Xen's
 * hvm_guest_x86_mode() == 8. */
bool xen_vcpu_in_long_mode(const struct vcpu *vcpu);
/* The port path's whole call: arguments from the vCPU's synced registers by its mode (64-bit: rdi,
 * rsi, rdx, r10, r8; otherwise ebx, ecx, edx, esi, edi), the result to rax. */
void xen_hypercall_from_regs(struct vcpu *vcpu);
/* The default case of every multiplexed hypercall: counts (hypercall, sub-op), logs the pair the
 * first time it is seen, and returns -ENOSYS, Xen's answer to a sub-op it does not know.  Any thread,
 * with or without xen.lock. */
long xen_unknown_subop(struct vcpu *vcpu, unsigned int hypercall, uint64_t subop);
/* The same for a family where Xen answers a DomU's unknown sub-ops otherwise (console_io: -EPERM,
 * XSM refusing before the command is looked at); returns `answer`. */
long xen_unknown_subop_answer(struct vcpu *vcpu, unsigned int hypercall, uint64_t subop, long answer);
/* How often (hypercall, sub-op) was answered by xen_unknown_subop; 0 if never. */
uint64_t xen_unknown_subop_count(struct domain *dom, unsigned int hypercall, uint64_t subop);
/* One log line with the counts, when a domain (or one incarnation of it) ends. */
void xen_log_stats(struct domain *dom);
/* Wakes vCPUs blocked in hypercalls so they see a pause or stop. */
void xen_wake_vcpus(struct domain *dom);

/* ---- Event channels: the Dom0-side API every backend uses (evtchn.c) ---- */
/* Binds guest port `port` (which must be unbound for Dom0) to a Dom0 service; port 0 allocates a new
 * one, already bound.  Returns the port or -XEN_errno. */
int evtchn_dom0_bind(struct domain *dom, evtchn_port_t port, evtchn_dom0_fn fn, void *opaque);
/* Undoes evtchn_dom0_bind: the guest's port goes back to unbound (as when Xen's remote end
 * closes), and once this returns the callback is not running and will not run again, so its
 * opaque may be freed.  Main thread; never from inside a callback. */
void evtchn_dom0_unbind(struct domain *dom, evtchn_port_t port, evtchn_dom0_fn fn, void *opaque);
/* Dom0 notifies the guest on `port`.  Any thread. */
void evtchn_dom0_send(struct domain *dom, evtchn_port_t port);
/* Raises a per-vCPU VIRQ if the guest bound it. Caller holds xen.lock. */
void evtchn_raise_virq_locked(struct domain *dom, unsigned int vcpu, unsigned int virq);
/* True if an event is pending for the vCPU.  Caller holds xen.lock. */
bool evtchn_vcpu_has_pending_locked(struct domain *dom, unsigned int vcpu);
bool evtchn_port_pending_locked(struct domain *dom, evtchn_port_t port);
void evtchn_init_locked(struct domain *dom);

/* ---- Guest RAM given back and taken again (memory_op.c) ---- */
/* Sizes the reservation bitmap by the VM's RAM (xen_init calls it).  0, or -1 with err. */
int xen_reservation_init(struct domain *dom, char *err, size_t errlen);
void xen_reservation_teardown(struct domain *dom);
/* Pages the domain holds now (XENMEM_current_reservation), for info's mem=. */
uint64_t xen_reservation_current(struct domain *dom);
/* xl mem-max: the most pages populate_physmap and increase_reservation may reach.  0, or -1 with
 * why (above the RAM the domain was built with). */
int xen_reservation_set_max(struct domain *dom, uint64_t pages, char *why, size_t len);
/* Save and restore, by page index in memfd order: whether the guest has given page `index` back,
 * and (restore) marking it so, punched, or held again. */
bool xen_reservation_page_out(struct domain *dom, uint64_t index);
void xen_reservation_restore_page(struct domain *dom, uint64_t index, bool out);
/* True if `gfn` is guest RAM the guest has not given back.  Caller holds xen.lock. */
bool xen_gfn_populated_locked(struct domain *dom, uint64_t gfn);

/* ---- vm_assist (vm_assist.c): the hypercall, in hypercall.c's table ---- */
long hcall_vm_assist(struct vcpu *vcpu, const uint64_t args[5]);

/* ---- Time (time.c) ---- */
struct timespec;
uint64_t xen_system_time_ns(const struct domain *dom);
/* From now on system time is the host TSC at `tsc_khz`, continuing from its current value.  Before
 * the vCPUs run (vCPU 0's setup calls it; tests may). */
void xen_time_calibrate(struct domain *dom, uint32_t tsc_khz);
/* A restored domain's time goes on from `stime` (its saved system time): the base is taken anew and
 * each vCPU's TSC offset read again from KVM, where its saved TSC was just loaded.  0, or -1 with err. */
int xen_time_restore(struct domain *dom, uint64_t stime, char *err, size_t errlen);
/* The CLOCK_MONOTONIC instant at which system time reaches `stime` (a past one: long ago, not 0). */
void xen_system_time_to_monotonic(const struct domain *dom, uint64_t stime, struct timespec *ts);
/* Refreshes vcpu_time_info for a vCPU and the wallclock. Caller holds xen.lock. */
void xen_time_update_locked(struct domain *dom, unsigned int vcpu);
int xen_timer_arm_locked(struct domain *dom, unsigned int vcpu);
void xen_time_scale(uint32_t tsc_khz, uint32_t *mul, int8_t *shift);
int xen_time_vcpu_setup(struct domain *dom, struct vcpu *vcpu, char *err, size_t errlen);
void xen_time_vcpu_teardown(struct domain *dom, unsigned int vcpu);

/* ---- shared_info and vcpu_info (shared_info.c) ---- */
int shared_info_place_locked(struct domain *dom, uint64_t gfn);
struct vcpu_info *xen_vcpu_info_locked(struct domain *dom, unsigned int vcpu);
/* The 2-level event arrays in the domain's width, as 32-bit words (port n: bit n % 32 of word n / 32). */
/* Xen's hvm_latch_shinfo_size: the shared pages are in the 32-bit layout from now on, or not. */
void xen_shinfo_latch_locked(struct domain *dom, bool compat);
uint32_t *xen_evtchn_pending_words_locked(struct domain *dom);
uint32_t *xen_evtchn_mask_words_locked(struct domain *dom);
/* A wallclock field of shared_info ("wc_version", "wc_sec", "wc_nsec", "xen_wc_sec_hi") in the width. */
uint32_t *xen_wallclock_word_locked(struct domain *dom, const char *member);
/* Sets `port`'s selector bit in vi (a 32-bit selector of 32-port words for a 32-bit guest), or all. */
void xen_vcpu_info_select_locked(struct domain *dom, struct vcpu_info *vi, unsigned int port);
void xen_vcpu_info_select_all_locked(struct domain *dom, struct vcpu_info *vi);

/* ---- Grant tables: the Dom0-side API (gnttab.c) ---- */
struct grant_mapping {
	struct domain *dom;
	grant_ref_t ref;
	bool readonly;
	void *page;                          /* 4 KiB of guest memory, valid until gnttab_unmap */
};
/* Maps `ref` for `mapper` (0 for Dom0): checks GTF_permit_access, the entry's domid and
 * GTF_readonly, and marks the entry in use.  0 or -XEN_errno (-EINVAL bad ref, -EPERM refused). */
int gnttab_map(struct domain *dom, grant_ref_t ref, domid_t mapper, bool readonly, struct grant_mapping *map);
void gnttab_unmap(struct grant_mapping *map);
/* Puts grant frame `frame` at `gfn` (XENMEM_add_to_physmap): RAM or not, as Xen does.  0 or -XEN_errno
 * (-EINVAL bad frame or gfn beyond the guest's address width, -EPERM a page KVM or our backends
 * keep, -ENOMEM). */
int gnttab_place_frame_locked(struct domain *dom, unsigned int frame, uint64_t gfn);
/* The 4 KiB holding frame `frame`'s entries, or NULL if it is not placed (for a save stream). */
void *gnttab_frame_page_locked(struct domain *dom, unsigned int frame);

#endif
