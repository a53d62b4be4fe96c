/* docs/vmm-control.md and the control socket's request table (vmm/control.h) agree: every row of
 * the table is in the doc's request table with the same usage, and every request the doc lists is
 * a row.  The doc is found under $XENITH_TEST_ROOT, else above this test's binary, else in the
 * current folder; without it the case is a skip.  The parser is shown to catch a missing request
 * on both sides with a doc written for the purpose. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>
#include "backends/pv_backend.h"
#include "vmm/control.h"
#include "unit.h"

#define DOC "docs/vmm-control.md"
#define SECTION "## Control socket requests"
#define DOC_MAX (1 << 20)
#define USAGES_MAX 64

struct doc_usages {
	char usage[USAGES_MAX][128];
	unsigned int n;
};

/* The path of the doc, or false. */
static bool find_doc(char *path, size_t len)
{
	const char *root = getenv("XENITH_TEST_ROOT");
	char self[PATH_MAX];

	if (root) {
		snprintf(path, len, "%s/" DOC, root);
		if (!access(path, R_OK))
			return true;
	}
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		for (int up = 0; up < 6; up++) {
			char *slash = strrchr(self, '/');
			if (!slash)
				break;
			*slash = '\0';
			snprintf(path, len, "%.*s/" DOC, PATH_MAX - 32, self);
			if (!access(path, R_OK))
				return true;
		}
	}
	snprintf(path, len, DOC);
	return !access(path, R_OK);
}

/* The first backquoted text of each "| `...` |" row in the section, until the next heading. */
static int parse_doc(const char *text, struct doc_usages *out, char *why, size_t whylen)
{
	const char *at = strstr(text, "\n" SECTION "\n");

	out->n = 0;
	if (!at) {
		snprintf(why, whylen, "no '%s' section", SECTION);
		return -1;
	}
	at = strchr(at + 1, '\n') + 1;
	while (*at && strncmp(at, "## ", 3)) {
		const char *eol = strchr(at, '\n');
		size_t line_len = eol ? (size_t)(eol - at) : strlen(at);
		if (line_len > 3 && !strncmp(at, "| `", 3)) {
			const char *end = memchr(at + 3, '`', line_len - 3);
			size_t n = end ? (size_t)(end - (at + 3)) : 0;
			if (!end || !n || n >= sizeof(out->usage[0]) || out->n == USAGES_MAX) {
				snprintf(why, whylen, "a row of the request table cannot be read: %.*s", (int)line_len, at);
				return -1;
			}
			memcpy(out->usage[out->n], at + 3, n);
			out->usage[out->n++][n] = '\0';
		}
		at = eol ? eol + 1 : at + line_len;
	}
	if (!out->n) {
		snprintf(why, whylen, "the '%s' section has no request rows", SECTION);
		return -1;
	}
	return 0;
}

/* A usage's request name: its first word. */
static void name_of(const char *usage, char *name, size_t len)
{
	size_t n = strcspn(usage, " ");

	snprintf(name, len, "%.*s", (int)(n < len ? n : len - 1), usage);
}

/* Every disagreement, one line each, into report; how many. */
static unsigned int compare(const struct control_request *t, size_t n, const struct doc_usages *d, char *report,
			    size_t len)
{
	unsigned int found = 0;
	size_t at = 0;
	char name[128];

	report[0] = '\0';
#define SAY(...) do { found++; if (at < len) at += (size_t)snprintf(report + at, len - at, __VA_ARGS__); } while (0)
	for (size_t i = 0; i < n; i++) {
		bool named = false, same = false;
		for (unsigned int j = 0; j < d->n; j++) {
			name_of(d->usage[j], name, sizeof(name));
			if (!strcmp(name, t[i].name)) {
				named = true;
				same = same || !strcmp(d->usage[j], t[i].usage);
			}
		}
		if (!named)
			SAY("request '%s' is in the table but not in " DOC "; ", t[i].name);
		else if (!same)
			SAY("request '%s': the table's usage is '%s', " DOC " has another; ", t[i].name, t[i].usage);
	}
	for (unsigned int j = 0; j < d->n; j++) {
		bool known = false;
		name_of(d->usage[j], name, sizeof(name));
		for (size_t i = 0; i < n && !known; i++)
			known = !strcmp(name, t[i].name);
		if (!known)
			SAY("request '%s' is in " DOC " but not in the table; ", name);
	}
#undef SAY
	return found;
}

