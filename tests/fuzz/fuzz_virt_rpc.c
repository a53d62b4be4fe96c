/* xenith-libvirtd's input path for one client on any bytes: framing, the header, keepalive,
 * stream packets and the dispatch of the procedures (server.h's virt_client_feed, as the socket
 * feeds it), after a CONNECT_OPEN so that calls reach their handlers.  No socket, no event loop;
 * every reply is taken off the queue and checked to be a well-formed frame.  The domain
 * procedures work on a run directory and a state directory of the fuzzer's own (made once, the
 * definitions emptied each run so that one input's result does not depend on the last), and a
 * KVM device that is not there, so no start reaches a VMM. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvirt/rpc.h"
#include "libvirt/server.h"

static char base[] = "/tmp/xenith-fuzz-virt-rpc.XXXXXX";
static char state_dir[64];

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	if (ftw->level > 0)
		remove(path);
	return 0;
}

static void remove_base(void)
{
	nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	rmdir(base);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static char rundir[64];

	(void)argc;
	(void)argv;
	if (!mkdtemp(base))
		abort();
	snprintf(rundir, sizeof(rundir), "%s/run", base);
	snprintf(state_dir, sizeof(state_dir), "%s/state", base);
	setenv("XENITH_RUNDIR", rundir, 1);
	setenv("XENITH_LIBVIRT_STATE", state_dir, 1);
	setenv("XENITH_KVM_DEVICE", "/nonexistent/kvm", 1);
	atexit(remove_base);
	return 0;
}

static void open_call(struct virt_client *c)
{
	static const char uri[] = "xen:///system";
	struct rpc_header h = { VIRT_REMOTE_PROGRAM, 1, 1, RPC_CALL, 1, RPC_OK };
	struct xdr_writer w;
	char why[128];

	xdr_writer_init(&w, 4096);
	rpc_frame_begin(&w, &h);
	xdr_put_opt_string(&w, uri);
	xdr_put_u32(&w, 0);
	rpc_frame_end(&w);
	virt_client_feed(c, w.data, w.len, why, sizeof(why));
	xdr_writer_free(&w);
}

static void drain(struct virt_client *c)
{
	uint8_t *data;
	size_t len;
	char why[128];

	while (virt_client_pop_output(c, &data, &len) == 0) {
		if (rpc_frame_length(data, len, why, sizeof(why)) != (long)len)
			abort();                 /* the server framed a reply wrongly */
		free(data);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virt_daemon *d = malloc(sizeof(*d));
	struct virt_client *c;
	char err[256];

	if (!d || virt_daemon_init(d, false, err, sizeof(err)) < 0 ||
	    virt_host_open(&d->host, err, sizeof(err)) < 0) {
		free(d);
		return 0;
	}
	nftw(state_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	c = virt_client_new(d, -1);
	if (c) {
		open_call(c);
		drain(c);
		/* The first byte splits the input into two reads, as a socket may. */
		size_t cut = size ? data[0] % (size + 1) : 0;
		if (virt_client_feed(c, data, cut, err, sizeof(err)) == 0)
			virt_client_feed(c, data + cut, size - cut, err, sizeof(err));
		drain(c);
	}
	virt_daemon_fini(d);
	free(d);
	return 0;
}
