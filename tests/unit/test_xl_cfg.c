/* xl.cfg parser: good configs are compared through a canonical dump of what was parsed, bad
 * ones by their exact error text. */
#include "xl/xl_cfg.h"
#include "lib/domain_limits.h"
#include "unit.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Values written back in one line: "strings" with C escapes, numbers in decimal (plus how they
 * were written when that differs), [lists]. */
static void dump_value(FILE *out, const struct cfg_value *v)
{
	switch (v->kind) {
	case CFG_STRING:
		fputc('"', out);
		for (const char *c = v->str; *c; c++) {
			if (*c == '\n') fputs("\\n", out);
			else if (*c == '\t') fputs("\\t", out);
			else if (*c == '"' || *c == '\\') fprintf(out, "\\%c", *c);
			else if ((unsigned char)*c < 0x20) fprintf(out, "\\x%02x", *c);
			else fputc(*c, out);
		}
		fputc('"', out);
		break;
	case CFG_NUMBER: {
		char decimal[32];
		snprintf(decimal, sizeof(decimal), "%lld", v->num);
		fputs(decimal, out);
		if (strcmp(decimal, v->str))
			fprintf(out, "(%s)", v->str);
		break;
	}
	case CFG_LIST:
		fputc('[', out);
		for (size_t i = 0; i < v->n_items; i++) {
			if (i)
				fputs(", ", out);
			dump_value(out, &v->items[i]);
		}
		fputc(']', out);
		break;
	}
}

/* "key@line: value\n" per entry, in order; malloc'd. */
static char *dump_cfg(const struct xl_cfg *cfg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	for (size_t i = 0; i < cfg->n_entries; i++) {
		fprintf(out, "%s@%d: ", cfg->entries[i].key, cfg->entries[i].line);
		dump_value(out, &cfg->entries[i].value);
		fputc('\n', out);
	}
	fclose(out);
	return text;
}

struct good_case {
	const char *name, *text, *dump;
};

static const struct good_case good_cases[] = {
	{ "basic", "name = \"hello\"\nmemory = 256\n", "name@1: \"hello\"\nmemory@2: 256\n" },
	{ "empty file", "", "" },
	{ "only comments and blank lines", "# a comment\n\n   # another\n\t\n", "" },
	{ "single quotes and free whitespace", "  name='a b'  ;memory=0x100 # hex\n",
	  "name@1: \"a b\"\nmemory@1: 256(0x100)\n" },
	{ "no spaces at all", "a=1", "a@1: 1\n" },
	{ "no trailing newline", "name = \"x\"", "name@1: \"x\"\n" },
	{ "CRLF line ends", "a = 1\r\nb = 'x'\r\n", "a@1: 1\nb@2: \"x\"\n" },
	{ "semicolons", "a=1;b=2; c = 3;;\n;d=4", "a@1: 1\nb@1: 2\nc@1: 3\nd@2: 4\n" },
	{ "comment after value", "a = 1 # one\nb = \"x\"# no space\n", "a@1: 1\nb@2: \"x\"\n" },
	{ "hash and semicolon inside strings", "a = \"x#y;z\"\n", "a@1: \"x#y;z\"\n" },
	{ "empty string", "a = \"\"\nb = ''\n", "a@1: \"\"\nb@2: \"\"\n" },
	{ "double-quote escapes", "a = \"q\\\"b\\\\s\\nn\\tt\"\n", "a@1: \"q\\\"b\\\\s\\nn\\tt\"\n" },
	{ "single-quote escapes", "a = 'it\\'s'\nb = 'say \"hi\"'\nc = \"x'y\"\n",
	  "a@1: \"it's\"\nb@2: \"say \\\"hi\\\"\"\nc@3: \"x'y\"\n" },
	{ "other libxlu escapes", "a = \"\\a\\r\"\n", "a@1: \"\\x07\\x0d\"\n" },
	{ "numbers", "a = 0\nb = 0x1F\nc = 010\nd = 9223372036854775807\n",
	  "a@1: 0\nb@2: 31(0x1F)\nc@3: 8(010)\nd@4: 9223372036854775807\n" },
	{ "key characters", "_k9 = 1\nKey_A=2\n", "_k9@1: 1\nKey_A@2: 2\n" },
	{ "lists", "disk = [ 'a', \"b\" ]\nn = [1,2 , 0x3]\n",
	  "disk@1: [\"a\", \"b\"]\nn@2: [1, 2, 3(0x3)]\n" },
	{ "empty lists", "a = []\nb = [ ]\nc = [\n]\n", "a@1: []\nb@2: []\nc@3: []\n" },
	{ "trailing comma", "a = [1,]\nb = [ 'x' , ]\n", "a@1: [1]\nb@2: [\"x\"]\n" },
	{ "list over lines with comments",
	  "vif = [ # first\n  'mac=00:16:3e:00:00:01,bridge=xenbr0', # nic\n\n  'bridge=b2'\n  ]\nx = 1\n",
	  "vif@1: [\"mac=00:16:3e:00:00:01,bridge=xenbr0\", \"bridge=b2\"]\nx@6: 1\n" },
	{ "mixed list", "m = [1, 'two', \"3\"]", "m@1: [1, \"two\", \"3\"]\n" },
	{ "repeated key replaces in place", "memory = 1\nname = 'n'\nmemory = 2\n",
	  "memory@3: 2\nname@2: \"n\"\n" },
	{ "repeated key changes kind", "a = [1]\na = 'x'\n", "a@2: \"x\"\n" },
	{ "+= appends lists and scalars",
	  "vif = ['a']\nvif += ['b', 'c']\nvif += 'd'\nvif+=[]\n",
	  "vif@4: [\"a\", \"b\", \"c\", \"d\"]\n" },
	{ "+= without an earlier key makes a list", "extra += 'x'\nl += [1, 2]\n",
	  "extra@1: [\"x\"]\nl@2: [1, 2]\n" },
	{ "= after += replaces", "l += [1]\nl = 2\n", "l@2: 2\n" },
};

