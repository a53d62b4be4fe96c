/* The VMM's save and restore (vmm/save.c, vmm/restore.c) without KVM: a fake domain (its Xen
 * state real, its RAM a buffer, one vCPU with no KVM behind it) is saved through the real control
 * socket, with the stream's descriptor sent as SCM_RIGHTS, by the real save thread and main-loop
 * half.  Its RAM goes out whole; reading its vCPU from KVM then fails, and the save must say so
 * (and that the cancel could not set the vCPU's return value either: the domain stays held).  The pages written so far are read back into a second fake domain
 * by restore_read, which must agree with the source page for page (and on the pages given back)
 * before it stops at the missing END.  Then the ways a stream can be wrong, each refused with
 * what and where.  A whole round trip needs KVM's vCPU state: the system tests
 * (save_restore.sh, migrate.sh) cover it where /dev/kvm exists. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "migrate/stream.h"
#include "fake_domain.h"
#include "unit.h"
#include "vmm/control.h"
#include "vmm/event_loop.h"
#include "vmm/restore.h"
#include "xen/xen_record.h"

#define PAGES (FAKE_RAM_SIZE / 4096)

struct rig {
	struct domain *dom;
	struct domain_params params;
	struct event_loop loop;
	struct control_server server;
	char dir[64], sock[108];
	int listen_fd, stream_fd;
	char stream_path[96];
};

static void fill(struct domain *d)
{
	for (uint64_t p = 0; p < 512; p++) {             /* 2 MiB of pattern, then zeros */
		uint32_t *w = (uint32_t *)(d->vm.ram + p * 4096);
		for (unsigned int i = 0; i < 1024; i += 97)
			w[i] = (uint32_t)(p * 2654435761u + i);
	}
	for (uint64_t p = 900; p < 910; p++)                 /* given back by the guest */
		xen_reservation_restore_page(d, p, true);
}

static int rig_open(struct rig *r)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	r->dom = fake_domain_new(1);
	r->params = (struct domain_params){ .name = "saved", .restore_fd = -1 };
	r->dom->params = &r->params;
	fill(r->dom);
	if (event_loop_init(&r->loop))
		return -1;
	r->dom->loop = &r->loop;
	r->dom->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	snprintf(r->dir, sizeof(r->dir), "/tmp/xenith-save.XXXXXX");
	if (!mkdtemp(r->dir))
		return -1;
	snprintf(r->sock, sizeof(r->sock), "%s/control.sock", r->dir);
	snprintf(r->stream_path, sizeof(r->stream_path), "%s/stream", r->dir);
	r->listen_fd = control_listen(r->sock, err, sizeof(err));
	if (r->listen_fd < 0 || control_serve(&r->server, &r->loop, r->listen_fd, r->dom, NULL, NULL))
		return -1;
	r->stream_fd = open(r->stream_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	return r->stream_fd < 0 ? -1 : 0;
}

static void rig_close(struct rig *r)
{
	control_server_close(&r->server);
	close(r->listen_fd);
	close(r->stream_fd);
	if (r->dom->notify_fd >= 0)
		close(r->dom->notify_fd);
	event_loop_destroy(&r->loop);
	fake_domain_free(r->dom);
	unlink(r->stream_path);
	unlink(r->sock);
	rmdir(r->dir);
}

/* One request with `fd` attached (or none), served by running the loop; the reply in `reply`. */
static int request(struct rig *r, const char *req, int fd, char *reply, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } control;
	struct iovec iov = { .iov_base = (void *)req, .iov_len = strlen(req) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", r->sock);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	if (fd >= 0) {
		msg.msg_control = control.buf;
		msg.msg_controllen = sizeof(control.buf);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(s, &msg, 0) < 0) {
		close(s);
		return -1;
	}
	/* The VMM's loop runs here, between our looks at the socket (up to 10 s). */
	for (int i = 0; i < 1000; i++) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (poll(&p, 1, 0) == 1) {
			ssize_t n = recv(s, reply, len - 1, 0);
			close(s);
			if (n < 0)
				return -1;
			reply[n] = '\0';
			return 0;
		}
		event_loop_run_once(&r->loop, 10);
	}
	close(s);
	return -1;
}

