/* The disk index (lib/disk_index.c) and xl's in-use check through it (xl/xl_block.c): entries keyed
 * by what a target is, rewritten whole, forgotten only as read, junk ignored; the check asks only
 * the domains the index names (the others, with no VMM at all, are never contacted), refuses as
 * before, and drops an entry whose domain has ended.  Real files, a real socket and a fake VMM
 * thread in a temporary run directory. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "lib/disk_index.h"
#include "lib/rundir.h"
#include "xl/xl_block.h"
#include "unit.h"

struct fixture { struct rundir rd; char tmp[64]; char img[PATH_MAX]; struct stat st; };

static void setup(struct fixture *f)
{
	FILE *fp;

	snprintf(f->tmp, sizeof(f->tmp), "/tmp/xenith-disk-index.XXXXXX");
	if (!mkdtemp(f->tmp))
		abort();
	snprintf(f->img, sizeof(f->img), "%s/img", f->tmp);
	fp = fopen(f->img, "w");
	if (!fp)
		abort();
	fclose(fp);
	stat(f->img, &f->st);
	char rd[PATH_MAX];
	snprintf(rd, sizeof(rd), "%s/run", f->tmp);
	setenv("XENITH_RUNDIR", rd, 1);
	if (rundir_open(&f->rd))
		abort();
}

static void teardown(struct fixture *f)
{
	char cmd[128];

	unsetenv("XENITH_RUNDIR");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", f->tmp);
}

static int users(struct fixture *f, const struct stat *st, struct disk_index_user *out, size_t max)
{
	struct disk_index_user *list;
	size_t n;

	if (disk_index_users(&f->rd, st, &list, &n))
		return -1;
	for (size_t i = 0; i < n && i < max; i++)
		out[i] = list[i];
	free(list);
	return (int)n;
}

static void test_add_and_list(struct unit *u, const void *arg)
{
	struct fixture f;
	struct disk_index_user got[4];
	char link[PATH_MAX + 8];
	struct stat via_link;

	(void)arg;
	setup(&f);
	CHECK(users(&f, &f.st, got, 4) == 0, "entries before any add");
	CHECK(disk_index_add(&f.rd, &f.st, "web", false) == 0, "add");
	snprintf(link, sizeof(link), "%s/link", f.tmp);
	CHECK(symlink("img", link) == 0 && stat(link, &via_link) == 0, "symlink");
	CHECK(users(&f, &via_link, got, 4) == 1 && !strcmp(got[0].name, "web") && !got[0].readonly,
	      "the target through a link is not the same entry");
	CHECK(disk_index_add(&f.rd, &f.st, "web", true) == 0 && users(&f, &f.st, got, 4) == 1 &&
	      got[0].readonly, "a second add did not replace the mode");
	CHECK(disk_index_add(&f.rd, &f.st, "..", true) == 0 && disk_index_add(&f.rd, &f.st, ".", true) == 0 &&
	      users(&f, &f.st, got, 4) == 3, "'.' and '..' are not names like any other");
	teardown(&f);
}

static void test_forget(struct unit *u, const void *arg)
{
	struct fixture f;
	struct disk_index_user got[2], stale = { .name = "web", .readonly = true };
	char dir[PATH_MAX], key[48];

	(void)arg;
	setup(&f);
	disk_index_add(&f.rd, &f.st, "web", false);
	disk_index_forget(&f.rd, &f.st, &stale);   /* read as "r", but it says "w" now */
	CHECK(users(&f, &f.st, got, 2) == 1, "an entry rewritten since it was read was removed");
	stale.readonly = false;
	disk_index_forget(&f.rd, &f.st, &stale);
	CHECK(users(&f, &f.st, got, 2) == 0, "the entry stayed");
	disk_index_key(&f.st, key, sizeof(key));
	rundir_path(&f.rd, dir, sizeof(dir), "disks/%s", key);
	CHECK(access(dir, F_OK) != 0, "the target's empty directory stayed");
	teardown(&f);
}