static void test_good(struct unit *u, const void *arg)
{
	const struct good_case *c = arg;
	struct xl_cfg cfg;
	char err[256] = "";
	int rc = xl_cfg_parse_string(c->text, "t.cfg", &cfg, err, sizeof(err));
	CHECK(rc == 0, "parse failed: %s", err);
	if (rc)
		return;
	CHECK_STR(cfg.source, "t.cfg");
	char *dump = dump_cfg(&cfg);
	CHECK_STR(dump, c->dump);
	for (size_t i = 0; i < cfg.n_entries; i++)
		CHECK_STR(cfg.entries[i].source, "t.cfg");
	free(dump);
	xl_cfg_free(&cfg);
}

struct bad_case {
	const char *name, *text, *error;
};

static const struct bad_case bad_cases[] = {
	{ "missing =", "name = \"hello\"\n\nmemory 256\n", "t.cfg:3: expected '=' after 'memory'" },
	{ "key alone at end", "a = 1\nmemory", "t.cfg:2: expected '=' after 'memory'" },
	{ "unterminated string", "a=1\n\n\n\nkernel = \"abc\n", "t.cfg:5: unterminated string" },
	{ "unterminated at end of input", "a = 'abc", "t.cfg:1: unterminated string" },
	{ "string across lines", "k = \"ab\ncd\"\n", "t.cfg:1: unterminated string" },
	{ "escaped newline", "k = \"ab\\\ncd\"\n", "t.cfg:1: unterminated string" },
	{ "stray ] on its own line", "a=1\n]\n", "t.cfg:2: unexpected ']'" },
	{ "stray ] after value", "memory = 128]\n", "t.cfg:1: unexpected ']'" },
	{ "missing value at newline", "a = 1\nmemory =\n", "t.cfg:2: missing value for 'memory'" },
	{ "missing value before comment", "memory = # c\n", "t.cfg:1: missing value for 'memory'" },
	{ "missing value before ;", "memory=;a=1", "t.cfg:1: missing value for 'memory'" },
	{ "missing value at end", "memory +=", "t.cfg:1: missing value for 'memory'" },
	{ "unquoted string", "name = hello\n",
	  "t.cfg:1: unquoted string 'hello' (strings need quotes)" },
	{ "unquoted path", "kernel = /boot/vmlinuz # x\n",
	  "t.cfg:1: unquoted string '/boot/vmlinuz' (strings need quotes)" },
	{ "list of lists", "l = [1, [2]]\n", "t.cfg:1: lists cannot contain lists" },
	{ "list of lists on a later line", "l = [\n 1,\n [2]]\n", "t.cfg:3: lists cannot contain lists" },
	{ "list of lists without comma", "l = [1 [2]]\n", "t.cfg:1: lists cannot contain lists" },
	{ "missing comma", "l = [1 2]\n", "t.cfg:1: expected ',' or ']' in list, found '2'" },
	{ "unterminated list", "a = 1\nl = [1,\n2\n", "t.cfg:2: unterminated list (missing ']')" },
	{ "unterminated list after comment", "l = [ # ]\n", "t.cfg:1: unterminated list (missing ']')" },
	{ "leading comma in list", "l = [,]\n", "t.cfg:1: unexpected ','" },
	{ "double comma in list", "l = [1,\n,2]\n", "t.cfg:2: unexpected ','" },
	{ "number with suffix", "memory = 128M\n", "t.cfg:1: invalid number '128M'" },
	{ "bad octal", "x = 08\n", "t.cfg:1: invalid number '08'" },
	{ "decimal point", "x = 1.5\n", "t.cfg:1: invalid number '1.5'" },
	{ "empty hex", "x = 0x\n", "t.cfg:1: invalid number '0x'" },
	{ "number out of range", "x = 99999999999999999999\n",
	  "t.cfg:1: number '99999999999999999999' is out of range" },
	{ "negative number", "x = -1\n", "t.cfg:1: unexpected '-'" },
	{ "invalid escape", "a = \"x\\qy\"\n", "t.cfg:1: invalid escape '\\q' in string" },
	{ "key starting with a digit", "3 = 4\n", "t.cfg:1: unexpected '3'" },
	{ "key with a dash", "on-crash = 'x'\n", "t.cfg:1: expected '=' after 'on'" },
	{ "two values", "a = 1 2\n", "t.cfg:1: unexpected '2'" },
	{ "two strings", "a = \"x\" \"y\"\n", "t.cfg:1: unexpected '\"'" },
	{ "double =", "a == 1\n", "t.cfg:1: unexpected '='" },
	{ "+= without key", "+= 1\n", "t.cfg:1: unexpected '+'" },
	{ "junk after a list over lines", "l = [1,\n2] x\n", "t.cfg:2: unexpected 'x'" },
	{ "control byte", "a = \x01\n", "t.cfg:1: unexpected byte 0x01" },
	{ "+= onto a string", "a = 's'\na += 't'\n", "t.cfg:2: cannot append to 'a': it is not a list" },
	{ "+= onto a number", "a = 1\na += [2]\n", "t.cfg:2: cannot append to 'a': it is not a list" },
	{ "first error stops", "a = ]\nb 1\n", "t.cfg:1: unexpected ']'" },
	{ "error after good lines", "name = 'x'\nmemory = 1\nvcpus = [\n1,\n2\n", "t.cfg:3: unterminated list (missing ']')" },
};

