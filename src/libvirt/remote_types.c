/* remote_protocol.x's shared types (remote_types.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvirt/remote_types.h"
#include "libvirt/rpc.h"

int remote_domain_get(struct xdr_reader *r, struct remote_domain *dom)
{
	memset(dom, 0, sizeof(*dom));
	dom->name = xdr_get_string(r, REMOTE_STRING_MAX);
	xdr_get_fixed(r, dom->uuid, sizeof(dom->uuid));
	dom->id = xdr_get_i32(r);
	if (r->failed) {
		free(dom->name);
		dom->name = NULL;
		return -1;
	}
	return 0;
}

void remote_domain_free(struct remote_domain *dom)
{
	free(dom->name);
	dom->name = NULL;
}

void remote_domain_put(struct xdr_writer *w, const char *name, const uint8_t uuid[16], int32_t id)
{
	xdr_put_string(w, name);
	xdr_put_fixed(w, uuid, 16);
	xdr_put_i32(w, id);
}

void remote_domain_put_dom(struct xdr_writer *w, const struct virt_dom *dom)
{
	remote_domain_put(w, dom->name, dom->uuid, dom->id);
}

static void reader_fail(struct xdr_reader *r, const char *why)
{
	if (!r->failed)
		snprintf(r->why, sizeof(r->why), "%s", why);
	r->failed = true;
}

static uint64_t double_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return u;
}

static double bits_double(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

void remote_typed_params_free(struct remote_typed_param *p, size_t n)
{
	if (!p)
		return;
	for (size_t i = 0; i < n; i++)
		if (p[i].type == VIR_TYPED_PARAM_STRING)
			free(p[i].value.s);
	free(p);
}

static void get_one(struct xdr_reader *r, struct remote_typed_param *p)
{
	char *field = xdr_get_string(r, VIR_TYPED_PARAM_FIELD_LENGTH - 1);

	if (field)
		strcpy(p->field, field);
	free(field);
	p->type = xdr_get_i32(r);
	switch (p->type) {
	case VIR_TYPED_PARAM_INT:
		p->value.i = xdr_get_i32(r);
		break;
	case VIR_TYPED_PARAM_UINT:
		p->value.ui = xdr_get_u32(r);
		break;
	case VIR_TYPED_PARAM_LLONG:
		p->value.l = xdr_get_i64(r);
		break;
	case VIR_TYPED_PARAM_ULLONG:
		p->value.ul = xdr_get_u64(r);
		break;
	case VIR_TYPED_PARAM_DOUBLE:
		p->value.d = bits_double(xdr_get_u64(r));
		break;
	case VIR_TYPED_PARAM_BOOLEAN:
		p->value.b = xdr_get_i32(r);
		break;
	case VIR_TYPED_PARAM_STRING:
		p->value.s = xdr_get_string(r, REMOTE_STRING_MAX);
		break;
	default:
		/* An arm the union does not have: nothing more can be read safely. */
		reader_fail(r, "typed parameter of an unknown type");
		p->type = 0;
		break;
	}
}

int remote_typed_params_get(struct xdr_reader *r, uint32_t max, struct remote_typed_param **out,
			    size_t *n)
{
	uint32_t count = xdr_get_count(r, max);
	struct remote_typed_param *p;

	*out = NULL;
	*n = 0;
	if (r->failed)
		return -1;
	p = calloc(count ? count : 1, sizeof(*p));
	if (!p) {
		reader_fail(r, "out of memory for typed parameters");
		return -1;
	}
	for (uint32_t i = 0; i < count && !r->failed; i++)
		get_one(r, &p[i]);
	if (r->failed) {
		remote_typed_params_free(p, count);
		return -1;
	}
	*out = p;
	*n = count;
	return 0;
}

void remote_typed_params_put(struct xdr_writer *w, const struct remote_typed_param *p, size_t n)
{
	xdr_put_u32(w, (uint32_t)n);
	for (size_t i = 0; i < n; i++) {
		xdr_put_string(w, p[i].field);
		xdr_put_i32(w, p[i].type);
		switch (p[i].type) {
		case VIR_TYPED_PARAM_INT:
			xdr_put_i32(w, p[i].value.i);
			break;
		case VIR_TYPED_PARAM_UINT:
			xdr_put_u32(w, p[i].value.ui);
			break;
		case VIR_TYPED_PARAM_LLONG:
			xdr_put_i64(w, p[i].value.l);
			break;
		case VIR_TYPED_PARAM_ULLONG:
			xdr_put_u64(w, p[i].value.ul);
			break;
		case VIR_TYPED_PARAM_DOUBLE:
			xdr_put_u64(w, double_bits(p[i].value.d));
			break;
		case VIR_TYPED_PARAM_BOOLEAN:
			xdr_put_i32(w, p[i].value.b);
			break;
		case VIR_TYPED_PARAM_STRING:
			xdr_put_string(w, p[i].value.s);
			break;
		default:
			w->failed = true;
			break;
		}
	}
}
