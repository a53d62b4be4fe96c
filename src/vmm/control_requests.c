/* The control socket's requests (docs/vmm-control.md): one row each, a handler per row.  A new
 * request is a function and a row here, and a line in the doc's table (test_vmm_control_doc
 * checks that the two agree).  Reply texts are what xl and the system tests match, byte for byte. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backends/pv_backend.h"
#include "lib/uuid.h"
#include "vmm/balloon_watch.h"
#include "vmm/control.h"
#include "vmm/domain.h"
#include "hw/piix4_pm.h"
#include "vmm/save.h"
#include "vmm/sched.h"

static enum control_outcome info_request(struct control_call *c)
{
	struct domain *dom = c->dom;
	char flags[7];

	domain_state_flags(dom, flags);
	/* mem= follows the balloon: the pages the guest holds now, as Xen's tot_pages. */
	uint64_t pages = xen_reservation_current(dom);
	pthread_mutex_lock(&dom->xen.lock);
	uint64_t max_pages = dom->xen.reservation.max_pages;
	pthread_mutex_unlock(&dom->xen.lock);
	char uuid[UUID_TEXT_LEN], exits[64] = "";
	uuid_format(dom->params->uuid, uuid);
	/* Exits: KVM's count of all (where it keeps binary stats) and those that reached us. */
	uint64_t user_exits = 0, kvm_exits = 0;
	bool kvm_known = dom->n_vcpus > 0;
	for (unsigned int i = 0; i < dom->n_vcpus; i++) {
		uint64_t v = 0;
		user_exits += __atomic_load_n(&dom->vcpus[i].user_exits, __ATOMIC_RELAXED);
		if (dom->vcpus[i].kvm_exits_known && kvm_stat_counter_read(&dom->vcpus[i].kvm_exits, &v))
			kvm_exits += v;
		else
			kvm_known = false;
	}
	if (kvm_known)
		snprintf(exits, sizeof(exits), " exits=%llu", (unsigned long long)kvm_exits);
	snprintf(c->reply, c->len, "ok domid=%d name=%s mem=%llu vcpus=%u state=%s cputime=%.3f "
		 "hypercalls=%llu unseen_hypercalls=%llu mem_kb=%llu maxmem_kb=%llu target_kb=%llu "
		 "uuid=%s type=%s user_exits=%llu%s",
		 dom->domid, dom->params->name, (unsigned long long)(pages >> 8),
		 domain_vcpus_online(dom), flags, domain_cpu_seconds(dom),
		 (unsigned long long)vcpu_watch_seen(dom),
		 (unsigned long long)vcpu_watch_unseen(dom), (unsigned long long)pages * 4,
		 (unsigned long long)max_pages * 4, (unsigned long long)balloon_watch_target_kb(dom), uuid,
		 dom->hvm ? "hvm" : "pvh", (unsigned long long)user_exits, exits);
	return CONTROL_REPLY;
}

static enum control_outcome pause_request(struct control_call *c)
{
	domain_pause(c->dom);
	snprintf(c->reply, c->len, "ok");
	return CONTROL_REPLY;
}

static enum control_outcome unpause_request(struct control_call *c)
{
	domain_unpause(c->dom);
	snprintf(c->reply, c->len, "ok");
	return CONTROL_REPLY;
}

/* xl trigger: what a PC's buttons and pins do.  power: the ACPI power button (an HVM domain's
 * PIIX4 PM raises PWRBTN and its SCI); reset: the reset line, the domain's on_reboot; nmi: an NMI
 * into a vCPU (vcpu.c injects it before its next entry). */
static enum control_outcome trigger_request(struct control_call *c)
{
	const char *what = control_next_word(c, " \n"), *vcpu_word = control_next_word(c, " \n");
	char *end = NULL;
	unsigned long vcpu = vcpu_word ? strtoul(vcpu_word, &end, 10) : 0;