static void test_bad(struct unit *u, const void *arg)
{
	const struct bad_case *c = arg;
	struct xl_cfg cfg;
	char err[256] = "";
	int rc = xl_cfg_parse_string(c->text, "t.cfg", &cfg, err, sizeof(err));
	CHECK(rc == -1, "parse returned %d, expected -1", rc);
	CHECK_STR(err, c->error);
	/* A failed parse leaves nothing to free, and freeing it again is harmless. */
	CHECK(cfg.n_entries == 0 && !cfg.entries && !cfg.source, "cfg not left empty");
	xl_cfg_free(&cfg);
}

static void test_item_lines(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_cfg cfg;
	char err[256] = "";
	CHECK(xl_cfg_parse_string("\n\nl = [ 1,\n\n 'two',\n 3 ]\n", "t.cfg", &cfg, err,
				  sizeof(err)) == 0, "parse: %s", err);
	const struct cfg_entry *e = xl_cfg_get(&cfg, "l");
	CHECK(e != NULL, "no entry l");
	if (e) {
		CHECK_INT(e->line, 3);
		CHECK_INT(e->value.line, 3);
		CHECK_INT(e->value.n_items, 3);
		if (e->value.n_items == 3) {
			CHECK_INT(e->value.items[0].line, 3);
			CHECK_INT(e->value.items[1].line, 5);
			CHECK_INT(e->value.items[2].line, 6);
		}
	}
	CHECK(xl_cfg_get(&cfg, "missing") == NULL, "xl_cfg_get of a missing key");
	CHECK(xl_cfg_get(&cfg, "L") == NULL, "keys are case-sensitive");
	xl_cfg_free(&cfg);
}

