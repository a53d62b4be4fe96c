/* libvirt's RPC framing (virnetprotocol.x): each message is a 4-byte big-endian length that counts
 * itself, a virNetMessageHeader of six 4-byte fields, then the payload (a procedure's args or ret,
 * a remote_error, an event, or raw stream bytes).  Pure functions: the server (server.c), the unit
 * tests and the fuzz target share them. */
#ifndef XENITH_VIRT_RPC_H
#define XENITH_VIRT_RPC_H
#include <stddef.h>
#include <stdint.h>
#include "libvirt/virt_proc.h"
#include "libvirt/xdr.h"

#define RPC_LEN_BYTES        4u
#define RPC_HEADER_BYTES     24u
#define RPC_MESSAGE_MAX      33554432u  /* VIR_NET_MESSAGE_MAX: header + payload, not the length word */
#define RPC_PAYLOAD_MAX      (RPC_MESSAGE_MAX - RPC_HEADER_BYTES)
#define RPC_STRING_MAX       4194304u   /* VIR_NET_MESSAGE_STRING_MAX */
#define REMOTE_STRING_MAX    1048576u   /* remote_protocol.x's remote_nonnull_string */

enum rpc_type {                         /* virNetMessageType */
	RPC_CALL = 0,
	RPC_REPLY = 1,
	RPC_MESSAGE = 2,
	RPC_STREAM = 3,
	RPC_CALL_WITH_FDS = 4,
	RPC_REPLY_WITH_FDS = 5,
	RPC_STREAM_HOLE = 6,
};

enum rpc_status {                       /* virNetMessageStatus */
	RPC_OK = 0,
	RPC_ERROR = 1,
	RPC_CONTINUE = 2,
};

struct rpc_header {
	uint32_t prog, vers;
	int32_t proc;
	uint32_t type, serial, status;
};

/* Looks at the start of a client's input: 0 when fewer than 4 bytes are there; otherwise the
 * whole frame's length (length word included) if it is one we accept, or -1 (why says what)
 * for one shorter than a header or longer than RPC_MESSAGE_MAX + 4: the client is then closed. */
long rpc_frame_length(const uint8_t *buf, size_t len, char *why, size_t whylen);

/* Reads the header at the reader's cursor; 0, or -1 when it is short. */
int rpc_header_decode(struct xdr_reader *r, struct rpc_header *h);
void rpc_header_encode(struct xdr_writer *w, const struct rpc_header *h);

/* Starts a frame in w (a length placeholder and the header); rpc_frame_end fills the length.
 * rpc_frame_end returns 0, or -1 when the writer failed (too big, out of memory). */
void rpc_frame_begin(struct xdr_writer *w, const struct rpc_header *h);
int rpc_frame_end(struct xdr_writer *w);

/* A remote_error with level VIR_ERR_ERROR and the unused fields null or 0. */
void rpc_error_encode(struct xdr_writer *w, const struct virt_error *e);
/* Reads one back (tests, and the fuzz target's checks); message copied into e. */
int rpc_error_decode(struct xdr_reader *r, struct virt_error *e);
#endif