	if (!what || (vcpu_word && (*end || vcpu >= c->dom->n_vcpus))) {
		snprintf(c->reply, c->len, "error EINVAL usage: trigger nmi|reset|init|power|sleep|s3resume "
			 "[VCPU below %u]", c->dom->n_vcpus);
		return CONTROL_REPLY;
	}
	if (!strcmp(what, "power")) {
		if (!c->dom->hvm) {
			snprintf(c->reply, c->len, "error ENOTSUP a PVH domain has no ACPI power button; use xl "
				 "shutdown");
			return CONTROL_REPLY;
		}
		piix4_pm_power_button(c->dom);
	} else if (!strcmp(what, "reset")) {
		domain_shutdown(c->dom, SHUTDOWN_reboot);
	} else if (!strcmp(what, "nmi")) {
		vcpu_inject_nmi(&c->dom->vcpus[vcpu]);
	} else if (!strcmp(what, "init") || !strcmp(what, "sleep") || !strcmp(what, "s3resume")) {
		snprintf(c->reply, c->len, "error ENOTSUP trigger %s is not supported yet", what);
		return CONTROL_REPLY;
	} else {
		snprintf(c->reply, c->len, "error EINVAL unknown trigger '%.32s' (nmi, reset, init, power, "
			 "sleep, s3resume)", what);
		return CONTROL_REPLY;
	}
	snprintf(c->reply, c->len, "ok");
	return CONTROL_REPLY;
}

static enum control_outcome destroy_request(struct control_call *c)
{
	c->destroy = true;
	snprintf(c->reply, c->len, "ok");
	return CONTROL_REPLY;
}

/* Dom0 looking at a guest's grant through the same API backends use: `grant-read REF LEN` answers
 * the bytes (non-printing ones as \\xNN), `grant-write REF TEXT` stores TEXT at the page's start. */
static enum control_outcome grant_request(struct control_call *c)
{
	char *ref_s = control_next_word(c, " "), *arg = control_next_word(c, "");
	bool write = !strcmp(c->request->name, "grant-write");
	struct grant_mapping map;
	char *end, *reply = c->reply;
	size_t len = c->len;
	unsigned long ref = ref_s ? strtoul(ref_s, &end, 10) : 0;

	if (!ref_s || *end || !arg) {
		snprintf(reply, len, "error EINVAL usage: %s", c->request->usage);
		return CONTROL_REPLY;
	}
	int r = gnttab_map(c->dom, (grant_ref_t)ref, 0, !write, &map);
	if (r) {
		snprintf(reply, len, "error %s grant %lu refused for Dom0 %s (%d)", r == -XEN_EPERM ? "EPERM" : "EINVAL",
			 ref, write ? "writing" : "reading", r);
		return CONTROL_REPLY;
	}
	if (write) {
		size_t n = strlen(arg) + 1;
		memcpy(map.page, arg, n < 4096 ? n : 4096);
		snprintf(reply, len, "ok");
	} else {
		unsigned long want = strtoul(arg, NULL, 10);
		size_t at = (size_t)snprintf(reply, len, "ok ");
		const uint8_t *p = map.page;
		for (unsigned long i = 0; i < want && i < 4096 && at + 5 < len; i++) {
			if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\\')
				reply[at++] = (char)p[i];
			else
				at += (size_t)snprintf(reply + at, len - at, "\\x%02x", p[i]);
		}
		reply[at] = '\0';
	}
	gnttab_unmap(&map);
	return CONTROL_REPLY;
}

/* <type>-attach SPEC | <type>-detach DEVID | <type>-list [stats] for every PV backend type: the
 * backend table (backends/pv_backends.c) serves them, so a new type needs no row here. */
static enum control_outcome device_request(struct control_call *c)
{
	char *arg = control_next_word(c, "\n");

	return pv_backend_request(c->dom, c->name, arg, c->reply, c->len, control_reply_later, c->conn) ?
	       CONTROL_DEFERRED : CONTROL_REPLY;
}

/* One line per vCPU: `vcpu=I cpu=C state=S time=SECONDS hard=LIST soft=LIST` (cpu -1 and state p
 * while its thread does not run).  Lines that would not fit the reply are left out whole. */