/* Writes text to a fresh temporary file; the caller unlinks it. */
static void temp_file(char path[64], const char *text, size_t len)
{
	snprintf(path, 64, "/tmp/xenith-test-cfg-XXXXXX");
	int fd = mkstemp(path);
	if (fd >= 0) {
		if (write(fd, text, len) != (ssize_t)len)
			path[0] = '\0';
		close(fd);
	}
}

static void test_file(struct unit *u, const void *arg)
{
	(void)arg;
	char path[64], err[256] = "", expected[128];
	const char text[] = "name = 'f'\nmemory = 64\n";
	temp_file(path, text, sizeof(text) - 1);
	struct xl_cfg cfg;
	CHECK(xl_cfg_parse_file(path, &cfg, err, sizeof(err)) == 0, "parse_file: %s", err);
	CHECK_STR(cfg.source, path);
	char *dump = dump_cfg(&cfg);
	CHECK_STR(dump, "name@1: \"f\"\nmemory@2: 64\n");
	free(dump);
	xl_cfg_free(&cfg);
	unlink(path);

	const char bad[] = "name = 'f'\nmemory 64\n";
	temp_file(path, bad, sizeof(bad) - 1);
	CHECK(xl_cfg_parse_file(path, &cfg, err, sizeof(err)) == -1, "bad file parsed");
	snprintf(expected, sizeof(expected), "%s:2: expected '=' after 'memory'", path);
	CHECK_STR(err, expected);
	unlink(path);

	/* A NUL in the file is not the end of it. */
	const char nul[] = "a = 1\n\0b = 2\n";
	temp_file(path, nul, sizeof(nul) - 1);
	CHECK(xl_cfg_parse_file(path, &cfg, err, sizeof(err)) == -1, "file with NUL parsed");
	snprintf(expected, sizeof(expected), "%s:2: unexpected byte 0x00", path);
	CHECK_STR(err, expected);
	unlink(path);
}

static void test_missing_file(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_cfg cfg;
	char err[256] = "";
	CHECK(xl_cfg_parse_file("/nonexistent/hello.cfg", &cfg, err, sizeof(err)) == -1,
	      "missing file parsed");
	CHECK_STR(err, "/nonexistent/hello.cfg: No such file or directory");
	CHECK(cfg.n_entries == 0 && !cfg.source, "cfg not left empty");
	xl_cfg_free(&cfg);
}

/* Bounded intake (issue 10): only a plain file is a config, read only up to XL_CFG_MAX_BYTES, and
 * a refusal names the path and what is wrong.  /dev/null is the empty config, as in Xen's xl. */
static void check_refused(struct unit *u, const char *path, const char *why)
{
	struct xl_cfg cfg;
	char err[512] = "", expected[512];

	CHECK(xl_cfg_parse_file(path, &cfg, err, sizeof(err)) == -1, "%s parsed", path);
	snprintf(expected, sizeof(expected), "%s: %s", path, why);
	CHECK_STR(err, expected);
	CHECK(cfg.n_entries == 0 && !cfg.source, "%s: cfg not left empty", path);
	xl_cfg_free(&cfg);
}

#define NOT_PLAIN "not a plain file (a config is read from a regular file, or /dev/null for an " \
		  "empty one)"

