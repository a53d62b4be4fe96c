/* xl.cfg syntax (Xen's libxlu flavour): `key = value` statements, values are "strings" or 'strings',
 * numbers, or [ lists ] of those; `#` comments; `;` or newline ends a statement; `key += value`
 * appends to a list.  Errors read `file:line: message`. */
#ifndef XENITH_XL_CFG_H
#define XENITH_XL_CFG_H

#include <stddef.h>
#include <stdio.h>

enum cfg_kind { CFG_STRING, CFG_NUMBER, CFG_LIST };

struct cfg_value {
	enum cfg_kind kind;
	char *str;               /* CFG_STRING: the unquoted text; CFG_NUMBER: the number as written */
	long long num;           /* CFG_NUMBER */
	struct cfg_value *items; /* CFG_LIST */
	size_t n_items;
	int line;
};

struct cfg_entry {
	char *key;
	struct cfg_value value;
	int line;                /* 0 when the entry came from the command line */
	const char *source;      /* the cfg's source, or "command line"; not owned by the entry */
};

struct xl_cfg {
	char *source;            /* file name, or "command line" for overrides */
	struct cfg_entry *entries;
	size_t n_entries;
};

/* Each returns 0, or -1 with `file:line: message` in err. A later key replaces an earlier one. */
int xl_cfg_parse_file(const char *path, struct xl_cfg *cfg, char *err, size_t errlen);
int xl_cfg_parse_string(const char *text, const char *source, struct xl_cfg *cfg, char *err, size_t errlen);
/* `key=value` from xl's command line, parsed as one more statement. */
int xl_cfg_apply_override(struct xl_cfg *cfg, const char *statement, char *err, size_t errlen);
const struct cfg_entry *xl_cfg_get(const struct xl_cfg *cfg, const char *key);
void xl_cfg_free(struct xl_cfg *cfg);

/* Notes on the calls above:
 * - parse_file/parse_string (re)initialise *cfg; on error *cfg is left empty, so xl_cfg_free is
 *   always safe afterwards.  apply_override leaves *cfg unchanged on error.
 * - Numbers are read like xl's strtol(.., 0): decimal, 0x hex, and a leading 0 means octal.
 * - `key += value` appends value (a list's items, or one scalar) to the list in key; with no
 *   earlier key it makes a list; an earlier non-list value is an error.
 * - An override whose value is not a valid number, quoted string or list is the bare text. */

/* Messages about an entry, placed like the parser's: "source:line: message" (or "source: message"
 * for command-line entries, or for e == NULL when the message is about the whole cfg).
 * xl_cfg_error writes into err and returns -1; xl_cfg_warn prints "...: warning: message\n". */
int xl_cfg_error(char *err, size_t errlen, const struct xl_cfg *cfg, const struct cfg_entry *e,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void xl_cfg_warn(FILE *out, const struct xl_cfg *cfg, const struct cfg_entry *e,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* The number in a CFG_NUMBER, or in a CFG_STRING that reads as one (xl accepts memory = "256").
 * Returns 0, or -1 when the value is not a number. */
int cfg_value_to_number(const struct cfg_value *v, long long *out);

#endif