static enum control_outcome vcpu_list_request(struct control_call *c)
{
	struct domain *dom = c->dom;
	size_t at = (size_t)snprintf(c->reply, c->len, "ok");

	for (unsigned int i = 0; i < dom->n_vcpus && dom->sched; i++) {
		struct vcpu_sched_info info;
		char hard[512], soft[512], line[1200];

		domain_sched_vcpu_info(dom->sched, i, dom->vcpus[i].thread_started, &info);
		domain_sched_affinity_text(dom->sched, i, hard, soft, sizeof(hard));
		int n = snprintf(line, sizeof(line), "\nvcpu=%u cpu=%d state=%c time=%.3f hard=%s soft=%s", i,
				 info.cpu, info.state, info.cpu_seconds, hard, soft);
		if (n < 0 || at + (size_t)n >= c->len)
			break;
		memcpy(c->reply + at, line, (size_t)n + 1);
		at += (size_t)n;
	}
	return CONTROL_REPLY;
}

/* `vcpu-pin VCPU|all HARD [SOFT]`: "-" leaves an affinity as it is, as xl's vcpu-pin does. */
static enum control_outcome vcpu_pin_request(struct control_call *c)
{
	char *vcpu = control_next_word(c, " "), *hard_s = control_next_word(c, " "),
	     *soft_s = control_next_word(c, " "), *extra = control_next_word(c, " ");
	struct cpumap hard, soft;
	char why[512], *end;
	long id = -1;

	if (!vcpu || !hard_s || extra) {
		snprintf(c->reply, c->len, "error EINVAL usage: %s", c->request->usage);
		return CONTROL_REPLY;
	}
	if (strcmp(vcpu, "all")) {
		errno = 0;
		id = strtol(vcpu, &end, 10);
		if (errno || *end || end == vcpu || id < 0 || id >= DOMAIN_MAX_VCPUS) {
			snprintf(c->reply, c->len, "error EINVAL '%s' is not a vCPU (a number or all)", vcpu);
			return CONTROL_REPLY;
		}
	}
	bool set_hard = strcmp(hard_s, "-"), set_soft = soft_s && strcmp(soft_s, "-");
	if ((set_hard && cpumap_parse(hard_s, &hard, why, sizeof(why))) ||
	    (set_soft && cpumap_parse(soft_s, &soft, why, sizeof(why)))) {
		snprintf(c->reply, c->len, "error EINVAL %s", why);
		return CONTROL_REPLY;
	}
	if (!c->dom->sched || domain_sched_pin(c->dom->sched, (int)id, c->dom->n_vcpus, set_hard ? &hard : NULL,
					       set_soft ? &soft : NULL, why, sizeof(why)))
		snprintf(c->reply, c->len, "error EINVAL %s", c->dom->sched ? why : "no placement state");
	else
		snprintf(c->reply, c->len, "ok");
	return CONTROL_REPLY;
}

/* `sched-credit [weight=W] [cap=C]`: sets what is given, then answers the domain's
 * `weight=W cap=C cgroup=PATH`, or `weight=W cap=C unenforced=WHY` on a host without cgroup cpu
 * control (where setting either is ENOTSUP). */
static enum control_outcome sched_credit_request(struct control_call *c)
{
	long weight = -1, cap = -1;
	char *word, *end, why[1024];
	unsigned int w, k;

