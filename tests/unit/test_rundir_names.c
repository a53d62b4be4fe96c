/* The run directory's name index (lib/rundir.c): claims refuse a live name through it, lookups find
 * a domain by name through it, a stale entry (ended domain, domid reused) is no entry, a run
 * directory made before the index is indexed by its first claim, and a directory placed without a
 * claim is still found by rundir_lookup_name.  Real files in a temporary run directory. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/rundir.h"
#include "unit.h"

struct fixture { struct rundir rd; char tmp[64]; };

static void setup(struct fixture *f)
{
	snprintf(f->tmp, sizeof(f->tmp), "/tmp/xenith-rundir-names.XXXXXX");
	if (!mkdtemp(f->tmp))
		abort();
	setenv("XENITH_RUNDIR", f->tmp, 1);
	if (rundir_open(&f->rd))
		abort();
}

static void teardown(struct fixture *f)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->tmp);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", f->tmp);
}

/* A staging directory with a name file, as the VMM makes it; its path in buf. */
static void stage(struct fixture *f, const char *tag, const char *name, char *buf, size_t len)
{
	char file[PATH_MAX];
	FILE *fp;

	rundir_path(&f->rd, buf, len, "domains/.new-%s", tag);
	mkdir(buf, 0755);
	snprintf(file, sizeof(file), "%s/name", buf);
	fp = fopen(file, "w");
	fprintf(fp, "%s\n", name);
	fclose(fp);
}

/* What a teardown does: the name first, then the directory (its index entry may stay). */
static void end_domain(struct fixture *f, int domid)
{
	char path[PATH_MAX];

	rundir_path(&f->rd, path, sizeof(path), "domains/%d/name", domid);
	unlink(path);
	rundir_path(&f->rd, path, sizeof(path), "domains/%d", domid);
	rmdir(path);
}

static void test_claim_and_find(struct unit *u, const void *arg)
{
	struct fixture f;
	char st[PATH_MAX];
	unsigned int domid = 0;
	(void)arg;

	setup(&f);
	stage(&f, "a", "web", st, sizeof(st));
	int a = rundir_claim_domid(&f.rd, st, "web", -1);
	CHECK(a == 1, "first claim: %d", a);
	CHECK(rundir_find_name(&f.rd, "web", &domid) == 0 && domid == 1, "find web: %u", domid);
	CHECK(rundir_find_name(&f.rd, "db", &domid) == -ENOENT, "db is not there");
	stage(&f, "b", "web", st, sizeof(st));
	CHECK(rundir_claim_domid(&f.rd, st, "web", -1) == -EEXIST, "a second web is refused");
	rundir_path(&f.rd, st, sizeof(st), "domains/.new-b");
	CHECK(access(st, F_OK) == 0, "the refused staging directory stays for its owner");
	stage(&f, "c", "db", st, sizeof(st));
	CHECK(rundir_claim_domid(&f.rd, st, "db", -1) == 2, "db gets the next domid");
	/* A restart keeps its name under a new domid. */
	stage(&f, "d", "web", st, sizeof(st));
	int again = rundir_claim_domid(&f.rd, st, "web", 1);
	CHECK(again == 3, "restart of web: %d", again);
	end_domain(&f, 1);
	CHECK(rundir_find_name(&f.rd, "web", &domid) == 0 && domid == 3, "web is now 3: %u", domid);
	teardown(&f);
}

static void test_stale_entries(struct unit *u, const void *arg)
{
	struct fixture f;
	char st[PATH_MAX];
	unsigned int domid;
	(void)arg;

	setup(&f);
	stage(&f, "a", "web", st, sizeof(st));
	CHECK(rundir_claim_domid(&f.rd, st, "web", -1) == 1, "web claimed");
	end_domain(&f, 1);            /* its entry stays behind, as a killed VMM's would */
	CHECK(rundir_find_name(&f.rd, "web", &domid) == -ENOENT, "an ended domain's entry is no entry");
	/* domid 1 reused by another name: the old entry must not name it web. */
	char path[PATH_MAX];
	rundir_path(&f.rd, path, sizeof(path), "last-domid");
	unlink(path);
	stage(&f, "b", "db", st, sizeof(st));
	CHECK(rundir_claim_domid(&f.rd, st, "db", -1) == 1, "db takes domid 1");
	CHECK(rundir_find_name(&f.rd, "web", &domid) == -ENOENT, "web's entry points at db's domid");
	stage(&f, "c", "web", st, sizeof(st));
	CHECK(rundir_claim_domid(&f.rd, st, "web", -1) == 2, "web may be created again");
	/* forget removes only its own entry. */
	rundir_forget_name(&f.rd, "web", 1);
	CHECK(rundir_find_name(&f.rd, "web", &domid) == 0 && domid == 2, "web's entry kept");
	rundir_forget_name(&f.rd, "web", 2);
	CHECK(rundir_find_name(&f.rd, "web", &domid) == -ENOENT, "web's entry forgotten");
	teardown(&f);
}

static void test_unindexed_domains(struct unit *u, const void *arg)
{
	struct fixture f;
	char st[PATH_MAX], path[PATH_MAX];
	unsigned int domid = 0;
	(void)arg;

	setup(&f);
	/* Placed without a claim, as the tests' stand-ins and a pre-index VMM did. */
	stage(&f, "x", "old", st, sizeof(st));
	rundir_path(&f.rd, path, sizeof(path), "domains/7");
	CHECK(rename(st, path) == 0, "placed domains/7");
	CHECK(rundir_find_name(&f.rd, "old", &domid) == -ENOENT, "not indexed yet");
	CHECK(rundir_lookup_name(&f.rd, "old", &domid) == 0 && domid == 7, "lookup scans: %u", domid);
	/* The first claim indexes the run directory once, so the name is taken. */
	stage(&f, "y", "old", st, sizeof(st));
	CHECK(rundir_claim_domid(&f.rd, st, "old", -1) == -EEXIST, "a pre-index domain's name is taken");
	CHECK(rundir_find_name(&f.rd, "old", &domid) == 0 && domid == 7, "indexed: %u", domid);
	/* Names that are no plain file names still work. */
	stage(&f, "z", "..", st, sizeof(st));
	int dots = rundir_claim_domid(&f.rd, st, "..", -1);
	CHECK(dots > 0, "'..' claimed: %d", dots);
	CHECK(rundir_find_name(&f.rd, "..", &domid) == 0 && (int)domid == dots, "'..' found");
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(rundir_lookup_name(&f.rd, longname, &domid) == -ENOENT, "an impossible name is no domain");
	teardown(&f);
}

int main(void)
{
	struct unit u = UNIT_INIT;

	unit_case(&u, "claim-and-find", test_claim_and_find, NULL);
	unit_case(&u, "stale-entries", test_stale_entries, NULL);
	unit_case(&u, "unindexed-domains", test_unindexed_domains, NULL);
	return unit_finish(&u);
}
