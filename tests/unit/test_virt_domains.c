/* virt_domains.c against a temporary state directory and run directory: definitions stored,
 * listed, looked up, edited and removed as xl.cfg files; a broken one skipped; start refused without
 * KVM with a message naming the device; running domains are stand-in VMMs
 * (tests/system/xl_standin_vmm.py, the VMM's control socket without KVM) listed with their states
 * mapped, suspended, resumed and destroyed through xl's own paths. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <libvirt/libvirt.h>
#include "lib/uuid.h"
#include "libvirt/virt_domains.h"
#include "xl/xl_block.h"
#include "xl/xl_cfg.h"
#include "xl/xl_network.h"
#include "unit.h"

#define STANDIN "tests/system/xl_standin_vmm.py"
#define SCHED_STANDIN "tests/system/sched_standin_vmm.py"

struct scratch {
	char state[64], run[64];
	struct virt_host h;
};

static int scratch_begin(struct scratch *s)
{
	char err[512];

	snprintf(s->state, sizeof(s->state), "/tmp/virt-state.XXXXXX");
	snprintf(s->run, sizeof(s->run), "/tmp/virt-run.XXXXXX");
	if (!mkdtemp(s->state) || !mkdtemp(s->run))
		return -1;
	setenv("XENITH_LIBVIRT_STATE", s->state, 1);
	setenv("XENITH_RUNDIR", s->run, 1);
	if (virt_host_open(&s->h, err, sizeof(err))) {
		fprintf(stderr, "virt_host_open: %s\n", err);
		return -1;
	}
	return 0;
}

static void scratch_end(struct scratch *s)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", s->state, s->run);
	if (system(cmd)) {
		/* nothing more to do: leftovers in /tmp */
	}
}

static int config_from_text(const char *text, struct domain_config *dc)
{
	struct xl_cfg cfg = { 0 };
	char err[512];
	int r = xl_cfg_parse_string(text, "test", &cfg, err, sizeof(err));

	memset(dc, 0, sizeof(*dc));
	if (!r)
		r = domain_config_from_cfg(&cfg, dc, stderr, err, sizeof(err));
	if (r)
		fprintf(stderr, "config: %s\n", err);
	xl_cfg_free(&cfg);
	return r;
}

static const struct virt_dom *find(const struct virt_dom *all, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(all[i].name, name))
			return &all[i];
	return NULL;
}

/* "web" defined from `text` with the UUID uuid_text: 0, or -1 (said on stderr). */
static int define_web(struct scratch *s, const char *text, const char *uuid_text)
{
	struct domain_config dc;
	struct virt_dom d;
	char err[512];
	int r;

	if (config_from_text(text, &dc))
		return -1;
	r = uuid_parse(uuid_text, dc.uuid);
	dc.has_uuid = true;
	if (!r && (r = virt_domain_define(&s->h, &dc, &d, err, sizeof(err))))
		fprintf(stderr, "define: %s\n", err);
	domain_config_free(&dc);
	return r ? -1 : 0;
}

