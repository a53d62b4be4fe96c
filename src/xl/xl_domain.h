/* xl's view of domains: finding one by name or ID in the run directory, one request -> one reply on
 * its control socket, cleaning up after a VMM that died, and spawning a new VMM (docs/vmm-control.md).
 *
 * Environment knobs (for tests and unusual installs):
 *   XENITH_RUNDIR       the run directory (default /run/xenith)
 *   XENITH_VMM          the VMM binary (default: xenith-vmm beside the running xl)
 *   XENITH_KVM_DEVICE   the KVM device xl checks before spawning (default /dev/kvm)
 *   XENITH_SCRIPTS      where bare vif script names are found (vif_config.h)
 *   XENITH_SYSFS_NET    where xl looks for bridges (default /sys/class/net; xl_network.h) */
#ifndef XENITH_XL_DOMAIN_H
#define XENITH_XL_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "lib/rundir.h"
#include "xl/domain_config.h"

#define XL_DOM0_NAME "Domain-0"

/* Everything one xl invocation carries; no global state. */
struct xl_ctx {
	struct rundir rd;
	bool rd_open;            /* rd is valid (xl_ctx_rundir succeeded) */
	bool dryrun;             /* global -N */
};

/* Opens the run directory on first use; prints why not and returns -errno on failure. */
int xl_ctx_rundir(struct xl_ctx *ctx);

/* A domain's state as its VMM reports it (`info`), or the host's for Domain-0. */
struct xl_dominfo {
	unsigned int domid;
	char name[DOMAIN_NAME_MAX + 1];
	uint8_t uuid[16];        /* the VMM's uuid=; has_uuid false when it said none */
	bool has_uuid;
	char type[16];           /* "pvh" unless the VMM says type=... */
	unsigned long mem_mib;
	unsigned int vcpus;
	char state[7];           /* xl's six flags: r b p s c d, '-' when clear */
	double cputime;          /* seconds */
	unsigned long long hypercalls;          /* that reached the VMM */
	unsigned long long unseen_hypercalls;   /* vmcall/vmmcall the host's KVM answered without us */
	/* The balloon: what the guest holds, may hold, and was asked to hold (0: not said). */
	unsigned long long mem_kb, maxmem_kb, target_kb;
	/* A domain whose VMM did not answer `info` (in time, or sensibly): listed all the same, with
	 * the name and ID from the run directory, zeros, state "??????" and why. */
	bool unresponsive;
	pid_t vmm_pid;           /* who serves its control socket; 0 if unknown */
	char problem[256];
};

/* Domain-0's row: the host's memory, CPUs and CPU time, state "r-----" (xl list's first line). */
void xl_dom0_info(struct xl_dominfo *info);

/* Resolves a domain by numeric ID or by name (Domain-0 is ID 0).  0 on success, with the ID and
 * name filled in; -ENOENT if there is no such domain; other -errno on failure. */
int xl_find_domain(struct xl_ctx *ctx, const char *qualifier, unsigned int *domid, char *name,
		   size_t namelen);

/* The domain a command names, by ID or name, with xl's complaints on stderr: 0, or the exit status
 * to return.  With `refuse_dom0` (the verb, as in "cannot <verb> Domain-0") Domain-0 is refused. */
int xl_find_domain_or_complain(struct xl_ctx *ctx, const char *qualifier, const char *refuse_dom0,
			       unsigned int *domid, char *name, size_t namelen);
/* argv[0..argc) joined by commas, as xl takes a device spec given in several words; malloc'd. */
char *xl_join_args(int argc, char **argv);

/* A VMM's list reply (`request`: vif-list, vbd-list), one record per line: each non-blank line is
 * parsed by `parse` into the next `size`-byte record.  0 with *out (malloc'd) and *n; -1 with the bad
 * line and `expected` in err, after `release` (may be NULL) has freed what the parsed records own. */
int xl_reply_parse_lines(const char *text, const char *request, size_t size,
			 int (*parse)(char *line, void *record), void (*release)(void *records, size_t n),
			 const char *expected, void **out, size_t *n, char *err, size_t errlen);

/* A device command's request: "<request> <spec>" to the domain's VMM, printed instead under -N;
 * failures are explained with `what` ("attach a network device to").  Returns the exit status. */
int xl_device_request(struct xl_ctx *ctx, unsigned int domid, const char *name, const char *qualifier,
		      const char *request, const char *spec, const char *what, int timeout_ms);

/* Sends one request to domain `domid`'s control socket and waits up to timeout_ms for its reply.
 * 0: the VMM said ok; reply holds the text after "ok " ("" if none).
 * -ESRCH: the domain is gone (no directory or socket, or nobody listening: then its directory is
 *         removed, as the VMM that owned it is dead).
 * other -errno: the VMM's own error (its errno name mapped back) or a socket failure; reply holds
 *         the message. */
int xl_domain_request(struct xl_ctx *ctx, unsigned int domid, const char *request, int timeout_ms,
		      char *reply, size_t len);

/* xl_domain_request that also gives the pid serving the control socket (SO_PEERCRED; 0 if it
 * could not connect), for `xl destroy` to fall back on. */
int xl_domain_call(struct xl_ctx *ctx, unsigned int domid, const char *request, int timeout_ms,
		   char *reply, size_t len, pid_t *vmm_pid);

