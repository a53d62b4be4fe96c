/* remote_protocol.x's shared types: remote_nonnull_domain and remote_typed_param lists, with the
 * bounds the .x gives them. */
#ifndef XENITH_VIRT_REMOTE_TYPES_H
#define XENITH_VIRT_REMOTE_TYPES_H
#include <libvirt/libvirt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "libvirt/virt_domains.h"
#include "libvirt/xdr.h"

/* remote_nonnull_domain: a client names a domain by all three; the server looks up by UUID (then
 * name), as libvirt's drivers do. */
struct remote_domain {
	char *name;                  /* malloc'd */
	uint8_t uuid[16];
	int32_t id;
};

/* Reads one; 0, or -1 with r failed (name NULL). */
int remote_domain_get(struct xdr_reader *r, struct remote_domain *dom);
void remote_domain_free(struct remote_domain *dom);
void remote_domain_put(struct xdr_writer *w, const char *name, const uint8_t uuid[16], int32_t id);
/* A virt_dom as the client will see it (id -1 when it is not running). */
void remote_domain_put_dom(struct xdr_writer *w, const struct virt_dom *dom);

/* remote_typed_param: field, then a union on virTypedParameterType. */
struct remote_typed_param {
	char field[VIR_TYPED_PARAM_FIELD_LENGTH];
	int type;                    /* VIR_TYPED_PARAM_* */
	union {
		int32_t i;
		uint32_t ui;
		int64_t l;
		uint64_t ul;
		double d;
		int32_t b;
		char *s;             /* malloc'd for a decoded list */
	} value;
};

/* A list of at most max params (the procedure's REMOTE_..._PARAMETERS_MAX); 0 with *out (free with
 * remote_typed_params_free) and *n, or -1 with r failed (a field too long, an unknown type, too
 * many). */
int remote_typed_params_get(struct xdr_reader *r, uint32_t max, struct remote_typed_param **out,
			    size_t *n);
void remote_typed_params_put(struct xdr_writer *w, const struct remote_typed_param *p, size_t n);
void remote_typed_params_free(struct remote_typed_param *p, size_t n);
#endif