static void test_not_plain_files(struct unit *u, const void *arg)
{
	(void)arg;
	char dir[] = "/tmp/xenith-test-cfg-XXXXXX", fifo[64];
	struct xl_cfg cfg;
	char err[256] = "";

	/* A FIFO nobody writes to: an open that waited for a writer would hang here, so a hang
	 * ends the test by SIGALRM rather than passing. */
	alarm(10);
	check_refused(u, "/dev/zero", NOT_PLAIN);
	check_refused(u, "/dev/urandom", NOT_PLAIN);
	CHECK(mkdtemp(dir) != NULL, "mkdtemp");
	check_refused(u, dir, NOT_PLAIN);
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	CHECK(mkfifo(fifo, 0600) == 0, "mkfifo %s", fifo);
	check_refused(u, fifo, NOT_PLAIN);
	alarm(0);
	unlink(fifo);
	rmdir(dir);

	CHECK(xl_cfg_parse_file("/dev/null", &cfg, err, sizeof(err)) == 0, "/dev/null: %s", err);
	CHECK(cfg.n_entries == 0, "/dev/null has %zu entries", cfg.n_entries);
	CHECK_STR(cfg.source, "/dev/null");
	xl_cfg_free(&cfg);
}

static void test_size_cap(struct unit *u, const void *arg)
{
	(void)arg;
	char path[64], err[256] = "", why[160];
	struct xl_cfg cfg;
	struct timespec t0, t1;
	char *text = malloc(XL_CFG_MAX_BYTES);

	CHECK(text != NULL, "malloc");
	if (!text)
		return;
	/* Exactly the cap: a comment line, blank lines, and one statement at the very end. */
	memset(text, '\n', XL_CFG_MAX_BYTES);
	memcpy(text, "# padding", 9);
	memcpy(text + XL_CFG_MAX_BYTES - 6, "a = 1\n", 6);
	temp_file(path, text, XL_CFG_MAX_BYTES);
	CHECK(path[0], "temporary file");
	CHECK(xl_cfg_parse_file(path, &cfg, err, sizeof(err)) == 0, "%u bytes: %s", XL_CFG_MAX_BYTES,
	      err);
	const struct cfg_entry *a = xl_cfg_get(&cfg, "a");
	/* Line 1 + one per newline before it: all bytes but the comment's 9 and the statement's 6. */
	int want_line = 1 + (int)XL_CFG_MAX_BYTES - 9 - 6;
	CHECK(a && a->line == want_line, "the statement at the end is on line %d, not %d",
	      a ? a->line : -1, want_line);
	xl_cfg_free(&cfg);

	/* One byte more is refused, by its size, before it is read. */
	int fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "\n", 1) == 1, "appending a byte");
	if (fd >= 0)
		close(fd);
	snprintf(why, sizeof(why), "%u bytes, more than the %u a config file may have",
		 XL_CFG_MAX_BYTES + 1, XL_CFG_MAX_BYTES);
	check_refused(u, path, why);

	/* A 1 GiB file (sparse: no disk used) is refused as fast, none of it read. */
	CHECK(truncate(path, 1ll << 30) == 0, "truncate to 1 GiB");
	snprintf(why, sizeof(why), "%lld bytes, more than the %u a config file may have", 1ll << 30,
		 XL_CFG_MAX_BYTES);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check_refused(u, path, why);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	CHECK(secs < 0.5, "refusing a 1 GiB config took %.3f s: was it read?", secs);
	unlink(path);
	free(text);
}

/* /proc files say size 0 and have content: read they are, up to the cap, like any other file. */
static void test_size_unknown(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_cfg cfg;
	char err[256] = "";

	/* /proc/self/comm is one word and a newline: a key with no '=', so a parse error on line 1
	 * proves the bytes were read although fstat said 0. */
	CHECK(xl_cfg_parse_file("/proc/self/comm", &cfg, err, sizeof(err)) == -1, "parsed");
	CHECK(!strncmp(err, "/proc/self/comm:1: ", 19), "error: %s", err);
	xl_cfg_free(&cfg);
}