static void test_keys(struct unit *u, const void *arg)
{
	struct stat a = { .st_mode = S_IFBLK | 0600, .st_rdev = 0x801, .st_ino = 10 };
	struct stat b = { .st_mode = S_IFBLK | 0600, .st_rdev = 0x801, .st_ino = 20 };
	struct stat c = { .st_mode = S_IFREG | 0600, .st_dev = 0x801, .st_ino = 10 };
	char ka[48], kb[48], kc[48];

	(void)arg;
	disk_index_key(&a, ka, sizeof(ka));
	disk_index_key(&b, kb, sizeof(kb));
	disk_index_key(&c, kc, sizeof(kc));
	CHECK_STR(ka, kb);
	CHECK(strcmp(ka, kc) != 0, "a block device and a file share key %s", ka);
	CHECK_STR(kc, "801:a");
}

static void test_junk_ignored(struct unit *u, const void *arg)
{
	struct fixture f;
	struct disk_index_user got[4];
	char dir[PATH_MAX], path[PATH_MAX + 300], key[48], longname[DOMAIN_NAME_MAX + 3];
	FILE *fp;

	(void)arg;
	setup(&f);
	disk_index_add(&f.rd, &f.st, "web", true);
	disk_index_key(&f.st, key, sizeof(key));
	rundir_path(&f.rd, dir, sizeof(dir), "disks/%s", key);
	snprintf(path, sizeof(path), "%s/=plain", dir);
	fp = fopen(path, "w");
	if (fp)
		fclose(fp);
	snprintf(path, sizeof(path), "%s/=rw", dir);
	symlink("rw", path);
	snprintf(path, sizeof(path), "%s/=x", dir);
	symlink("x", path);
	snprintf(path, sizeof(path), "%s/nameless", dir);
	symlink("w", path);
	memset(longname, 'n', sizeof(longname) - 1);
	longname[0] = '=';
	longname[sizeof(longname) - 1] = '\0';
	snprintf(path, sizeof(path), "%s/%s", dir, longname);
	symlink("w", path);
	CHECK(users(&f, &f.st, got, 4) == 1 && !strcmp(got[0].name, "web"), "junk was read as entries");
	CHECK(!disk_index_complete(&f.rd), "complete before it was marked");
	CHECK(disk_index_mark_complete(&f.rd) == 0 && disk_index_complete(&f.rd), "marking");
	teardown(&f);
}

/* ---- xl's check through the index ------------------------------------------------------------ */

struct fake_vmm { int fd; char reply[PATH_MAX + 64]; int asked; };

static void *serve(void *arg)
{
	struct fake_vmm *v = arg;

	for (;;) {
		char req[256];
		int c = accept(v->fd, NULL, NULL);
		ssize_t n;

		if (c < 0)
			return NULL;
		n = recv(c, req, sizeof(req) - 1, 0);
		if (n > 0) {
			req[n] = '\0';
			if (!strcmp(req, "quit")) {
				close(c);
				return NULL;
			}
			v->asked++;
			if (!strcmp(req, "vbd-list"))
				send(c, v->reply, strlen(v->reply), MSG_NOSIGNAL);
			else
				send(c, "error ENOSYS unknown request", 28, MSG_NOSIGNAL);
		}
		close(c);
	}
}

/* domains/<domid> with a name, as a claim leaves it (the name index included). */
static void place(struct fixture *f, const char *name, int *domid)
{
	char stage[PATH_MAX], file[PATH_MAX + 8];
	FILE *fp;

	rundir_path(&f->rd, stage, sizeof(stage), "domains/.new-%s", name);
	mkdir(stage, 0755);
	snprintf(file, sizeof(file), "%s/name", stage);
	fp = fopen(file, "w");
	fprintf(fp, "%s", name);
	fclose(fp);
	*domid = rundir_claim_domid(&f->rd, stage, name, -1);
}

