/* libFuzzer target: bytes as xenstore message streams into xenstored's parser and dispatch, on a
 * privileged (Dom0) and an unprivileged (domain 5) connection of one store.
 *
 * Input: a sequence of chunks, each one control byte then up to 127 bytes of stream:
 *   bit 0     which connection: 0 = Dom0, 1 = domain 5
 *   bit 1     afterwards, let the peer "read" its output (else it piles up to the queue cap)
 *   bits 2-7  chunk length / 2 (so 0..126 bytes)
 * A connection that breaks (oversized header) is replaced by a fresh one. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "xenstore/conn.h"
#include "xenstore/xenstored.h"

static struct xs_conn *fresh(struct xenstored *xsd, int which)
{
	return conn_new(xsd, &xs_mem_transport, which ? 5 : 0, which == 0, which ? "fuzz domU" : "fuzz dom0");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct xenstored xsd;
	struct xs_conn *conn[2];

	if (xsd_init(&xsd))
		return 0;
	xsd.quota.queued_bytes = 16 * 1024;
	xsd.quota.nodes = 64;
	conn[0] = fresh(&xsd, 0);
	conn[1] = fresh(&xsd, 1);
	while (size && conn[0] && conn[1]) {
		uint8_t ctl = data[0];
		size_t len = (size_t)(ctl >> 2) * 2;
		data++;
		size--;
		if (len > size)
			len = size;
		struct xs_conn *c = conn[ctl & 1];
		conn_mem_feed(c, data, len);
		conn_handle_input(&xsd, c);
		if (c->broken) {
			conn_close(&xsd, c);
			conn[ctl & 1] = fresh(&xsd, ctl & 1);
		} else if (ctl & 2) {
			c->out_off = c->out_len = 0;
		}
		data += len;
		size -= len;
	}
	xsd_destroy(&xsd);
	return 0;
}