static void test_small_error_buffer(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_cfg cfg;
	char err[8];
	CHECK(xl_cfg_parse_string("a b", "long-file-name.cfg", &cfg, err, sizeof(err)) == -1,
	      "parsed");
	CHECK_STR(err, "long-fi");
	CHECK(xl_cfg_parse_string("a b", "x", &cfg, NULL, 0) == -1, "parsed with no err buffer");
}

struct override_case {
	const char *name, *statement, *dump; /* dump of the cfg after the override */
};

/* Applied to the base below; the dump shows the whole cfg afterwards. */
static const char override_base[] = "name = 'base'\nvif = ['a']\n";

static const struct override_case override_cases[] = {
	{ "number", "memory=256", "name@1: \"base\"\nvif@2: [\"a\"]\nmemory@0: 256\n" },
	{ "hex number", "memory=0x10", "name@1: \"base\"\nvif@2: [\"a\"]\nmemory@0: 16(0x10)\n" },
	{ "number with ;", "memory = 256 ;", "name@1: \"base\"\nvif@2: [\"a\"]\nmemory@0: 256\n" },
	{ "bare string replaces", "name=foo", "name@0: \"foo\"\nvif@2: [\"a\"]\n" },
	{ "bare string with spaces", "name = foo bar ", "name@0: \"foo bar\"\nvif@2: [\"a\"]\n" },
	{ "bare string with =", "extra=console=hvc0 root=/dev/xvda1",
	  "name@1: \"base\"\nvif@2: [\"a\"]\nextra@0: \"console=hvc0 root=/dev/xvda1\"\n" },
	{ "not-a-number is a string", "memory=256M",
	  "name@1: \"base\"\nvif@2: [\"a\"]\nmemory@0: \"256M\"\n" },
	{ "two numbers are a string", "memory=1 2",
	  "name@1: \"base\"\nvif@2: [\"a\"]\nmemory@0: \"1 2\"\n" },
	{ "empty value", "name=", "name@0: \"\"\nvif@2: [\"a\"]\n" },
	{ "quoted string", "name=\"q \\\"u\\\"\"", "name@0: \"q \\\"u\\\"\"\nvif@2: [\"a\"]\n" },
	{ "single-quoted string", "name='q u' # c", "name@0: \"q u\"\nvif@2: [\"a\"]\n" },
	{ "list", "disk=['x', 'y']",
	  "name@1: \"base\"\nvif@2: [\"a\"]\ndisk@0: [\"x\", \"y\"]\n" },
	{ "+= list", "vif+=['b']", "name@1: \"base\"\nvif@0: [\"a\", \"b\"]\n" },
	{ "+= bare string", "vif += bridge=xenbr0",
	  "name@1: \"base\"\nvif@0: [\"a\", \"bridge=xenbr0\"]\n" },
	{ "+= new key", "new+='x'", "name@1: \"base\"\nvif@2: [\"a\"]\nnew@0: [\"x\"]\n" },
};

static void test_override(struct unit *u, const void *arg)
{
	const struct override_case *c = arg;
	struct xl_cfg cfg;
	char err[256] = "";
	CHECK(xl_cfg_parse_string(override_base, "t.cfg", &cfg, err, sizeof(err)) == 0, "base: %s",
	      err);
	int rc = xl_cfg_apply_override(&cfg, c->statement, err, sizeof(err));
	CHECK(rc == 0, "override failed: %s", err);
	char *dump = dump_cfg(&cfg);
	CHECK_STR(dump, c->dump);
	free(dump);
	for (size_t i = 0; i < cfg.n_entries; i++)
		CHECK_STR(cfg.entries[i].source, cfg.entries[i].line ? "t.cfg" : "command line");
	CHECK_STR(cfg.source, "t.cfg");
	xl_cfg_free(&cfg);
}