static void test_save_then_restore(struct unit *u, const void *arg)
{
	struct rig r;
	char reply[512];

	(void)arg;
	CHECK(rig_open(&r) == 0, "setting up: %s", strerror(errno));
	domain_suspend(r.dom, 0);                 /* the guest answered control/shutdown = suspend */
	CHECK(request(&r, "save", r.stream_fd, reply, sizeof(reply)) == 0, "no reply to save");
	CHECK(!strncmp(reply, "error EIO saving vCPU 0: ", 25), "save answered '%s'", reply);
	/* The failed save cancels the suspend, which sets the vCPU's return value through KVM: here
	 * that fails too, said in the same answer, and the domain stays held rather than lost. */
	CHECK(strstr(reply, "resuming the domain failed") && strstr(reply, "vCPU 0"),
	      "the answer does not tell the resume's fate: '%s'", reply);
	char flags[7];
	domain_state_flags(r.dom, flags);
	CHECK(flags[3] == 's' && flags[2] == 'p', "the held domain shows as suspended: flags %s", flags);

	struct domain *b = fake_domain_new(1);
	b->params = &r.params;
	struct restore_result res;
	char err[512];
	lseek(r.stream_fd, 0, SEEK_SET);
	CHECK(restore_read(b, r.stream_fd, &res, err, sizeof(err)) == -1 && strstr(err, "truncated"),
	      "restore of the cut stream: %s", err);
	CHECK(!memcmp(r.dom->vm.ram, b->vm.ram, FAKE_RAM_SIZE), "the restored RAM differs");
	CHECK(xen_reservation_current(b) == xen_reservation_current(r.dom), "pages held: %llu, not %llu",
	      (unsigned long long)xen_reservation_current(b),
	      (unsigned long long)xen_reservation_current(r.dom));
	CHECK(xen_reservation_page_out(b, 905) && !xen_reservation_page_out(b, 899),
	      "the pages given back are those of the source");
	fake_domain_free(b);

	CHECK(request(&r, "resume", -1, reply, sizeof(reply)) == 0 && !strncmp(reply, "error EINVAL", 12) &&
	      strstr(reply, "vCPU 0"), "resume without KVM answered '%s'", reply);
	rig_close(&r);
}

static void test_save_refusals(struct unit *u, const void *arg)
{
	struct rig r;
	char reply[512];

	(void)arg;
	CHECK(rig_open(&r) == 0, "setting up: %s", strerror(errno));
	CHECK(request(&r, "save", -1, reply, sizeof(reply)) == 0 && strstr(reply, "SCM_RIGHTS"),
	      "save without a descriptor answered '%s'", reply);
	CHECK(request(&r, "save fast", r.stream_fd, reply, sizeof(reply)) == 0 &&
	      strstr(reply, "unknown option 'fast'"), "save fast answered '%s'", reply);
	/* A guest that never suspends: no xenstore link here, so the request cannot even be made; the
	 * domain must still run afterwards. */
	CHECK(request(&r, "save", r.stream_fd, reply, sizeof(reply)) == 0 && !strncmp(reply, "error EIO", 9) &&
	      strstr(reply, "suspend"), "save of a domain that cannot be asked answered '%s'", reply);
	char flags[7];
	domain_state_flags(r.dom, flags);
	CHECK(flags[3] == '-' && flags[2] == '-', "the domain runs on after the failed save: flags %s", flags);
	rig_close(&r);
}

/* ---- Streams that are wrong ---- */

struct bad_stream {
	const char *name;
	const char *expect;                      /* in the error */
	void (*write)(struct mig_writer *w);
};

static void put_domain(struct mig_writer *w, uint64_t ram)
{
	struct mig_domain d = { .ram_bytes = ram, .populated_bytes = ram, .low_ram_bytes = ram, .vcpus = 1,
				.max_vcpus = 1 };
	char err[128];

	snprintf(d.name, sizeof(d.name), "saved");
	mig_write_record(w, MIG_REC_DOMAIN, &d, sizeof(d), err, sizeof(err));
}

static void put_xen(struct mig_writer *w)
{
	struct xen_record x = { .version = XEN_RECORD_VERSION, .n_vcpus = 1, .max_pages = PAGES };
	char err[128];

	mig_write_record(w, MIG_REC_XEN, &x, sizeof(x), err, sizeof(err));
}

static void put_end(struct mig_writer *w)
{
	char err[128];

	mig_write_record(w, MIG_REC_END, NULL, 0, err, sizeof(err));
}