	while ((word = control_next_word(c, " "))) {
		long *into = !strncmp(word, "weight=", 7) ? &weight : !strncmp(word, "cap=", 4) ? &cap : NULL;
		const char *num = into ? strchr(word, '=') + 1 : NULL;
		errno = 0;
		if (into)
			*into = strtol(num, &end, 10);
		if (!into || errno || end == num || *end || *into < 0 || *into > 65535) {
			snprintf(c->reply, c->len, "error EINVAL '%s': usage: %s (numbers 0 to 65535)", word,
				 c->request->usage);
			return CONTROL_REPLY;
		}
	}
	if (!c->dom->sched) {
		snprintf(c->reply, c->len, "error ENOTSUP no scheduling state");
		return CONTROL_REPLY;
	}
	if (weight >= 0 || cap >= 0) {
		int r = domain_sched_set(c->dom->sched, (int)weight, (int)cap, why, sizeof(why));
		if (r) {
			snprintf(c->reply, c->len, "error %s %s", r == -ENOTSUP ? "ENOTSUP" : r == -EIO ? "EIO" : "EINVAL",
				 why);
			return CONTROL_REPLY;
		}
	}
	bool enforced = domain_sched_get(c->dom->sched, &w, &k, why, sizeof(why));
	snprintf(c->reply, c->len, "ok weight=%u cap=%u %s=%s", w, k, enforced ? "cgroup" : "unenforced", why);
	return CONTROL_REPLY;
}

/* `mem-max KIB`: the domain's maximum reservation (xl mem-max), at most the RAM it was built with;
 * answers `maxmem_kb=K mem_kb=K` (the new maximum and what the guest holds now). */
static enum control_outcome mem_max_request(struct control_call *c)
{
	char *kib_s = control_next_word(c, " "), *extra = control_next_word(c, " "), *end, why[256];
	unsigned long long kib;

	errno = 0;
	kib = kib_s ? strtoull(kib_s, &end, 10) : 0;
	if (!kib_s || extra || errno || end == kib_s || *end || kib / 4 > UINT64_MAX >> 12) {
		snprintf(c->reply, c->len, "error EINVAL usage: %s (KiB)", c->request->usage);
		return CONTROL_REPLY;
	}
	if (xen_reservation_set_max(c->dom, kib / 4, why, sizeof(why))) {
		snprintf(c->reply, c->len, "error EINVAL %s", why);
		return CONTROL_REPLY;
	}
	snprintf(c->reply, c->len, "ok maxmem_kb=%llu mem_kb=%llu", kib / 4 * 4,
		 (unsigned long long)xen_reservation_current(c->dom) * 4);
	return CONTROL_REPLY;
}

static const struct control_request device_requests = {
	"<type>-attach|-detach|-list", "<type>-attach SPEC", "the PV backend table's requests",
	device_request, CONTROL_MAY_DEFER,
};

static const struct control_request requests[] = {
	{ "info", "info", "the domain's ID, name, memory, vCPUs, state and counters", info_request, 0 },
	{ "pause", "pause", "stops all vCPUs", pause_request, 0 },
	{ "unpause", "unpause", "resumes them", unpause_request, 0 },
	{ "destroy", "destroy", "tears the domain down; the VMM exits after replying", destroy_request, 0 },
	{ "grant-read", "grant-read REF LEN", "reads a granted page as Dom0", grant_request, 0 },
	{ "grant-write", "grant-write REF TEXT", "writes TEXT to a granted page as Dom0", grant_request, 0 },
	{ "vcpu-list", "vcpu-list", "each vCPU's host CPU, state, time and affinities", vcpu_list_request, 0 },
	{ "vcpu-pin", "vcpu-pin VCPU HARD [SOFT]", "sets vCPU affinities", vcpu_pin_request, 0 },
	{ "sched-credit", "sched-credit [weight=W] [cap=C]", "reads or sets the credit weight and cap",
	  sched_credit_request, 0 },
	{ "mem-max", "mem-max KIB", "sets the maximum reservation (xl mem-max)", mem_max_request, 0 },
	{ "save", "save [live] [debug]", "writes the domain to the stream sent with the request, leaving it "
	  "suspended", save_request, CONTROL_MAY_DEFER },
	{ "resume", "resume", "lets a suspended domain run on (its suspend cancelled)", resume_request, 0 },
	{ "trigger", "trigger WHAT [VCPU]", "presses a button: power, reset, nmi (xl trigger)", trigger_request, 0 },
};

const struct control_request *control_device_request(const char *name)
{
	return pv_backend_handles(name) ? &device_requests : NULL;
}

const struct control_request *control_requests(size_t *n)
{
	*n = sizeof(requests) / sizeof(requests[0]);
	return requests;
}