/* `info` for a domain (domid >= 1), parsed.  Same returns as xl_domain_request; `name` is the one
 * in the run directory. */
int xl_domain_info(struct xl_ctx *ctx, unsigned int domid, const char *name, struct xl_dominfo *info,
		   char *err, size_t errlen);

/* `info` for n domains at once, all within timeout_ms (XL_LIST_MS).  results[i] is as
 * xl_domain_info's return; a domain that did not answer (or answered nonsense) has its infos[i]
 * filled from the run directory with `unresponsive` set and the reason in `problem`.  Domains
 * whose VMM is dead are reaped (results[i] == -ESRCH). */
void xl_domain_info_all(struct xl_ctx *ctx, const struct rundir_domain *doms, size_t n,
			struct xl_dominfo *infos, int *results, int timeout_ms);

/* Removes what domain domid left (xl_reap_domain: xenstore nodes, domains/<domid>) if its VMM is
 * gone (its socket refuses connections).  Returns true if the domain is gone afterwards (removed
 * now or already), false if a VMM still listens. */
bool xl_domain_reap_if_dead(struct xl_ctx *ctx, unsigned int domid);

/* Waits until domains/<domid> has gone (reaping it if its VMM died without cleaning up).  0, or
 * -ETIMEDOUT after timeout_ms. */
int xl_domain_wait_gone(struct xl_ctx *ctx, unsigned int domid, int timeout_ms);
/* The same, waking as soon as vmm_pid (if > 0) exits instead of at the next 20 ms tick. */
int xl_domain_wait_gone_of(struct xl_ctx *ctx, unsigned int domid, pid_t vmm_pid, int timeout_ms);

/* `xl destroy` of domain domid (>= 1) called `name`: the VMM's destroy, waiting (bounded) for its
 * directory and process to go, else SIGKILL to its own xenith-vmm and its leftovers reaped.  0 (also
 * when it was already gone), or -1 with why in err. */
int xl_domain_destroy(struct xl_ctx *ctx, unsigned int domid, const char *name, char *err,
		      size_t errlen);

/* The KVM device xl checks: $XENITH_KVM_DEVICE or /dev/kvm. */
const char *xl_kvm_device(void);
/* 0 if the KVM device opens read-write; else -1 with a message saying what is needed. */
int xl_check_kvm(char *err, size_t errlen);

/* Starts a VMM for `dc`, detached (double fork, setsid, stdin /dev/null, output appended to
 * log/vmm-<name>.log), and waits up to XL_READY_MS for its ready line.  0 with *domid set; -1 with
 * the message (the VMM's own `error` text, or why it could not start or did not answer) in err; or
 * the number of a signal (SIGINT, SIGTERM, SIGHUP) that interrupted the wait, with err saying so.
 * Whenever it does not return 0, the VMM has been stopped (SIGTERM, then SIGKILL) and everything
 * it made removed. */
int xl_domain_spawn(struct xl_ctx *ctx, const struct domain_config *dc, bool paused,
		    unsigned int *domid, char *err, size_t errlen);

/* xl_domain_spawn for a saved domain (`xl restore`, `xl migrate-receive`): the VMM gets
 * `--restore-fd` with restore_fd (positioned after the stream's CONFIG record, kept open across
 * exec) and reads the rest of the stream; no kernel is loaded, so its file need not exist here.
 * The ready line, `ok <domid>` with the domain built and paused, may take up to ready_ms. */
int xl_domain_spawn_restore(struct xl_ctx *ctx, const struct domain_config *dc, int restore_fd,
			    int ready_ms, unsigned int *domid, char *err, size_t errlen);

/* `xl create` after its config is parsed and resolved (domain_config_resolve_vifs/_disks): gives
 * dc a uuid if it has none, checks the bridges, the KVM device, that the name and the disks are
 * free, then xl_domain_spawn.  Returns as xl_domain_spawn does: 0 with *domid, -1 with the message
 * in err (left empty only when the run directory could not be opened: xl_ctx_rundir printed why on
 * stderr), or a signal number. */
int xl_domain_create(struct xl_ctx *ctx, struct domain_config *dc, bool paused, unsigned int *domid,
		     char *err, size_t errlen);
/* xl_domain_create's checks alone, nothing made: 0, or -1 with why in err (empty when the run
 * directory could not be opened: said on stderr). */
int xl_domain_create_check(struct xl_ctx *ctx, struct domain_config *dc, char *err, size_t errlen);
/* The same checks (but the kernel's), then xl_domain_spawn_restore: `xl restore` and
 * `xl migrate-receive` after reading the stream's CONFIG record.  Returns as xl_domain_create. */
int xl_domain_create_restore(struct xl_ctx *ctx, struct domain_config *dc, int restore_fd,
			     int ready_ms, unsigned int *domid, char *err, size_t errlen);

/* The config domain domid was started with, which xl_domain_spawn hands its VMM (--config) to keep
 * as domains/<domid>/config (xl.cfg text, 0600, gone with the directory), parsed into *dc (to be
 * freed with domain_config_free; its paths are absolute, vifs and disks as resolved at start).
 * 0; -ENOENT when the domain has none (or is gone); -EINVAL when it does not parse; err says why. */
int xl_domain_saved_config(struct xl_ctx *ctx, unsigned int domid, struct domain_config *dc,
			   char *err, size_t errlen);

#endif
