/* xl top and xl uptime.
 *
 * xl top is xentop: each frame samples every domain's VMM at once under one bound (XL_LIST_MS):
 * `info` (state, CPU time, memory held and its maximum, vCPUs), `vif-list stats` and
 * `vbd-list stats`, and prints xentop's table.  -b prints frames as xentop's batch mode does (the
 * header, then a row per domain sorted by name, no summary); without -b the frames are redrawn on
 * the terminal (ANSI clear, xentop's summary lines above the table) until q or Ctrl-C.  CPU(%) is
 * the CPU time used between two frames over the wall time between them (0.0 in the first frame),
 * as xentop computes it.  Domain-0 is the host here and is not listed.  Network columns are from
 * the guest's side (NETTX: what it sent), disk sectors are 512 bytes; VBD_OO and SSID are 0
 * (no request is ever held back for lack of a slot, and there is no XSM).
 *
 * xl uptime prints Xen's columns from each domain's /vm/<uuid>/start_time, Domain-0's from
 * /proc/uptime. */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include "lib/rundir.h"
#include "lib/xen_version.h"
#include "lib/xs_client.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_control.h"
#include "xl/xl_domain.h"
#include "xl/xl_store.h"
#include "xl/xl_top.h"

#define INFO_MAX 1024
#define LIST_MAX 16384

const char xl_top_header[] = "      NAME  STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) MAXMEM(%) VCPUS "
			     "NETS NETTX(k) NETRX(k) VBDS   VBD_OO   VBD_RD   VBD_WR  VBD_RSECT  VBD_WSECT SSID\n";

/* The value of `key=` among the words of `line`, or NULL. */
static const char *word_value(const char *line, const char *key)
{
	size_t klen = strlen(key);

	for (const char *p = line; (p = strstr(p, key)); p += klen)
		if ((p == line || p[-1] == ' ') && p[klen] == '=')
			return p + klen + 1;
	return NULL;
}

static unsigned long long word_number(const char *line, const char *key)
{
	const char *v = word_value(line, key);

	return v ? strtoull(v, NULL, 10) : 0;
}

bool xl_top_parse_info(const char *reply, struct xl_top_sample *s)
{
	const char *domid = word_value(reply, "domid"), *mem = word_value(reply, "mem"),
		   *state = word_value(reply, "state"), *cpu = word_value(reply, "cputime");

	if (!domid || !mem)
		return false;
	s->domid = (unsigned int)strtoul(domid, NULL, 10);
	/* mem_kb= and maxmem_kb= are newer than mem= (MiB): a VMM without them has no balloon. */
	s->mem_kb = word_value(reply, "mem_kb") ? word_number(reply, "mem_kb") : strtoull(mem, NULL, 10) * 1024;
	s->maxmem_kb = word_value(reply, "maxmem_kb") ? word_number(reply, "maxmem_kb") : s->mem_kb;
	s->vcpus = (unsigned int)word_number(reply, "vcpus");
	s->cpu_seconds = cpu ? strtod(cpu, NULL) : 0;
	memcpy(s->state, "------", 7);
	for (size_t i = 0; state && i < 6 && state[i] > ' ' && state[i] < 0x7f; i++)
		s->state[i] = state[i];
	return true;
}