static void test_define_list_lookup(struct unit *u, const void *arg)
{
	struct scratch s;
	struct domain_config dc;
	struct virt_dom d, got, *all = NULL;
	char err[1024], path[256];
	size_t n = 0;
	struct stat st;
	(void)arg;

	CHECK(scratch_begin(&s) == 0, "scratch");
	CHECK(config_from_text("name='web'\nkernel='/boot/vmlinuz'\nmemory=256\nmaxmem=512\nvcpus=2\n",
			       &dc) == 0, "cfg");
	CHECK_INT(virt_domain_define(&s.h, &dc, &d, err, sizeof(err)), 0);
	CHECK_STR(d.name, "web");
	CHECK(d.persistent && d.id == -1 && d.state == VIR_DOMAIN_SHUTOFF, "defined: %d %d %d",
	      d.persistent, d.id, d.state);
	CHECK(d.mem_kb == 256 * 1024 && d.max_mem_kb == 512 * 1024 && d.vcpus == 2,
	      "resources %llu %llu %u", d.mem_kb, d.max_mem_kb, d.vcpus);
	snprintf(path, sizeof(path), "%s/domains/web.cfg", s.state);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "%s 0600: %o", path,
	      st.st_mode & 0777);

	/* A second define of the name keeps its uuid; another uuid is refused. */
	uint8_t first[16];
	memcpy(first, d.uuid, 16);
	CHECK_INT(virt_domain_define(&s.h, &dc, &d, err, sizeof(err)), 0);
	CHECK(!memcmp(first, d.uuid, 16), "uuid kept on redefine");
	dc.uuid[0] ^= 0xff;
	dc.has_uuid = true;
	CHECK_INT(virt_domain_define(&s.h, &dc, &d, err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, "already defined with uuid"), "err: %s", err);
	domain_config_free(&dc);

	/* A bad name as xl refuses it; Domain-0. */
	CHECK(config_from_text("name='x'\nkernel='/k'\n", &dc) == 0, "cfg");
	free(dc.name);
	dc.name = strdup("a/b");
	CHECK_INT(virt_domain_define(&s.h, &dc, &d, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "'/'"), "err: %s", err);
	free(dc.name);
	dc.name = strdup("Domain-0");
	CHECK_INT(virt_domain_define(&s.h, &dc, &d, err, sizeof(err)), -EPERM);
	domain_config_free(&dc);

	/* Listing: Domain-0 first, then the definition. */
	CHECK_INT(virt_domains_list(&s.h, &all, &n, err, sizeof(err)), 0);
	CHECK(n == 2, "n %zu", n);
	CHECK(n >= 1 && !strcmp(all[0].name, "Domain-0") && all[0].id == 0 &&
	      all[0].state == VIR_DOMAIN_RUNNING, "Domain-0 first");
	static const uint8_t zero[16];
	CHECK(n >= 1 && !memcmp(all[0].uuid, zero, 16), "Domain-0's uuid is zeros");
	free(all);

	/* Lookup by name, uuid, id. */
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &got, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_lookup(&s.h, NULL, first, -1, &got, err, sizeof(err)), 0);
	CHECK_STR(got.name, "web");
	CHECK_INT(virt_domain_lookup(&s.h, NULL, NULL, 0, &got, err, sizeof(err)), 0);
	CHECK_STR(got.name, "Domain-0");
	CHECK_INT(virt_domain_lookup(&s.h, "nope", NULL, -1, &got, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no domain with matching name 'nope'"), "err: %s", err);
	CHECK_INT(virt_domain_lookup(&s.h, NULL, NULL, 7, &got, err, sizeof(err)), -ENOENT);

	/* Autostart: a link in auto/, seen in the listing. */
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_set_autostart(&s.h, &d, true, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/auto/web.cfg", s.state);
	CHECK(lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && stat(path, &st) == 0, "auto link");
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK(d.autostart, "autostart listed");
	CHECK_INT(virt_domain_set_autostart(&s.h, &d, false, err, sizeof(err)), 0);
	CHECK(lstat(path, &st) && errno == ENOENT, "auto link gone");

	/* Config edits go to the file. */
	CHECK_INT(virt_domain_set_memory(&s.h, &d, 128 * 1024, false, true, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_set_memory(&s.h, &d, 1024 * 1024, false, true, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "max memory"), "err: %s", err);
	CHECK_INT(virt_domain_set_max_memory(&s.h, &d, 64 * 1024, false, true, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK(d.mem_kb == 64 * 1024 && d.max_mem_kb == 64 * 1024, "edited %llu %llu", d.mem_kb,
	      d.max_mem_kb);
	CHECK_INT(virt_domain_set_memory(&s.h, &d, 64 * 1024, true, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not running"), "err: %s", err);
	CHECK_INT(virt_domain_set_vcpus(&s.h, &d, 3, false, true, err, sizeof(err)), -EINVAL);
	CHECK_INT(virt_domain_set_vcpus(&s.h, &d, 1, false, true, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_set_vcpus(&s.h, &d, 2, false, true, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_console_path(&s.h, &d, path, sizeof(path), err, sizeof(err)), -EINVAL);
	CHECK_INT(virt_domain_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.memory_mb == 64 && dc.vcpus == 2 && dc.kernel && !strcmp(dc.kernel, "/boot/vmlinuz"),
	      "config %lu %u", dc.memory_mb, dc.vcpus);
	domain_config_free(&dc);

	/* Actions on Domain-0 are refused. */
	CHECK_INT(virt_domain_lookup(&s.h, NULL, NULL, 0, &got, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_destroy(&s.h, &got, err, sizeof(err)), -EPERM);
	CHECK(strstr(err, "Domain-0"), "err: %s", err);
	CHECK_INT(virt_domain_suspend(&s.h, &got, err, sizeof(err)), -EPERM);
	CHECK_INT(virt_domain_undefine(&s.h, &got, err, sizeof(err)), -EPERM);

	/* Undefine removes file and link. */
	CHECK_INT(virt_domain_set_autostart(&s.h, &d, true, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_undefine(&s.h, &d, err, sizeof(err)), 0);
	CHECK(lstat(path, &st) && errno == ENOENT, "auto link gone");
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), -ENOENT);
	scratch_end(&s);
}

static void test_broken_definition_skipped(struct unit *u, const void *arg)
{
	struct scratch s;
	struct domain_config dc;
	struct virt_dom d, *all = NULL;
	char err[1024], path[256];
	size_t n = 0;
	FILE *f;
	(void)arg;

	CHECK(scratch_begin(&s) == 0, "scratch");
	CHECK(config_from_text("name='good'\nkernel='/k'\n", &dc) == 0, "cfg");
	CHECK_INT(virt_domain_define(&s.h, &dc, &d, err, sizeof(err)), 0);
	domain_config_free(&dc);
	snprintf(path, sizeof(path), "%s/domains/bad.cfg", s.state);
	f = fopen(path, "w");
	CHECK(f != NULL, "%s", path);
	if (f) {
		fputs("name='bad'\nmemory=[\n", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/domains/other.cfg", s.state);   /* names another domain */
	f = fopen(path, "w");
	if (f) {
		fputs("name='good2'\nkernel='/k'\n", f);
		fclose(f);
	}
	CHECK_INT(virt_domains_list(&s.h, &all, &n, err, sizeof(err)), 0);
	CHECK(n == 2 && find(all, n, "good") && !find(all, n, "bad") && !find(all, n, "good2"),
	      "listed %zu", n);
	free(all);
	scratch_end(&s);
}

static void test_start_without_kvm(struct unit *u, const void *arg)
{
	struct scratch s;
	struct domain_config dc;
	struct virt_dom d, out;
	char err[1024];
	(void)arg;

	CHECK(scratch_begin(&s) == 0, "scratch");
	setenv("XENITH_KVM_DEVICE", "/nonexistent/kvm", 1);
	CHECK(config_from_text("name='web'\nkernel='/boot/vmlinuz'\n", &dc) == 0, "cfg");
	CHECK_INT(virt_domain_define(&s.h, &dc, &d, err, sizeof(err)), 0);
	int r = virt_domain_start(&s.h, &d, NULL, false, &out, err, sizeof(err));
	CHECK(r < 0, "start: %d", r);
	CHECK(strstr(err, "/nonexistent/kvm"), "err names the device: %s", err);
	r = virt_domain_start(&s.h, NULL, &dc, false, &out, err, sizeof(err));
	CHECK(r < 0 && strstr(err, "/nonexistent/kvm"), "transient start: %d %s", r, err);
	domain_config_free(&dc);
	unsetenv("XENITH_KVM_DEVICE");
	scratch_end(&s);
}

/* A stand-in VMM for domain `domid`; its pid, once it listens (ready line), or -1. */
static pid_t standin(const char *run, const char *name, int domid, const char *uuid)
{
	int fds[2];
	char domid_s[16], fd_s[16], buf[64];
	pid_t pid;

	if (pipe(fds))
		return -1;
	snprintf(domid_s, sizeof(domid_s), "%d", domid);
	snprintf(fd_s, sizeof(fd_s), "%d", fds[1]);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		close(fds[0]);
		dup2(null, 1);
		execlp("python3", "xenith-vmm", STANDIN, "--rundir", run, "--name", name, "--domid",
		       domid_s, "--ready-fd", fd_s, uuid ? "--uuid" : NULL, uuid, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	ssize_t got = pid > 0 ? read(fds[0], buf, sizeof(buf) - 1) : -1;
	close(fds[0]);
	if (got <= 0 || strncmp(buf, "ok ", 3)) {
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	return pid;
}

static void test_running_standins(struct unit *u, const void *arg)
{
	static const char uuid_text[] = "6f1c3c1e-1111-4222-8333-0123456789ab";
	struct scratch s;
	struct domain_config dc;
	struct virt_dom d, *all = NULL;
	char err[1024];
	size_t n = 0;
	uint8_t uuid[16];
	pid_t a, b;
	(void)arg;

	if (access(STANDIN, R_OK) || system("python3 -c '' 2>/dev/null")) {
		unit_skip(u, "no python3 or %s", STANDIN);
		return;
	}
	CHECK(scratch_begin(&s) == 0, "scratch");
	CHECK(uuid_parse(uuid_text, uuid) == 0, "uuid");
	/* "web" is defined and runs; "tmp" runs without a definition (xl create). */
	CHECK(define_web(&s, "name='web'\nkernel='/k'\nmemory=64\n", uuid_text) == 0, "define");
	a = standin(s.run, "web", 3, uuid_text);
	b = standin(s.run, "tmp", 4, NULL);
	CHECK(a > 0 && b > 0, "stand-ins %d %d", (int)a, (int)b);

	CHECK_INT(virt_domains_list(&s.h, &all, &n, err, sizeof(err)), 0);
	CHECK(n == 3, "n %zu", n);
	const struct virt_dom *web = find(all, n, "web"), *tmp = find(all, n, "tmp");
	CHECK(web && web->id == 3 && web->persistent && !memcmp(web->uuid, uuid, 16) &&
	      web->state == VIR_DOMAIN_BLOCKED && web->mem_kb == 32768,
	      "web: id %d persistent %d state %d mem %llu", web ? web->id : -9,
	      web ? web->persistent : 0, web ? web->state : -1, web ? web->mem_kb : 0);
	CHECK(tmp && tmp->id == 4 && !tmp->persistent && tmp->state == VIR_DOMAIN_BLOCKED,
	      "tmp: transient, blocked");
	free(all);

	CHECK_INT(virt_domain_lookup(&s.h, NULL, NULL, 3, &d, err, sizeof(err)), 0);
	CHECK_STR(d.name, "web");
	CHECK_INT(virt_domain_start(&s.h, &d, NULL, false, &d, err, sizeof(err)), -EEXIST);
	CHECK_INT(virt_domain_suspend(&s.h, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK(d.state == VIR_DOMAIN_PAUSED, "paused: state %d", d.state);
	CHECK_INT(virt_domain_resume(&s.h, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK(d.state == VIR_DOMAIN_BLOCKED, "resumed: state %d", d.state);

	/* The transient one's config: what xl kept (none here) is an error, not a crash. */
	CHECK_INT(virt_domain_lookup(&s.h, "tmp", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK(virt_domain_config(&s.h, &d, &dc, err, sizeof(err)) < 0, "no saved config");
	domain_config_free(&dc);
	CHECK_INT(virt_domain_undefine(&s.h, &d, err, sizeof(err)), -EINVAL);

	/* Destroy: the running one goes, its definition stays. */
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_destroy(&s.h, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK(d.id == -1 && d.state == VIR_DOMAIN_SHUTOFF, "web shut off: %d %d", d.id, d.state);
	CHECK_INT(virt_domain_lookup(&s.h, "tmp", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_destroy(&s.h, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_lookup(&s.h, "tmp", NULL, -1, &d, err, sizeof(err)), -ENOENT);
	CHECK_INT(virt_domain_suspend(&s.h, &d, err, sizeof(err)), -EINVAL);

	if (a > 0) {
		kill(a, SIGKILL);
		waitpid(a, NULL, 0);
	}
	if (b > 0) {
		kill(b, SIGKILL);
		waitpid(b, NULL, 0);
	}
	scratch_end(&s);
}


static bool have_python(const char *script)
{
	return !access(script, R_OK) && !system("python3 -c '' 2>/dev/null");
}

/* sched_standin_vmm.py for domain `domid` with `vcpus` vCPUs logging to `log` (and --unenforced
 * WHY when why is not NULL); its pid once its control socket is there, or -1. */
static pid_t sched_standin(const char *run, const char *name, int domid, int vcpus, const char *log,
			   const char *why)
{
	char domid_s[16], vcpus_s[16], sock[256];
	pid_t pid;

	snprintf(domid_s, sizeof(domid_s), "%d", domid);
	snprintf(vcpus_s, sizeof(vcpus_s), "%d", vcpus);
	snprintf(sock, sizeof(sock), "%s/domains/%d/control.sock", run, domid);
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execlp("python3", "xenith-vmm", SCHED_STANDIN, "--rundir", run, "--name", name, "--domid",
		       domid_s, "--vcpus", vcpus_s, "--log", log, why ? "--unenforced" : NULL, why,
		       (char *)NULL);
		_exit(127);
	}
	for (int i = 0; pid > 0 && i < 200; i++) {
		if (!access(sock, F_OK))
			return pid;
		usleep(50 * 1000);
	}
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return -1;
}

static void stop(pid_t pid)
{
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

/* Whether the file holds the line. */
static bool file_has_line(const char *path, const char *line)
{
	char buf[1024];
	bool found = false;
	FILE *f = fopen(path, "r");

	while (f && !found && fgets(buf, sizeof(buf), f)) {
		buf[strcspn(buf, "\n")] = '\0';
		found = !strcmp(buf, line);
	}
	if (f)
		fclose(f);
	return found;
}

static void test_vcpus_and_credit(struct unit *u, const void *arg)
{
	struct scratch s;
	struct virt_dom d;
	struct virt_vcpu *v = NULL;
	char err[1024], log[128], log2[128];
	size_t n = 0;
	unsigned int weight = 0, cap = 0, w = 512, c = 25;
	pid_t a, b;
	(void)arg;

	if (!have_python(SCHED_STANDIN)) {
		unit_skip(u, "no python3 or %s", SCHED_STANDIN);
		return;
	}
	CHECK(scratch_begin(&s) == 0, "scratch");
	snprintf(log, sizeof(log), "%s/requests", s.run);
	snprintf(log2, sizeof(log2), "%s/requests-nocg", s.run);
	a = sched_standin(s.run, "web", 3, 3, log, NULL);
	b = sched_standin(s.run, "nocg", 4, 1, log2, "no cpu controller");
	CHECK(a > 0 && b > 0, "stand-ins %d %d", (int)a, (int)b);

	/* vcpu-list: running on CPU 0, blocked on CPU 1 after 1.25 s, the last without a thread. */
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_vcpus(&s.h, &d, &v, &n, err, sizeof(err)), 0);
	CHECK(n == 3, "n %zu", n);
	if (n == 3) {
		CHECK(v[0].number == 0 && v[0].state == VIR_VCPU_RUNNING && v[0].cpu == 0, "vcpu 0: %d %d",
		      v[0].state, v[0].cpu);
		CHECK(v[1].state == VIR_VCPU_BLOCKED && v[1].cpu == 1 && v[1].cpu_time_ns == 1250000000ULL,
		      "vcpu 1: %d %d %llu", v[1].state, v[1].cpu, v[1].cpu_time_ns);
		CHECK(v[2].state == VIR_VCPU_OFFLINE && v[2].cpu == -1, "vcpu 2: %d %d", v[2].state, v[2].cpu);
		CHECK(v[0].affinity[0] == 0xff && v[0].affinity[63] == 0xff, "'all' is every CPU");
	}
	free(v);

	/* A pin to CPU 0 goes to the VMM as xl vcpu-pin sends it, and reads back. */
	uint8_t map[2] = { 0x01, 0x00 };
	CHECK_INT(virt_domain_pin_vcpu(&s.h, &d, 1, map, sizeof(map), err, sizeof(err)), 0);
	CHECK(file_has_line(log, "vcpu-pin 1 0"), "request logged in %s", log);
	CHECK_INT(virt_domain_vcpus(&s.h, &d, &v, &n, err, sizeof(err)), 0);
	CHECK(n == 3 && v[1].affinity[0] == 0x01 && v[1].affinity[1] == 0 && v[0].affinity[0] == 0xff,
	      "vcpu 1 pinned to CPU 0: %02x", n == 3 ? v[1].affinity[0] : 0);
	free(v);
	CHECK_INT(virt_domain_pin_vcpu(&s.h, &d, 7, map, sizeof(map), err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "vCPU 7 does not exist") && strstr(err, "'web'"), "err: %s", err);
	map[0] = 0;
	CHECK_INT(virt_domain_pin_vcpu(&s.h, &d, 0, map, sizeof(map), err, sizeof(err)), -EINVAL);

	/* Credit: read, set both, read back. */
	CHECK_INT(virt_domain_sched_get(&s.h, &d, &weight, &cap, err, sizeof(err)), 0);
	CHECK(weight == 256 && cap == 0, "defaults %u %u", weight, cap);
	CHECK_INT(virt_domain_sched_set(&s.h, &d, &w, &c, err, sizeof(err)), 0);
	CHECK(file_has_line(log, "sched-credit weight=512 cap=25"), "request logged");
	CHECK_INT(virt_domain_sched_get(&s.h, &d, &weight, &cap, err, sizeof(err)), 0);
	CHECK(weight == 512 && cap == 25, "set %u %u", weight, cap);
	CHECK_INT(virt_domain_sched_set(&s.h, &d, NULL, &c, err, sizeof(err)), 0);
	CHECK(file_has_line(log, "sched-credit cap=25"), "cap alone");

	/* A VMM without a cgroup: read, but setting is unsupported with its reason. */
	CHECK_INT(virt_domain_lookup(&s.h, "nocg", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_sched_get(&s.h, &d, &weight, &cap, err, sizeof(err)), 0);
	/* (-ENOTSUP once xl reads the VMM's "ENOTSUP", which glibc names EOPNOTSUPP; -EIO until.) */
	int r = virt_domain_sched_set(&s.h, &d, &w, NULL, err, sizeof(err));
	CHECK(r == -ENOTSUP || r == -EIO, "refused: %d", r);
	CHECK(strstr(err, "no cpu controller") && strstr(err, "(nocg)"), "err: %s", err);

	/* setvcpus --live goes through xenstore; none runs here. */
	CHECK_INT(virt_domain_set_vcpus(&s.h, &d, 1, true, false, err, sizeof(err)), -EIO);
	CHECK(strstr(err, "xenstored"), "err: %s", err);

	/* Gone meanwhile: not running, said so. */
	stop(a);
	CHECK_INT(virt_domain_lookup(&s.h, "nocg", NULL, -1, &d, err, sizeof(err)), 0);
	d.id = 3;
	snprintf(d.name, sizeof(d.name), "web");
	CHECK_INT(virt_domain_vcpus(&s.h, &d, &v, &n, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not running"), "err: %s", err);
	stop(b);
	scratch_end(&s);
}

static int parse_vif(const char *spec, struct xl_vif *vif)
{
	char err[512];
	int r = xl_vif_parse(spec, "", 0, vif, NULL, err, sizeof(err));

	if (r)
		fprintf(stderr, "vif: %s\n", err);
	return r;
}

/* A bridge where xl looks for it (XENITH_SYSFS_NET), the repository's hotplug scripts and a 1 MiB
 * disk image (its path in img): 0 or -1. */
static int devices_host(struct scratch *s, const char *cwd, char *img, size_t len)
{
	char sysfs[128], cmd[640];
	int fd;

	snprintf(sysfs, sizeof(sysfs), "%s/sysfs", s->run);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/xenbr0/bridge'", sysfs);
	if (system(cmd))
		return -1;
	setenv("XENITH_SYSFS_NET", sysfs, 1);
	snprintf(cmd, sizeof(cmd), "%s/scripts", cwd);
	setenv("XENITH_SCRIPTS", cmd, 1);
	snprintf(img, len, "%s/disk.img", s->run);
	fd = open(img, O_CREAT | O_WRONLY, 0600);
	if (fd < 0)
		return -1;
	if (ftruncate(fd, 1 << 20)) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void test_devices(struct unit *u, const void *arg)
{
	static const char uuid_text[] = "6f1c3c1e-1111-4222-8333-0123456789ac";
	struct scratch s;
	struct domain_config dc;
	struct virt_dom d;
	struct xl_vif vif = { 0 }, other = { 0 }, bare = { 0 };
	struct xl_disk disk = { 0 }, xvdc = { 0 };
	struct xl_vif_info *vifs = NULL;
	struct xl_vbd_info *vbds = NULL;
	char err[1024], img[160], spec[640], cwd[512];
	size_t n = 0;
	pid_t a;
	(void)arg;

	if (!have_python(STANDIN) || !getcwd(cwd, sizeof(cwd))) {
		unit_skip(u, "no python3 or %s", STANDIN);
		return;
	}
	CHECK(scratch_begin(&s) == 0, "scratch");
	CHECK(devices_host(&s, cwd, img, sizeof(img)) == 0, "fake bridge, scripts, %s", img);
	CHECK(define_web(&s, "name='web'\nkernel='/k'\nmemory=64\n", uuid_text) == 0, "define");
	a = standin(s.run, "web", 3, uuid_text);
	CHECK(a > 0, "stand-in");
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);

	/* An interface, live and in the definition. */
	CHECK(parse_vif("mac=00:16:3e:00:00:01,bridge=xenbr0", &vif) == 0, "vif");
	CHECK_INT(virt_domain_attach_vif(&s.h, &d, &vif, true, true, err, sizeof(err)), 0);
	CHECK_INT(xl_vif_list(&s.h.xl, 3, &vifs, &n, err, sizeof(err)), 0);
	CHECK(n == 1 && !strcmp(vifs[0].mac, "00:16:3e:00:00:01") && !strcmp(vifs[0].vifname, "vif3.0"),
	      "live vif: %zu", n);
	free(vifs);
	CHECK_INT(virt_domain_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_vifs == 1 && dc.vifs[0].mac_set && dc.vifs[0].mac[5] == 1 &&
	      !strcmp(dc.vifs[0].bridge, "xenbr0"), "defined vif: %zu", dc.n_vifs);
	domain_config_free(&dc);
	CHECK_INT(virt_domain_attach_vif(&s.h, &d, &vif, false, true, err, sizeof(err)), -EEXIST);
	CHECK(strstr(err, "already has an interface with MAC 00:16:3e:00:00:01"), "err: %s", err);
	CHECK_INT(virt_domain_attach_vif(&s.h, &d, &vif, true, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "already has a vif with mac"), "err: %s", err);

	/* Detach of one that is not there, then of it. */
	CHECK(parse_vif("mac=00:16:3e:00:00:09", &other) == 0, "other vif");
	CHECK_INT(virt_domain_detach_vif(&s.h, &d, &other, false, true, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no interface with MAC 00:16:3e:00:00:09"), "err: %s", err);
	CHECK_INT(virt_domain_detach_vif(&s.h, &d, &other, true, false, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "00:16:3e:00:00:09"), "err: %s", err);
	CHECK_INT(virt_domain_detach_vif(&s.h, &d, &vif, true, true, err, sizeof(err)), 0);
	CHECK_INT(xl_vif_list(&s.h.xl, 3, &vifs, &n, err, sizeof(err)), 0);
	CHECK(n == 0, "live vifs left: %zu", n);
	free(vifs);
	CHECK_INT(virt_domain_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_vifs == 0, "defined vifs left: %zu", dc.n_vifs);
	domain_config_free(&dc);

	/* Without a MAC: one chosen once, the same live and defined; detached as the only one. */
	CHECK(parse_vif("bridge=xenbr0", &bare) == 0, "bare vif");
	CHECK_INT(virt_domain_attach_vif(&s.h, &d, &bare, true, true, err, sizeof(err)), 0);
	CHECK_INT(xl_vif_list(&s.h.xl, 3, &vifs, &n, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	char defined[VIF_MAC_TEXT] = "";
	if (dc.n_vifs == 1)
		xl_vif_mac_format(dc.vifs[0].mac, defined);
	CHECK(n == 1 && dc.n_vifs == 1 && !strcmp(vifs[0].mac, defined), "same MAC: %s %s",
	      n ? vifs[0].mac : "", defined);
	free(vifs);
	domain_config_free(&dc);
	CHECK_INT(virt_domain_detach_vif(&s.h, &d, &bare, true, true, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_detach_vif(&s.h, &d, &bare, false, true, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "has no interface"), "err: %s", err);

	/* A disk, live and in the definition. */
	char err2[512];
	snprintf(spec, sizeof(spec), "%s,raw,xvdb,rw", img);
	CHECK(xl_disk_parse(spec, "", &disk, NULL, err2, sizeof(err2)) == 0, "disk: %s", err2);
	CHECK(xl_disk_parse("/nonexistent.img,raw,xvdc,ro", "", &xvdc, NULL, err2, sizeof(err2)) == 0, "xvdc");
	CHECK_INT(virt_domain_attach_disk(&s.h, &d, &disk, true, true, err, sizeof(err)), 0);
	CHECK_INT(xl_vbd_list(&s.h.xl, 3, &vbds, &n, err, sizeof(err)), 0);
	CHECK(n == 1 && !strcmp(vbds[0].vdev, "xvdb") && !strcmp(vbds[0].target, img) && !vbds[0].readonly,
	      "live disk: %zu", n);
	xl_vbd_infos_free(vbds, n);
	CHECK_INT(virt_domain_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_disks == 1 && !strcmp(dc.disks[0].vdev, "xvdb") && !strcmp(dc.disks[0].target, img),
	      "defined disk: %zu", dc.n_disks);
	domain_config_free(&dc);
	CHECK_INT(virt_domain_attach_disk(&s.h, &d, &disk, false, true, err, sizeof(err)), -EEXIST);
	CHECK_INT(virt_domain_attach_disk(&s.h, &d, &xvdc, true, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "/nonexistent.img"), "err: %s", err);
	CHECK_INT(virt_domain_detach_disk(&s.h, &d, &xvdc, true, false, err, sizeof(err)), -ENOENT);
	CHECK(strstr(err, "no disk at xvdc"), "err: %s", err);
	CHECK_INT(virt_domain_detach_disk(&s.h, &d, &xvdc, false, true, err, sizeof(err)), -ENOENT);
	CHECK_INT(virt_domain_detach_disk(&s.h, &d, &disk, true, true, err, sizeof(err)), 0);
	CHECK_INT(xl_vbd_list(&s.h.xl, 3, &vbds, &n, err, sizeof(err)), 0);
	CHECK(n == 0, "live disks left: %zu", n);
	xl_vbd_infos_free(vbds, n);
	CHECK_INT(virt_domain_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_disks == 0, "defined disks left: %zu", dc.n_disks);
	domain_config_free(&dc);

	/* A stopped domain: config only; live is refused. */
	stop(a);
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_attach_vif(&s.h, &d, &vif, true, false, err, sizeof(err)), -EINVAL);
	CHECK(strstr(err, "not running"), "err: %s", err);
	CHECK_INT(virt_domain_attach_disk(&s.h, &d, &disk, false, true, err, sizeof(err)), 0);

	xl_vif_free(&vif);
	xl_vif_free(&other);
	xl_vif_free(&bare);
	xl_disk_free(&disk);
	xl_disk_free(&xvdc);
	unsetenv("XENITH_SYSFS_NET");
	scratch_end(&s);
}

/* Writes the config xl would have handed domain 3's VMM (domains/3/config): 0 or -1. */
static int save_config(struct scratch *s, const char *text)
{
	char path[160];
	FILE *f;

	snprintf(path, sizeof(path), "%s/domains/3/config", s->run);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

static void test_live_config(struct unit *u, const void *arg)
{
	static const char uuid_text[] = "6f1c3c1e-1111-4222-8333-0123456789ae";
	struct scratch s;
	struct domain_config dc;
	struct virt_dom d;
	struct xl_vif vif = { 0 };
	struct xl_disk disk = { 0 };
	char err[1024], img[160], spec[640], cwd[512], path[160];
	pid_t a;
	(void)arg;

	if (!have_python(STANDIN) || !getcwd(cwd, sizeof(cwd))) {
		unit_skip(u, "no python3 or %s", STANDIN);
		return;
	}
	CHECK(scratch_begin(&s) == 0, "scratch");
	CHECK(devices_host(&s, cwd, img, sizeof(img)) == 0, "fake bridge, scripts, %s", img);
	CHECK(define_web(&s, "name='web'\nkernel='/k'\nmemory=64\n"
			 "vif=['mac=00:16:3e:00:00:05,bridge=xenbr0']\n", uuid_text) == 0, "define");

	/* Not running: the definition. */
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_live_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_vifs == 1 && dc.memory_mb == 64, "shut off: %zu vifs, %lu MiB", dc.n_vifs, dc.memory_mb);
	domain_config_free(&dc);

	/* Running, its VMM kept no config: the definition, with the VMM's devices (none) and memory. */
	a = standin(s.run, "web", 3, uuid_text);
	CHECK(a > 0, "stand-in");
	CHECK_INT(virt_domain_lookup(&s.h, "web", NULL, -1, &d, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_live_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_vifs == 0 && dc.memory_mb == 32 && !strcmp(dc.kernel, "/k"),
	      "no saved config: %zu vifs, %lu MiB, kernel %s", dc.n_vifs, dc.memory_mb, dc.kernel);
	domain_config_free(&dc);

	/* Attached live only: there, as the VMM lists it (no xenstore says its bridge). */
	CHECK(parse_vif("mac=00:16:3e:00:00:07,bridge=xenbr0", &vif) == 0, "vif");
	CHECK_INT(virt_domain_attach_vif(&s.h, &d, &vif, true, false, err, sizeof(err)), 0);
	snprintf(spec, sizeof(spec), "%s,raw,xvdb,ro", img);
	CHECK(xl_disk_parse(spec, "", &disk, NULL, err, sizeof(err)) == 0, "disk: %s", err);
	CHECK_INT(virt_domain_attach_disk(&s.h, &d, &disk, true, false, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_live_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_vifs == 1 && dc.vifs[0].mac_set && dc.vifs[0].mac[5] == 7 && !dc.vifs[0].bridge &&
	      dc.vifs[0].vifname && !strcmp(dc.vifs[0].vifname, "vif3.0"), "live vif: %zu", dc.n_vifs);
	CHECK(dc.n_disks == 1 && !strcmp(dc.disks[0].vdev, "xvdb") && dc.disks[0].readonly &&
	      !strcmp(dc.disks[0].target, img), "live disk: %zu", dc.n_disks);
	domain_config_free(&dc);
	CHECK_INT(virt_domain_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_vifs == 1 && dc.vifs[0].mac[5] == 5 && dc.n_disks == 0, "definition: %zu vifs", dc.n_vifs);
	domain_config_free(&dc);

	/* With the config xl saved for the VMM: that config, its vif's details kept. */
	CHECK(save_config(&s, "name='web'\nkernel='/k2'\nmemory=64\n"
			  "vif=['mac=00:16:3e:00:00:07,bridge=br1']\n") == 0, "saved config");
	CHECK_INT(virt_domain_live_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(!strcmp(dc.kernel, "/k2") && dc.n_vifs == 1 && dc.vifs[0].bridge &&
	      !strcmp(dc.vifs[0].bridge, "br1") && dc.n_disks == 1, "saved config: kernel %s, %zu vifs",
	      dc.kernel, dc.n_vifs);
	domain_config_free(&dc);
	/* Detached live: gone from what runs. */
	CHECK_INT(virt_domain_detach_vif(&s.h, &d, &vif, true, false, err, sizeof(err)), 0);
	CHECK_INT(virt_domain_live_config(&s.h, &d, &dc, err, sizeof(err)), 0);
	CHECK(dc.n_vifs == 0 && dc.n_disks == 1, "after detach: %zu vifs", dc.n_vifs);
	domain_config_free(&dc);
	/* A saved config that does not parse is an error, not the definition. */
	CHECK(save_config(&s, "name='web'\nmemory=\n") == 0, "broken saved config");
	CHECK_INT(virt_domain_live_config(&s.h, &d, &dc, err, sizeof(err)), -EIO);
	domain_config_free(&dc);

	snprintf(path, sizeof(path), "%s/domains/3/config", s.run);
	unlink(path);     /* the stand-in's destroy removes only its own files */
	stop(a);
	xl_vif_free(&vif);
	xl_disk_free(&disk);
	unsetenv("XENITH_SYSFS_NET");
	scratch_end(&s);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "define, list, lookup, autostart, config edits, undefine", test_define_list_lookup,
		  NULL);
	unit_case(&u, "a broken definition is skipped", test_broken_definition_skipped, NULL);
	unit_case(&u, "start without KVM names the device", test_start_without_kvm, NULL);
	unit_case(&u, "running stand-ins: listed, states, suspend, resume, destroy",
		  test_running_standins, NULL);
	unit_case(&u, "vCPUs listed and pinned, credit read and set, through the VMM's requests",
		  test_vcpus_and_credit, NULL);
	unit_case(&u, "interfaces and disks attached and detached, live and in the definition",
		  test_devices, NULL);
	unit_case(&u, "the live config: what the VMM was started with, its devices as it lists them",
		  test_live_config, NULL);
	return unit_finish(&u);
}
