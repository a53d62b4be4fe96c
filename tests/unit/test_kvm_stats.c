/* KVM's binary statistics as vmm/kvm_stats.c reads them, on files laid out as
 * Documentation/virt/kvm/api.rst (KVM_GET_STATS_FD) describes: header, id string, descriptors of
 * sizeof(struct kvm_stats_desc) + name_size bytes, data.  The counter is found by name and read at
 * its offset; malformed layouts are refused with why.  Where /dev/kvm exists, a real vCPU's stats
 * fd is read too (its "exits" counter must be there); without it that case skips. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "unit.h"
#include "vmm/kvm_stats.h"

#define NAME_SIZE 48

struct fake_stat {
	const char *name;
	uint32_t flags;
	uint16_t size;
	uint64_t value;
};

/* Writes a stats file with these counters (data in order); returns its fd. */
static int stats_file(const struct fake_stat *st, unsigned int n, uint32_t name_size, size_t cut)
{
	int fd = memfd_create("kvm-stats", 0);
	size_t step = sizeof(struct kvm_stats_desc) + name_size;
	struct kvm_stats_header h = { .name_size = name_size, .num_desc = n, .id_offset = sizeof(h) };
	h.desc_offset = h.id_offset + NAME_SIZE;
	h.data_offset = h.desc_offset + (uint32_t)(n * step);
	size_t len = h.data_offset + n * 8 * 4;
	uint8_t *buf = calloc(1, len);
	memcpy(buf, &h, sizeof(h));
	snprintf((char *)buf + h.id_offset, NAME_SIZE, "kvm-1234/vcpu-0");
	uint32_t data_off = 0;
	for (unsigned int i = 0; i < n; i++) {
		struct kvm_stats_desc *d = (void *)(buf + h.desc_offset + i * step);
		d->flags = st[i].flags;
		d->size = st[i].size;
		d->offset = data_off;
		memcpy(d->name, st[i].name, strlen(st[i].name) < name_size ? strlen(st[i].name) + 1 : name_size);
		for (unsigned int k = 0; k < st[i].size; k++)
			memcpy(buf + h.data_offset + data_off + 8 * k, &st[i].value, 8);
		data_off += 8u * st[i].size;
	}
	if (write(fd, buf, cut && cut < len ? cut : len) < 0)
		abort();
	free(buf);
	return fd;
}

static const struct fake_stat usual[] = {
	{ "halt_exits", KVM_STATS_TYPE_CUMULATIVE, 1, 7 },
	{ "halt_poll_hist", KVM_STATS_TYPE_LOG_HIST, 3, 1 },
	{ "exits", KVM_STATS_TYPE_CUMULATIVE, 1, 123456 },
	{ "io_exits", KVM_STATS_TYPE_CUMULATIVE, 1, 99 },
};

static void test_finds_exits(struct unit *u, const void *arg)
{
	(void)arg;
	struct kvm_stat_counter c;
	char why[160] = "";
	int fd = stats_file(usual, 4, NAME_SIZE, 0);
	uint64_t v = 0;

	CHECK(kvm_stat_counter_open(&c, fd, "exits", why, sizeof(why)) == 0, "open: %s", why);
	CHECK(kvm_stat_counter_read(&c, &v) && v == 123456, "exits read %llu, want 123456", (unsigned long long)v);
	/* the kernel's counter moves: we read it afresh each time */
	uint64_t next = 123999;
	CHECK(pwrite(fd, &next, 8, (off_t)c.data_at) == 8, "pwrite");
	CHECK(kvm_stat_counter_read(&c, &v) && v == 123999, "second read %llu", (unsigned long long)v);
	kvm_stat_counter_close(&c);
	CHECK(c.fd == -1 && !kvm_stat_counter_read(&c, &v), "a closed counter reads nothing");
}

struct refusal {
	const char *name;
	const struct fake_stat *st;
	unsigned int n;
	uint32_t name_size;
	size_t cut;
	const char *want;
};

static const struct fake_stat histogram_exits[] = { { "exits", KVM_STATS_TYPE_LOG_HIST, 4, 1 } };
static const struct fake_stat unterminated[] = { { "exitsexitsexitsexits", KVM_STATS_TYPE_CUMULATIVE, 1, 1 } };

static const struct refusal refusals[] = {
	{ "no-such-counter", usual, 2, NAME_SIZE, 0, "no counter 'exits'" },
	{ "not-cumulative", histogram_exits, 1, NAME_SIZE, 0, "not a single cumulative counter" },
	{ "name-without-nul", unterminated, 1, 5, 0, "no counter 'exits'" },
	{ "name-size-zero", usual, 4, 0, 0, "out of range" },
	{ "cut-in-descriptors", usual, 4, NAME_SIZE, sizeof(struct kvm_stats_header) + NAME_SIZE + 40, "unreadable" },
	{ "cut-before-data", usual, 4, NAME_SIZE,
	  sizeof(struct kvm_stats_header) + NAME_SIZE + 4 * (sizeof(struct kvm_stats_desc) + NAME_SIZE) + 8, "unreadable" },
	{ "empty-file", usual, 4, NAME_SIZE, 1, "header unreadable" },
};

static void test_refused(struct unit *u, const void *arg)
{
	const struct refusal *r = arg;
	struct kvm_stat_counter c;
	char why[160] = "";
	int fd = stats_file(r->st, r->n, r->name_size, r->cut);

	CHECK(kvm_stat_counter_open(&c, fd, "exits", why, sizeof(why)) == -1, "a malformed file was taken");
	CHECK(strstr(why, r->want) != NULL, "why '%s' does not say '%s'", why, r->want);
	CHECK(c.fd == -1 && fcntl(fd, F_GETFD) == -1, "the stats fd must be closed on refusal");
}

/* The real thing, where there is one: a vCPU that never ran has 0 exits. */
static void test_real_vcpu(struct unit *u, const void *arg)
{
	int stats = *(const int *)arg;
	struct kvm_stat_counter c;
	char why[160] = "";
	uint64_t v = ~0ull;

	CHECK(kvm_stat_counter_open(&c, stats, "exits", why, sizeof(why)) == 0, "real stats: %s", why);
	CHECK(kvm_stat_counter_read(&c, &v) && v == 0, "a vCPU that never ran has %llu exits", (unsigned long long)v);
	kvm_stat_counter_close(&c);
}

/* A vCPU's stats fd, or -1 with why. */
static int real_stats_fd(int fds[3], char *why, size_t len)
{
	fds[0] = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	fds[1] = fds[0] >= 0 ? ioctl(fds[0], KVM_CREATE_VM, 0) : -1;
	fds[2] = fds[1] >= 0 ? ioctl(fds[1], KVM_CREATE_VCPU, 0) : -1;
	int stats = fds[2] >= 0 ? ioctl(fds[2], KVM_GET_STATS_FD, 0) : -1;
	if (fds[2] < 0)
		snprintf(why, len, "no usable /dev/kvm");
	else if (stats < 0)
		snprintf(why, len, "this KVM has no binary stats (KVM_GET_STATS_FD)");
	return stats;
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "finds-exits", test_finds_exits, NULL);
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		unit_case(&u, refusals[i].name, test_refused, &refusals[i]);
	int fds[3], stats;
	char why[80];
	if ((stats = real_stats_fd(fds, why, sizeof(why))) >= 0)
		unit_case(&u, "real-vcpu-exits", test_real_vcpu, &stats);
	else
		printf("skip - real-vcpu-exits: %s\n", why);
	for (int i = 2; i >= 0; i--)
		if (fds[i] >= 0)
			close(fds[i]);
	return unit_finish(&u);
}