/* Calls add(line) for each line of a list reply that has `marker`= in it (a device's counters). */
static void each_device(const char *reply, const char *marker, struct xl_top_sample *s,
			void (*add)(const char *line, struct xl_top_sample *s))
{
	for (const char *line = reply; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (*line != '\n' && word_value(line, marker))
			add(line, s);
}

static void add_vif(const char *line, struct xl_top_sample *s)
{
	s->nets++;
	s->net_tx_bytes += word_number(line, "tx_bytes");
	s->net_rx_bytes += word_number(line, "rx_bytes");
}

static void add_vbd(const char *line, struct xl_top_sample *s)
{
	s->vbds++;
	s->vbd_reads += word_number(line, "reads");
	s->vbd_writes += word_number(line, "writes");
	s->vbd_read_bytes += word_number(line, "read_bytes");
	s->vbd_write_bytes += word_number(line, "write_bytes");
}

void xl_top_parse_vifs(const char *reply, struct xl_top_sample *s)
{
	each_device(reply, "tx_bytes", s, add_vif);
}

void xl_top_parse_vbds(const char *reply, struct xl_top_sample *s)
{
	each_device(reply, "reads", s, add_vbd);
}

void xl_top_format_row(const struct xl_top_sample *s, const struct xl_top_sample *prev, double elapsed,
		       unsigned long long host_kb, char *out, size_t len)
{
	/* xentop's state column: d s b c p r, from xl's r b p s c d. */
	char state[7] = {
		s->state[5] == 'd' ? 'd' : '-', s->state[3] == 's' ? 's' : '-', s->state[1] == 'b' ? 'b' : '-',
		s->state[4] == 'c' ? 'c' : '-', s->state[2] == 'p' ? 'p' : '-', s->state[0] == 'r' ? 'r' : '-', 0,
	};
	double cpu_pct = prev && elapsed > 0 && s->cpu_seconds >= prev->cpu_seconds ?
			 (s->cpu_seconds - prev->cpu_seconds) * 100.0 / elapsed : 0.0;
	double host = host_kb ? (double)host_kb : 1.0;

	snprintf(out, len, "%10.10s %6s %10llu %6.1f %10llu %6.1f %10llu %9.1f %5u %4u %8llu %8llu %4u %8u %8llu "
		 "%8llu %10llu %10llu %4u\n",
		 s->name, state, (unsigned long long)s->cpu_seconds, cpu_pct, s->mem_kb, s->mem_kb * 100.0 / host,
		 s->maxmem_kb, s->maxmem_kb * 100.0 / host, s->vcpus, s->nets, s->net_tx_bytes / 1024,
		 s->net_rx_bytes / 1024, s->vbds, 0u, s->vbd_reads, s->vbd_writes, s->vbd_read_bytes / 512,
		 s->vbd_write_bytes / 512, 0u);
}

void xl_uptime_text(unsigned long seconds, bool short_mode, char *out, size_t len)
{
	unsigned long day = seconds / 86400, hour = seconds % 86400 / 3600, min = seconds % 3600 / 60,
		      sec = seconds % 60;
	int at = 0;

	if (day)
		at = snprintf(out, len, "%lu day%s, ", day, day > 1 ? "s" : "");
	if (at < 0 || (size_t)at >= len)
		return;
	if (short_mode)
		snprintf(out + at, len - (size_t)at, "%2lu:%02lu", hour, min);
	else
		snprintf(out + at, len - (size_t)at, "%2lu:%02lu:%02lu", hour, min, sec);
}

/* ---- xl top ---- */

struct top_frame {
	struct xl_top_sample *samples;
	size_t n;
	struct timespec at;
};

static unsigned long long host_mem_kb(void)
{
	char line[256];
	unsigned long long kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

static int by_name(const void *a, const void *b)
{
	const struct xl_top_sample *x = a, *y = b;
	int c = strcasecmp(x->name, y->name);

	return c ? c : (x->domid > y->domid) - (x->domid < y->domid);
}

/* Every domain's sample, all asked at once under one bound.  0 or -errno (listing failed). */
static int sample_all(struct xl_ctx *ctx, struct top_frame *f)
{
	static const char *const requests[] = { "info", "vif-list stats", "vbd-list stats" };
	enum { PER = sizeof(requests) / sizeof(requests[0]) };
	struct rundir_domain *doms = NULL;
	size_t ndoms = 0;
	int r = rundir_list_domains(&ctx->rd, &doms, &ndoms);

	if (r)
		return r;
	struct xl_call *calls = calloc(ndoms * PER + 1, sizeof(*calls));
	char *buf = calloc(ndoms * PER + 1, LIST_MAX);
	f->samples = calloc(ndoms + 1, sizeof(*f->samples));
	f->n = 0;
	if (!calls || !buf || !f->samples) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < ndoms * PER; i++)
		calls[i] = (struct xl_call){ .domid = doms[i / PER].domid, .request = requests[i % PER],
					     .reply = buf + i * LIST_MAX, .len = i % PER ? LIST_MAX : INFO_MAX };
	xl_control_calls(&ctx->rd, calls, ndoms * PER, XL_LIST_MS);
	clock_gettime(CLOCK_MONOTONIC, &f->at);
	for (size_t d = 0; d < ndoms; d++) {
		struct xl_top_sample *s = &f->samples[f->n];
		struct xl_call *info = &calls[d * PER];
		if (info->result == -ESRCH)
			continue;                   /* gone since listed */
		memset(s, 0, sizeof(*s));
		if (info->result || !xl_top_parse_info(info->reply, s)) {
			fprintf(stderr, "xl top: domain %u (%s) is not answering: %s\n", doms[d].domid, doms[d].name,
				info->result ? info->reply : "its info reply has no domid= and mem=");
			continue;
		}
		snprintf(s->name, sizeof(s->name), "%s", doms[d].name);
		if (!calls[d * PER + 1].result)
			xl_top_parse_vifs(calls[d * PER + 1].reply, s);
		if (!calls[d * PER + 2].result)
			xl_top_parse_vbds(calls[d * PER + 2].reply, s);
		f->n++;
	}
	qsort(f->samples, f->n, sizeof(*f->samples), by_name);
out:
	free(buf);
	free(calls);
	free(doms);
	return r;
}

static const struct xl_top_sample *find_sample(const struct top_frame *f, unsigned int domid)
{
	for (size_t i = 0; f && i < f->n; i++)
		if (f->samples[i].domid == domid)
			return &f->samples[i];
	return NULL;
}

/* xentop's summary above the table (interactive mode only). */
static void print_summary(const struct top_frame *f, unsigned long long host_kb)
{
	unsigned int counts[6] = { 0 };     /* running, blocked, paused, crashed, dying, shutdown */
	time_t now = time(NULL);
	char when[16] = "";
	struct tm tm;

	if (localtime_r(&now, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	for (size_t i = 0; i < f->n; i++) {
		const char *st = f->samples[i].state;
		int k = st[0] == 'r' ? 0 : st[1] == 'b' ? 1 : st[2] == 'p' ? 2 : st[3] == 's' ? 5 :
			st[4] == 'c' ? 3 : st[5] == 'd' ? 4 : -1;
		if (k >= 0)
			counts[k]++;
	}
	printf("xentop - %s   Xen %d.%d%s\n", when, XENITH_XEN_MAJOR, XENITH_XEN_MINOR, XENITH_XEN_EXTRA);
	printf("%zu domains: %u running, %u blocked, %u paused, %u crashed, %u dying, %u shutdown \n", f->n,
	       counts[0], counts[1], counts[2], counts[3], counts[4], counts[5]);
	printf("Mem: %lluk total\n\n", host_kb);
}

static void print_frame(const struct top_frame *f, const struct top_frame *prev, bool batch)
{
	unsigned long long host_kb = host_mem_kb();
	double elapsed = prev ? (double)(f->at.tv_sec - prev->at.tv_sec) +
				(double)(f->at.tv_nsec - prev->at.tv_nsec) / 1e9 : 0;
	char row[512];

	if (!batch) {
		printf("\033[H\033[2J");
		print_summary(f, host_kb);
	}
	if (f->n)
		fputs(xl_top_header, stdout);
	for (size_t i = 0; i < f->n; i++) {
		xl_top_format_row(&f->samples[i], find_sample(prev, f->samples[i].domid), elapsed, host_kb, row,
				  sizeof(row));
		fputs(row, stdout);
	}
	fflush(stdout);
}

/* Waits `delay` seconds; in interactive mode returns true early when q or Ctrl-C is typed. */
static bool wait_or_quit(double delay, bool interactive)
{
	struct timespec end, now;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)delay;
	end.tv_nsec += (long)((delay - (double)(time_t)delay) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long ms = (long)(end.tv_sec - now.tv_sec) * 1000 + (end.tv_nsec - now.tv_nsec) / 1000000;
		if (ms <= 0)
			return false;
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
		int r = poll(interactive ? &p : NULL, interactive ? 1 : 0, (int)ms);
		if (r > 0) {
			char c;
			if (read(STDIN_FILENO, &c, 1) != 1 || c == 'q' || c == 'Q' || c == 3 || c == 27)
				return true;
		}
	}
}

static int parse_positive(const char *opt, const char *text, double *out, bool integer)
{
	char *end;

	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || v < 0 || v > 86400.0 * 365 || (integer && (v < 1 || v != (long)v))) {
		fprintf(stderr, "xl top: -%s '%s': %s\n", opt, text,
			integer ? "a number of frames, 1 or more" : "a number of seconds, 0 or more");
		return -1;
	}
	*out = v;
	return 0;
}

int main_top(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "batch", no_argument, NULL, 'b' }, { "iterations", required_argument, NULL, 'i' },
		{ "delay", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	double delay = 3, iterations = 0;
	bool batch = false;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "bi:d:", opts, "top", 0, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		if (opt == 'b')
			batch = true;
		else if ((opt == 'i' && parse_positive("i", optarg, &iterations, true)) ||
			 (opt == 'd' && parse_positive("d", optarg, &delay, false)))
			return EXIT_FAILURE;
	}
	if (optind < argc) {
		fprintf(stderr, "xl top: unexpected argument '%s'\n", argv[optind]);
		return EXIT_FAILURE;
	}
	if (!batch && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))) {
		fprintf(stderr, "xl top: without -b it redraws a terminal, and stdin/stdout is not one; "
			"use xl top -b for frames on a pipe\n");
		return EXIT_FAILURE;
	}
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	struct termios saved, raw;
	bool restore = false;
	if (!batch && !tcgetattr(STDIN_FILENO, &saved)) {
		raw = saved;
		raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ISIG);   /* Ctrl-C comes as a byte: we restore */
		restore = !tcsetattr(STDIN_FILENO, TCSANOW, &raw);
	}
	struct top_frame frames[2] = { { 0 } };
	status = EXIT_SUCCESS;
	for (unsigned long k = 0; !iterations || k < (unsigned long)iterations; k++) {
		struct top_frame *cur = &frames[k % 2], *prev = k ? &frames[(k + 1) % 2] : NULL;
		free(cur->samples);
		cur->samples = NULL;
		int r = sample_all(ctx, cur);
		if (r) {
			fprintf(stderr, "xl top: cannot list the domains in %s: %s\n", ctx->rd.path, strerror(-r));
			status = EXIT_FAILURE;
			break;
		}
		print_frame(cur, prev, batch);
		if ((!iterations || k + 1 < (unsigned long)iterations) && wait_or_quit(delay, !batch))
			break;
	}
	free(frames[0].samples);
	free(frames[1].samples);
	if (restore)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved);
	return status;
}

