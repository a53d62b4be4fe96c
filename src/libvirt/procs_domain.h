/* What the domain procedures (procs_domain*.c) share: the remote_nonnull_domain they take and
 * give, the lookup that turns one into the model's domain (virt_domains.h), libvirt's error codes
 * and texts for what went wrong, and the flag checks every libvirt driver makes.  Internal to
 * those files; procs.c sees only the table. */
#ifndef XENITH_PROCS_DOMAIN_H
#define XENITH_PROCS_DOMAIN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "libvirt/virt_domains.h"
#include "libvirt/virt_proc.h"
#include "libvirt/xdr.h"

/* remote_protocol.x's limits on what a client may send or ask for. */
#define PD_STRING_MAX        4194304u   /* REMOTE_STRING_MAX */
#define PD_DOMAIN_LIST_MAX   16384u     /* REMOTE_DOMAIN_LIST_MAX */
#define PD_CPUMAP_MAX        2048u      /* REMOTE_CPUMAP_MAX */
#define PD_VCPUINFO_MAX      16384u     /* REMOTE_VCPUINFO_MAX */
#define PD_CPUMAPS_MAX       8388608u   /* REMOTE_CPUMAPS_MAX */
#define PD_SCHED_PARAMS_MAX  16u        /* REMOTE_DOMAIN_SCHEDULER_PARAMETERS_MAX */

/* The host the daemon serves. */
struct virt_host *pd_host(struct virt_call *call);

/* Sets call's error with libvirt's text for `code` before the message ("Domain not found: ...",
 * "Requested operation is not valid: ...") as libvirt's own drivers word it; returns -1. */
int pd_fail(struct virt_call *call, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A model call's -errno and message as libvirt's code (-ENOENT: no domain, -EEXIST: operation
 * invalid, -ENOTSUP: unsupported, ...); returns -1. */
int pd_model_fail(struct virt_call *call, int rc, const char *err);
/* A failed domxml_parse (DOMXML_ERR_XML / DOMXML_ERR_UNSUPPORTED) as VIR_ERR_XML_ERROR or
 * VIR_ERR_CONFIG_UNSUPPORTED; returns -1. */
int pd_domxml_fail(struct virt_call *call, int rc, const char *err);
/* The args were short, too long or had bytes left over: VIR_ERR_RPC; returns -1. */
int pd_args_fail(struct virt_call *call);
/* 0 when the args decoded whole, else pd_args_fail. */
int pd_args_done(struct virt_call *call);
/* virCheckFlags: bits outside `allowed` are VIR_ERR_INVALID_ARG naming the API; 0 or -1. */
int pd_check_flags(struct virt_call *call, unsigned int flags, unsigned int allowed, const char *api);

/* remote_nonnull_domain (remote_types.h). */
void pd_put_dom(struct xdr_writer *w, const struct virt_dom *dom);
/* Reads a remote_nonnull_domain and finds it (by UUID as libvirt's drivers do, then by name for a
 * domain whose UUID the client could not know): 0, or -1 with VIR_ERR_NO_DOMAIN set. */
int pd_get_dom(struct virt_call *call, struct virt_dom *dom);
/* pd_get_dom, then the args are complete: for procedures whose only argument is the domain. */
int pd_get_dom_only(struct virt_call *call, struct virt_dom *dom);
/* Running domains only ("domain is not running"): 0 or -1. */
int pd_need_active(struct virt_call *call, const struct virt_dom *dom);

/* virDomainModificationImpact: CURRENT becomes LIVE for a running domain, CONFIG otherwise; LIVE
 * needs a running domain and CONFIG a persistent one.  0 with *live and *config set, or -1. */
int pd_affect(struct virt_call *call, const struct virt_dom *dom, unsigned int flags, bool *live,
	      bool *config);

/* The domain's configuration (virt_domain_config): 0 with *dc (free it), or -1 with the error. */
int pd_config(struct virt_call *call, const struct virt_dom *dom, struct domain_config *dc);
/* The configuration a running domain runs with (virt_domain_live_config), else as pd_config. */
int pd_live_config(struct virt_call *call, const struct virt_dom *dom, struct domain_config *dc);
/* The definition of a persistent domain, changed by `edit` and stored again (for CONFIG changes
 * the model does not make itself).  `edit` returns 0 or sets the call's error and returns -1. */
int pd_edit_definition(struct virt_call *call, const struct virt_dom *dom,
		       int (*edit)(struct virt_call *call, struct domain_config *dc, const void *arg),
		       const void *arg);

/* The table (procs_domain.c, ended by a row without a name, as procs.c gathers tables) and the
 * handlers of the other parts it lists: lifecycle (procs_domain_life.c), XML, definitions and
 * devices (procs_domain_xml.c), resources (procs_domain_res.c). */
extern const struct virt_proc virt_procs_domain[];
/* procs_domain_life.c */
int pd_serve_create(struct virt_call *call);
int pd_serve_create_with_flags(struct virt_call *call);
int pd_serve_create_xml(struct virt_call *call);
int pd_serve_action(struct virt_call *call);
int pd_serve_no_save(struct virt_call *call);
int pd_serve_no_migrate(struct virt_call *call);
/* procs_domain_xml.c */
int pd_serve_get_xml_desc(struct virt_call *call);
int pd_serve_define_xml(struct virt_call *call);
int pd_serve_define_xml_flags(struct virt_call *call);
int pd_serve_undefine(struct virt_call *call);
int pd_serve_undefine_flags(struct virt_call *call);
int pd_serve_xml_from_native(struct virt_call *call);
int pd_serve_xml_to_native(struct virt_call *call);
int pd_serve_attach_device(struct virt_call *call);
int pd_serve_attach_device_flags(struct virt_call *call);
int pd_serve_detach_device(struct virt_call *call);
int pd_serve_detach_device_flags(struct virt_call *call);
int pd_serve_interface_addresses(struct virt_call *call);
/* procs_domain_res.c */
int pd_serve_set_memory_any(struct virt_call *call);
int pd_serve_set_vcpus_any(struct virt_call *call);
int pd_serve_get_vcpus_flags(struct virt_call *call);
int pd_serve_get_vcpus(struct virt_call *call);
int pd_serve_get_vcpu_pin_info(struct virt_call *call);
int pd_serve_pin_vcpu_any(struct virt_call *call);
int pd_serve_get_scheduler_type(struct virt_call *call);
int pd_serve_get_scheduler_any(struct virt_call *call);
int pd_serve_set_scheduler_any(struct virt_call *call);
#endif
