/* libvirt's RPC framing and its error payload (rpc.h). */
#include <libvirt/virterror.h>
#include <stdlib.h>
#include <string.h>

#include "lib/error.h"
#include "libvirt/rpc.h"

long rpc_frame_length(const uint8_t *buf, size_t len, char *why, size_t whylen)
{
	uint32_t n;

	if (len < RPC_LEN_BYTES)
		return 0;
	n = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	if (n < RPC_LEN_BYTES + RPC_HEADER_BYTES) {
		ERR_SET(why, whylen, "message length %u is shorter than its header", n);
		return -1;
	}
	if (n > RPC_LEN_BYTES + RPC_MESSAGE_MAX) {
		ERR_SET(why, whylen, "message length %u exceeds the maximum %u", n,
			RPC_LEN_BYTES + RPC_MESSAGE_MAX);
		return -1;
	}
	return (long)n;
}

int rpc_header_decode(struct xdr_reader *r, struct rpc_header *h)
{
	h->prog = xdr_get_u32(r);
	h->vers = xdr_get_u32(r);
	h->proc = xdr_get_i32(r);
	h->type = xdr_get_u32(r);
	h->serial = xdr_get_u32(r);
	h->status = xdr_get_u32(r);
	return r->failed ? -1 : 0;
}

void rpc_header_encode(struct xdr_writer *w, const struct rpc_header *h)
{
	xdr_put_u32(w, h->prog);
	xdr_put_u32(w, h->vers);
	xdr_put_i32(w, h->proc);
	xdr_put_u32(w, h->type);
	xdr_put_u32(w, h->serial);
	xdr_put_u32(w, h->status);
}

void rpc_frame_begin(struct xdr_writer *w, const struct rpc_header *h)
{
	xdr_put_u32(w, 0);                     /* the length, filled by rpc_frame_end */
	rpc_header_encode(w, h);
}

int rpc_frame_end(struct xdr_writer *w)
{
	if (w->failed || w->len < RPC_LEN_BYTES + RPC_HEADER_BYTES ||
	    w->len > RPC_LEN_BYTES + RPC_MESSAGE_MAX)
		return -1;
	w->data[0] = w->len >> 24;
	w->data[1] = w->len >> 16;
	w->data[2] = w->len >> 8;
	w->data[3] = w->len;
	return 0;
}

void rpc_error_encode(struct xdr_writer *w, const struct virt_error *e)
{
	xdr_put_i32(w, e->code);
	xdr_put_i32(w, e->domain);
	xdr_put_opt_string(w, e->message);
	xdr_put_i32(w, VIR_ERR_ERROR);
	xdr_put_bool(w, false);                /* dom */
	xdr_put_opt_string(w, NULL);           /* str1..3 */
	xdr_put_opt_string(w, NULL);
	xdr_put_opt_string(w, NULL);
	xdr_put_i32(w, 0);                     /* int1, int2 */
	xdr_put_i32(w, 0);
	xdr_put_bool(w, false);                /* net */
}

static void skip_opt_string(struct xdr_reader *r)
{
	bool present;

	free(xdr_get_opt_string(r, RPC_STRING_MAX, &present));
}

int rpc_error_decode(struct xdr_reader *r, struct virt_error *e)
{
	bool present;
	char *msg;

	memset(e, 0, sizeof(*e));
	e->code = xdr_get_i32(r);
	e->domain = xdr_get_i32(r);
	msg = xdr_get_opt_string(r, RPC_STRING_MAX, &present);
	if (msg)
		snprintf(e->message, sizeof(e->message), "%s", msg);
	free(msg);
	xdr_get_i32(r);                        /* level */
	if (xdr_get_bool(r)) {                 /* dom: name, uuid, id */
		free(xdr_get_string(r, RPC_STRING_MAX));
		uint8_t uuid[16];
		xdr_get_fixed(r, uuid, sizeof(uuid));
		xdr_get_i32(r);
	}
	skip_opt_string(r);
	skip_opt_string(r);
	skip_opt_string(r);
	xdr_get_i32(r);
	xdr_get_i32(r);
	if (xdr_get_bool(r)) {                 /* net: name, uuid */
		free(xdr_get_string(r, RPC_STRING_MAX));
		uint8_t uuid[16];
		xdr_get_fixed(r, uuid, sizeof(uuid));
	}
	return r->failed ? -1 : 0;
}