static void put_page(struct mig_writer *w, uint64_t index)
{
	uint8_t body[8 + 8 + 4096] = { 1 };
	uint64_t entry = index << MIG_PAGE_KIND_BITS | MIG_PAGE_DATA;
	char err[128];

	memcpy(body + 8, &entry, 8);
	mig_write_record(w, MIG_REC_PAGES, body, sizeof(body), err, sizeof(err));
}

static void w_pages_first(struct mig_writer *w) { put_page(w, 1); }
static void w_ram_differs(struct mig_writer *w) { put_domain(w, FAKE_RAM_SIZE * 2); }
static void w_page_beyond(struct mig_writer *w) { put_domain(w, FAKE_RAM_SIZE); put_page(w, PAGES); }
static void w_no_xen(struct mig_writer *w) { put_domain(w, FAKE_RAM_SIZE); put_end(w); }
static void w_truncated(struct mig_writer *w) { put_domain(w, FAKE_RAM_SIZE); put_page(w, 3); }
static void w_two_domains(struct mig_writer *w) { put_domain(w, FAKE_RAM_SIZE); put_domain(w, FAKE_RAM_SIZE); }
static void w_vcpu_unknown(struct mig_writer *w)
{
	uint8_t body[8] = { 3 };
	char err[128];

	put_domain(w, FAKE_RAM_SIZE);
	mig_write_record(w, MIG_REC_VCPU, body, sizeof(body), err, sizeof(err));
}
static void w_digest_wrong(struct mig_writer *w)
{
	struct mig_digest d = { .pages = PAGES, .digest = 12345 };
	char err[128];

	put_domain(w, FAKE_RAM_SIZE);
	put_page(w, 7);
	mig_write_record(w, MIG_REC_DIGEST, &d, sizeof(d), err, sizeof(err));
	put_xen(w);
	put_end(w);
}
static void w_config_inside(struct mig_writer *w)
{
	char err[128];

	put_domain(w, FAKE_RAM_SIZE);
	mig_write_record(w, MIG_REC_CONFIG, "name='x'\n", 9, err, sizeof(err));
}
static void w_no_vcpu(struct mig_writer *w) { put_domain(w, FAKE_RAM_SIZE); put_page(w, 7); put_xen(w); put_end(w); }

static const struct bad_stream bad_streams[] = {
	{ "pages-before-domain", "before the DOMAIN record", w_pages_first },
	{ "ram-differs", "must agree", w_ram_differs },
	{ "page-beyond-ram", "beyond the domain's", w_page_beyond },
	{ "end-without-xen-state", "without the Xen state", w_no_xen },
	{ "truncated", "", w_truncated },
	{ "two-domain-records", "a second DOMAIN record", w_two_domains },
	{ "vcpu-not-in-domain", "vCPU", w_vcpu_unknown },
	{ "digest-mismatch", "differs from the source", w_digest_wrong },
	{ "config-among-domain-records", "CONFIG", w_config_inside },
	{ "end-without-vcpu-state", "the state of every vCPU", w_no_vcpu },
};

static void test_bad_stream(struct unit *u, const void *arg)
{
	const struct bad_stream *b = arg;
	char path[] = "/tmp/xenith-stream.XXXXXX";
	int fd = mkstemp(path);
	struct mig_writer w;
	struct restore_result res;
	char err[512] = "";

	CHECK(fd >= 0, "mkstemp: %s", strerror(errno));
	unlink(path);
	mig_writer_init(&w, fd);
	b->write(&w);
	lseek(fd, 0, SEEK_SET);
	struct domain *d = fake_domain_new(1);
	struct domain_params params = { .name = "saved", .restore_fd = -1 };
	d->params = &params;
	int rc = restore_read(d, fd, &res, err, sizeof(err));
	CHECK(rc == -1, "the stream was taken");
	CHECK(strstr(err, b->expect) && strstr(err, "byte"), "the refusal says '%s'", err);
	fake_domain_free(d);
	close(fd);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[96];

	unit_case(&u, "save-sends-ram-then-fails-on-vcpu-state", test_save_then_restore, NULL);
	unit_case(&u, "save-refusals-leave-the-domain-running", test_save_refusals, NULL);
	for (size_t i = 0; i < sizeof(bad_streams) / sizeof(bad_streams[0]); i++) {
		snprintf(name, sizeof(name), "restore-stream-%s", bad_streams[i].name);
		unit_case(&u, name, test_bad_stream, &bad_streams[i]);
	}
	return unit_finish(&u);
}