static const struct bad_case bad_overrides[] = {
	{ "no key", "=foo", "command line: expected key=value, got '=foo'" },
	{ "nothing", "", "command line: expected key=value, got nothing" },
	{ "digit key", "3=4", "command line: expected key=value, got '3=4'" },
	{ "no =", "memory", "command line: expected '=' after 'memory'" },
	{ "no = but a value", "memory 256", "command line: expected '=' after 'memory'" },
	{ "unterminated string", "name=\"abc", "command line: unterminated string" },
	{ "unterminated list", "vif=[1,", "command line: unterminated list (missing ']')" },
	{ "list of lists", "vif=[[1]]", "command line: lists cannot contain lists" },
	{ "junk after list", "vif=[1] x", "command line: unexpected 'x'" },
	{ "junk after string", "name=\"a\" x", "command line: unexpected 'x'" },
	{ "two statements", "name='a'; memory=1", "command line: unexpected 'm'" },
	{ "+= onto a string", "name+='x'", "command line: cannot append to 'name': it is not a list" },
};

static void test_bad_override(struct unit *u, const void *arg)
{
	const struct bad_case *c = arg;
	struct xl_cfg cfg;
	char err[256] = "";
	CHECK(xl_cfg_parse_string(override_base, "t.cfg", &cfg, err, sizeof(err)) == 0, "base: %s",
	      err);
	int rc = xl_cfg_apply_override(&cfg, c->text, err, sizeof(err));
	CHECK(rc == -1, "override returned %d", rc);
	CHECK_STR(err, c->error);
	char *dump = dump_cfg(&cfg);
	CHECK_STR(dump, "name@1: \"base\"\nvif@2: [\"a\"]\n");
	free(dump);
	xl_cfg_free(&cfg);
}

static void test_override_on_empty_cfg(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_cfg cfg = { 0 };
	char err[256] = "";
	CHECK(xl_cfg_apply_override(&cfg, "name=x", err, sizeof(err)) == 0, "override: %s", err);
	char *dump = dump_cfg(&cfg);
	CHECK_STR(dump, "name@0: \"x\"\n");
	free(dump);
	xl_cfg_free(&cfg);
}

static void test_messages(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_cfg cfg;
	char err[256] = "";
	CHECK(xl_cfg_parse_string("a = 1\n\nb = 2\n", "m.cfg", &cfg, err, sizeof(err)) == 0,
	      "parse: %s", err);
	CHECK(xl_cfg_apply_override(&cfg, "c=3", err, sizeof(err)) == 0, "override: %s", err);

	CHECK_INT(xl_cfg_error(err, sizeof(err), &cfg, xl_cfg_get(&cfg, "b"), "bad %s", "b"), -1);
	CHECK_STR(err, "m.cfg:3: bad b");
	xl_cfg_error(err, sizeof(err), &cfg, xl_cfg_get(&cfg, "c"), "bad c");
	CHECK_STR(err, "command line: bad c");
	xl_cfg_error(err, sizeof(err), &cfg, NULL, "whole");
	CHECK_STR(err, "m.cfg: whole");

	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	xl_cfg_warn(out, &cfg, xl_cfg_get(&cfg, "a"), "odd %d", 1);
	xl_cfg_warn(out, &cfg, xl_cfg_get(&cfg, "c"), "odd c");
	xl_cfg_warn(out, &cfg, NULL, "odd cfg");
	xl_cfg_warn(NULL, &cfg, NULL, "to nowhere");
	fclose(out);
	CHECK_STR(text, "m.cfg:1: warning: odd 1\ncommand line: warning: odd c\nm.cfg: warning: odd cfg\n");
	free(text);
	xl_cfg_free(&cfg);
}