static char *slurp(const char *path, char *why, size_t whylen)
{
	FILE *f = fopen(path, "r");
	char *buf = malloc(DOC_MAX + 1);
	size_t n = 0;

	if (!f || !buf) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, DOC_MAX, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static void test_doc_agrees(struct unit *u, const void *arg)
{
	const char *path = arg;
	char why[512], report[4096];
	struct doc_usages d;
	size_t n_fixed, n;
	const struct control_request *fixed = control_requests(&n_fixed);
	/* The fixed rows, then the PV backend table's requests (served through one row). */
	char usages[USAGES_MAX][128], names[USAGES_MAX][32];
	struct control_request t[USAGES_MAX];
	char *text = slurp(path, why, sizeof(why));

	for (n = 0; n < n_fixed && n < USAGES_MAX; n++)
		t[n] = fixed[n];
	for (unsigned int i = 0; n < USAGES_MAX && pv_backend_verb_usage(i, usages[n], sizeof(usages[n])); i++, n++) {
		name_of(usages[n], names[n], sizeof(names[n]));
		const struct control_request *row = control_device_request(names[n]);
		CHECK(row, "'%s' is not served by the control socket", names[n]);
		t[n] = (struct control_request){ names[n], usages[n], row ? row->description : "", NULL, 0 };
	}
	CHECK(text, "%s", why);
	if (!text)
		return;
	if (parse_doc(text, &d, why, sizeof(why))) {
		CHECK(0, "%s: %s", path, why);
	} else {
		unsigned int bad = compare(t, n, &d, report, sizeof(report));
		CHECK(bad == 0, "%u disagreement(s): %s", bad, report);
	}
	free(text);
}

/* The checker itself: a doc missing one request and naming one that does not exist. */
static void test_checker_catches(struct unit *u, const void *arg)
{
	(void)arg;
	const struct control_request table[] = {
		{ "alpha", "alpha", "a", NULL, 0 },
		{ "beta", "beta N", "b", NULL, 0 },
		{ "gamma", "gamma", "c", NULL, 0 },
	};
	const char *doc = "# x\n\n" SECTION "\ntext\n\n| request | reply | effect |\n| --- | --- | --- |\n"
			  "| `alpha` | | |\n| `beta M` | | |\n| `delta X` | | |\n\n## Next\n| `gamma` | | |\n";
	struct doc_usages d;
	char why[256], report[1024];

	CHECK(parse_doc(doc, &d, why, sizeof(why)) == 0, "parse: %s", why);
	CHECK(d.n == 3, "%u rows read (the next section's must not count)", d.n);
	unsigned int bad = compare(table, 3, &d, report, sizeof(report));
	CHECK(bad == 3, "%u disagreements found: %s", bad, report);
	CHECK(strstr(report, "'gamma' is in the table but not in") != NULL, "missing from the doc not named: %s",
	      report);
	CHECK(strstr(report, "'delta' is in " DOC " but not in the table") != NULL,
	      "missing from the table not named: %s", report);
	CHECK(strstr(report, "'beta': the table's usage is 'beta N'") != NULL, "usage difference not named: %s",
	      report);
	CHECK(parse_doc("# nothing here\n", &d, why, sizeof(why)) == -1, "a doc without the section parsed");
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char path[PATH_MAX];

	unit_case(&u, "control doc: the checker names what is missing on either side", test_checker_catches, NULL);
	if (find_doc(path, sizeof(path)))
		unit_case(&u, "control doc: docs/vmm-control.md lists every request of the table, and no other",
			  test_doc_agrees, path);
	else
		printf("skip - control doc: docs/vmm-control.md lists every request of the table: " DOC
		       " not found (XENITH_TEST_ROOT, above the test binary, or the current folder)\n");
	return unit_finish(&u);
}