static void test_check(struct unit *u, const void *arg)
{
	enum { OTHERS = 300 };
	struct fixture f;
	struct fake_vmm v = { .fd = -1 };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct xl_ctx ctx = { 0 };
	struct xl_disk d = { 0 };
	struct disk_index_user got[2];
	char err[1024] = "", want[PATH_MAX + 128], name[32], path[PATH_MAX];
	pthread_t thread;
	int web = -1, id, gone_before;

	(void)arg;
	setup(&f);
	place(&f, "web", &web);
	for (int i = 0; i < OTHERS; i++) {          /* no VMM behind them: asking one would fail */
		snprintf(name, sizeof(name), "idle%d", i);
		place(&f, name, &id);
	}
	rundir_path(&f.rd, path, sizeof(path), "domains/%d/control.sock", web);
	if (strlen(path) >= sizeof(sa.sun_path)) {
		CHECK(0, "socket path too long: %s", path);
		teardown(&f);
		return;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	v.fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (v.fd < 0 || bind(v.fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(v.fd, 8) ||
	    pthread_create(&thread, NULL, serve, &v)) {
		CHECK(0, "no fake VMM: %s", strerror(errno));
		teardown(&f);
		return;
	}
	snprintf(v.reply, sizeof(v.reply), "ok\n51712 xvda 4 5 8 rw %s\n", f.img);
	CHECK(xl_ctx_rundir(&ctx) == 0, "no run directory");
	d.target = f.img;
	d.resolved = true;
	d.st = f.st;
	d.readonly = true;
	disk_index_mark_complete(&f.rd);
	disk_index_add(&f.rd, &f.st, "web", false);
	disk_index_add(&f.rd, &f.st, "gone", false);     /* a domain that ended */
	CHECK(xl_disks_check_in_use(&ctx, &d, 1, err, sizeof(err)) == -1, "accepted");
	snprintf(want, sizeof(want), "%s is already attached read-write to domain 'web'", f.img);
	CHECK_STR(err, want);
	gone_before = users(&f, &f.st, got, 2);
	CHECK(v.asked == 1, "web's VMM was asked %d times", v.asked);
	/* web detached it: its VMM now says so, and the check passes though the entry stays. */
	snprintf(v.reply, sizeof(v.reply), "ok\n");
	CHECK(xl_disks_check_in_use(&ctx, &d, 1, err, sizeof(err)) == 0, "refused: %s", err);
	CHECK(users(&f, &f.st, got, 2) == 1 && !strcmp(got[0].name, "web"),
	      "the ended domain's entry stayed (%d before)", gone_before);
	/* Every other domain is still there: none was asked (an unanswered one would be reaped). */
	for (int i = 0; i < OTHERS; i++) {
		snprintf(name, sizeof(name), "idle%d", i);
		if (rundir_find_name(&f.rd, name, (unsigned int *)&id)) {
			CHECK(0, "%s was reaped: it was asked", name);
			break;
		}
	}
	/* Readers never clash: a read-only entry is not even asked about for a read-only disk. */
	disk_index_add(&f.rd, &f.st, "web", true);
	v.asked = 0;
	CHECK(xl_disks_check_in_use(&ctx, &d, 1, err, sizeof(err)) == 0 && v.asked == 0,
	      "asked %d times", v.asked);
	{
		int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

		if (s >= 0 && !connect(s, (struct sockaddr *)&sa, sizeof(sa)))
			send(s, "quit", 4, MSG_NOSIGNAL);
		if (s >= 0)
			close(s);
	}
	pthread_join(thread, NULL);
	close(v.fd);
	teardown(&f);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "add and list, by what the target is", test_add_and_list, NULL);
	unit_case(&u, "forget only what was read", test_forget, NULL);
	unit_case(&u, "keys: block devices by number", test_keys, NULL);
	unit_case(&u, "junk in the index is no entry", test_junk_ignored, NULL);
	unit_case(&u, "xl's check asks only the indexed domains", test_check, NULL);
	return unit_finish(&u);
}