/* ---- xl uptime ---- */

/* Seconds since domain `domid` started, from its vm/start_time; -1 if unknown. */
static double domain_start_time(struct xl_store *store, unsigned int domid)
{
	char path[96], *vm = NULL, *value = NULL, *end;
	size_t len;
	double t = -1;

	snprintf(path, sizeof(path), "/local/domain/%u/vm", domid);
	if (xs_read(store->xs, 0, path, &vm, &len))
		return -1;
	char *node = NULL;
	if (asprintf(&node, "%s/start_time", vm) > 0 && !xs_read(store->xs, 0, node, &value, &len)) {
		t = strtod(value, &end);
		if (end == value || t < 0)
			t = -1;
	}
	free(node);
	free(value);
	free(vm);
	return t;
}

static void print_uptime_line(const char *name, unsigned int domid, unsigned long up, bool short_mode, time_t now)
{
	char text[64], when[16] = "";
	struct tm tm;

	xl_uptime_text(up, short_mode, text, sizeof(text));
	if (!short_mode) {
		printf("%-33s %4u %s\n", name, domid, text);
		return;
	}
	if (localtime_r(&now, &tm))
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
	printf(" %s up %s, %s (%u)\n", when, text, name, domid);
}

static int dom0_uptime(bool short_mode, time_t now)
{
	double up = 0;
	FILE *f = fopen("/proc/uptime", "re");

	if (!f || fscanf(f, "%lf", &up) != 1) {
		if (f)
			fclose(f);
		fprintf(stderr, "Can not get Dom0 uptime.\n");
		return -1;
	}
	fclose(f);
	print_uptime_line(XL_DOM0_NAME, 0, (unsigned long)up, short_mode, now);
	return 0;
}

