/* xl's command table lookup (xl's unique-prefix rule) and its JSON
 * writer (escaping, layout), table-driven. */
#define _GNU_SOURCE /* open_memstream */
#include <stdlib.h>
#include "xl/xl_cmdtable.h"
#include "xl/xl_json.h"
#include "unit.h"

struct lookup_case {
	const char *input;
	const char *expect;      /* the command found, or NULL */
};

static const struct lookup_case lookups[] = {
	{ "list", "list" },
	{ "li", "list" },
	{ "l", "list" },
	{ "cr", "create" },
	{ "des", "destroy" },
	{ "domid", "domid" },       /* exact, though it also prefixes nothing else */
	{ "domn", "domname" },
	{ "dom", NULL },            /* domid or domname */
	{ "d", NULL },
	{ "pause", "pause" },
	{ "un", "unpause" },
	{ "shutdown", "shutdown" },
	{ "sh", "shutdown" },
	{ "sav", "save" },
	{ "sy", "sysrq" },
	{ "", NULL },
	{ "lists", NULL },
	{ "frob", NULL },
};

static void test_lookup(struct unit *u, const void *arg)
{
	const struct lookup_case *c = arg;
	const struct cmd_spec *found = cmdtable_lookup(c->input);

	CHECK_STR(found ? found->name : NULL, c->expect);
}

static void test_table_complete(struct unit *u, const void *arg)
{
	(void)arg;
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_spec *c = &cmd_table[i];

		CHECK(c->name && c->desc && c->usage, "row %zu lacks name, desc or usage", i);
		if (c->impl)
			CHECK(cmdtable_lookup(c->name) == c, "'%s' does not find itself", c->name);
		for (size_t j = 0; j < i; j++)
			CHECK(strcmp(c->name, cmd_table[j].name), "'%s' twice", c->name);
	}
}

static char *json_of(void (*emit)(struct json_writer *w, const void *arg), const void *arg)
{
	struct json_writer w;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	json_init(&w, f);
	emit(&w, arg);
	json_finish(&w);
	fclose(f);
	return text;
}

static void emit_string(struct json_writer *w, const void *arg)
{
	json_open(w, NULL, '{');
	json_string(w, "s", arg);
	json_close(w, '}');
}

struct escape_case {
	const char *input, *expect;
};

static const struct escape_case escapes[] = {
	{ "plain", "{\n    \"s\": \"plain\"\n}\n" },
	{ "a\"b", "{\n    \"s\": \"a\\\"b\"\n}\n" },
	{ "back\\slash", "{\n    \"s\": \"back\\\\slash\"\n}\n" },
	{ "nl\ntab\t", "{\n    \"s\": \"nl\\ntab\\t\"\n}\n" },
	{ "\x01\x7f", "{\n    \"s\": \"\\u0001\\u007f\"\n}\n" },
	{ "caf\xc3\xa9", "{\n    \"s\": \"caf\xc3\xa9\"\n}\n" },
};

static void test_escape(struct unit *u, const void *arg)
{
	const struct escape_case *c = arg;
	char *text = json_of(emit_string, c->input);

	CHECK_STR(text, c->expect);
	free(text);
}

static void emit_nested(struct json_writer *w, const void *arg)
{
	(void)arg;
	json_open(w, NULL, '[');
	json_open(w, NULL, '{');
	json_number(w, "domid", 3);
	json_open(w, "empty", '{');
	json_close(w, '}');
	json_string(w, "null", NULL);
	json_close(w, '}');
	json_close(w, ']');
}

static void test_layout(struct unit *u, const void *arg)
{
	char *text = json_of(emit_nested, arg);

	CHECK_STR(text, "[\n    {\n        \"domid\": 3,\n        \"empty\": {},\n"
			"        \"null\": null\n    }\n]\n");
	free(text);
}

static void emit_empty_array(struct json_writer *w, const void *arg)
{
	(void)arg;
	json_open(w, NULL, '[');
	json_close(w, ']');
}

static void test_empty_array(struct unit *u, const void *arg)
{
	char *text = json_of(emit_empty_array, arg);

	CHECK_STR(text, "[]\n");
	free(text);
}

int main(void)
{
	struct unit u = UNIT_INIT;
	char name[64];

	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		snprintf(name, sizeof(name), "lookup '%s'", lookups[i].input);
		unit_case(&u, name, test_lookup, &lookups[i]);
	}
	unit_case(&u, "table rows complete and unique", test_table_complete, NULL);
	for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]); i++) {
		snprintf(name, sizeof(name), "json escape %zu", i);
		unit_case(&u, name, test_escape, &escapes[i]);
	}
	unit_case(&u, "json layout", test_layout, NULL);
	unit_case(&u, "json empty array", test_empty_array, NULL);
	return unit_finish(&u);
}