static void test_value_to_number(struct unit *u, const void *arg)
{
	(void)arg;
	struct xl_cfg cfg;
	char err[256] = "";
	CHECK(xl_cfg_parse_string("n = 0x20\ns = '256'\nh = '0x10'\nw = 'abc'\nsp = ' 1'\n"
				  "e = ''\nl = [1]\nneg = '-3'\n", "t.cfg", &cfg, err,
				  sizeof(err)) == 0, "parse: %s", err);
	long long n = 0;
	CHECK(cfg_value_to_number(&xl_cfg_get(&cfg, "n")->value, &n) == 0 && n == 32, "n: %lld", n);
	CHECK(cfg_value_to_number(&xl_cfg_get(&cfg, "s")->value, &n) == 0 && n == 256, "s: %lld", n);
	CHECK(cfg_value_to_number(&xl_cfg_get(&cfg, "h")->value, &n) == 0 && n == 16, "h: %lld", n);
	CHECK(cfg_value_to_number(&xl_cfg_get(&cfg, "neg")->value, &n) == 0 && n == -3, "neg");
	CHECK(cfg_value_to_number(&xl_cfg_get(&cfg, "w")->value, &n) == -1, "'abc' is a number");
	CHECK(cfg_value_to_number(&xl_cfg_get(&cfg, "sp")->value, &n) == -1, "' 1' is a number");
	CHECK(cfg_value_to_number(&xl_cfg_get(&cfg, "e")->value, &n) == -1, "'' is a number");
	CHECK(cfg_value_to_number(&xl_cfg_get(&cfg, "l")->value, &n) == -1, "a list is a number");
	xl_cfg_free(&cfg);
}

/* Replacing, appending and reparsing many times must neither leak nor corrupt. */
static void test_many_entries(struct unit *u, const void *arg)
{
	(void)arg;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	for (int i = 0; i < 300; i++)
		fprintf(out, "k%d = %d\nl += ['%d']\nk%d = 'r%d'\n", i % 50, i, i, i % 50, i);
	fclose(out);
	struct xl_cfg cfg;
	char err[256] = "";
	CHECK(xl_cfg_parse_string(text, "t.cfg", &cfg, err, sizeof(err)) == 0, "parse: %s", err);
	CHECK_INT(cfg.n_entries, 51);
	const struct cfg_entry *l = xl_cfg_get(&cfg, "l");
	CHECK(l && l->value.n_items == 300, "l has %zu items", l ? l->value.n_items : 0);
	if (l && l->value.n_items == 300)
		CHECK_STR(l->value.items[299].str, "299");
	const struct cfg_entry *k7 = xl_cfg_get(&cfg, "k7");
	CHECK(k7 && k7->value.kind == CFG_STRING, "k7 kind");
	if (k7)
		CHECK_STR(k7->value.str, "r257");
	xl_cfg_free(&cfg);
	free(text);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[128];
	for (size_t i = 0; i < sizeof(good_cases) / sizeof(good_cases[0]); i++) {
		snprintf(name, sizeof(name), "good: %s", good_cases[i].name);
		unit_case(&u, name, test_good, &good_cases[i]);
	}
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		snprintf(name, sizeof(name), "bad: %s", bad_cases[i].name);
		unit_case(&u, name, test_bad, &bad_cases[i]);
	}
	for (size_t i = 0; i < sizeof(override_cases) / sizeof(override_cases[0]); i++) {
		snprintf(name, sizeof(name), "override: %s", override_cases[i].name);
		unit_case(&u, name, test_override, &override_cases[i]);
	}
	for (size_t i = 0; i < sizeof(bad_overrides) / sizeof(bad_overrides[0]); i++) {
		snprintf(name, sizeof(name), "bad override: %s", bad_overrides[i].name);
		unit_case(&u, name, test_bad_override, &bad_overrides[i]);
	}
	unit_case(&u, "override on an empty cfg", test_override_on_empty_cfg, NULL);
	unit_case(&u, "list item lines and lookups", test_item_lines, NULL);
	unit_case(&u, "parse a file", test_file, NULL);
	unit_case(&u, "missing file", test_missing_file, NULL);
	unit_case(&u, "devices, directories and FIFOs refused, /dev/null empty", test_not_plain_files,
		  NULL);
	unit_case(&u, "config size capped at XL_CFG_MAX_BYTES", test_size_cap, NULL);
	unit_case(&u, "a file whose size fstat does not know", test_size_unknown, NULL);
	unit_case(&u, "small error buffer", test_small_error_buffer, NULL);
	unit_case(&u, "error and warning placement", test_messages, NULL);
	unit_case(&u, "cfg_value_to_number", test_value_to_number, NULL);
	unit_case(&u, "many entries", test_many_entries, NULL);
	return unit_finish(&u);
}