int main_uptime(struct xl_ctx *ctx, int argc, char **argv)
{
	struct rundir_domain *doms = NULL;
	size_t ndoms = 0;
	bool short_mode = false, store_open = false;
	struct xl_store store;
	char err[512];
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "s", NULL, "uptime", 0, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		if (opt == 's')
			short_mode = true;
	}
	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	/* The named domains, or Domain-0 and every domain. */
	size_t named = (size_t)(argc - optind);
	doms = calloc(named + 1, sizeof(*doms));
	if (!doms)
		return EXIT_FAILURE;
	for (size_t i = 0; i < named; i++)
		if ((status = xl_find_domain_or_complain(ctx, argv[optind + (int)i], NULL, &doms[i].domid, doms[i].name,
							 sizeof(doms[i].name)))) {
			free(doms);
			return status;
		}
	ndoms = named;
	status = EXIT_SUCCESS;
	time_t now = time(NULL);
	if (!short_mode)
		printf("%-33s %4s %s\n", "Name", "ID", "Uptime");
	if (!named) {
		free(doms);
		doms = NULL;
		if (dom0_uptime(short_mode, now))
			return EXIT_FAILURE;
		int r = rundir_list_domains(&ctx->rd, &doms, &ndoms);
		if (r) {
			fprintf(stderr, "xl: cannot list the domains in %s: %s\n", ctx->rd.path, strerror(-r));
			return EXIT_FAILURE;
		}
	}
	for (size_t i = 0; i < ndoms; i++) {
		if (doms[i].domid == 0) {
			if (dom0_uptime(short_mode, now))
				status = EXIT_FAILURE;
			continue;
		}
		if (!store_open) {
			int r = xl_store_open(&ctx->rd, &store, XL_XENSTORE_MS, err, sizeof(err));
			if (r) {
				fprintf(stderr, "xl: cannot reach xenstored: %s\n", err);
				status = EXIT_FAILURE;
				break;
			}
			store_open = true;
		}
		double start = domain_start_time(&store, doms[i].domid);
		if (start < 0)
			continue;              /* as xl: a domain without a start time is left out */
		/* Whole seconds of the start, as libxl_vm_get_start_time gives them. */
		unsigned long from = (unsigned long)start;
		print_uptime_line(doms[i].name, doms[i].domid, (unsigned long)now > from ? (unsigned long)now - from : 0,
				  short_mode, now);
	}
	if (store_open)
		xl_store_close(&store);
	free(doms);
	return status;
}
