/* xl.cfg parser: a hand-written recursive-descent reader of libxlu's grammar.
 *
 *   file      := { statement (';' | '\n') }
 *   statement := KEY ('=' | '+=') value | <empty>
 *   value     := NUMBER | "string" | 'string' | '[' [ atom { ',' atom } [','] ] ']'
 *   atom      := NUMBER | string             (no lists inside lists)
 *
 * Inside a list, newlines and comments are free.  Strings cannot span lines (libxlu's lexer
 * refuses that too) and both quote styles take libxlu's backslash escapes.  The first error stops
 * the parse; every error is "source:line: message" for the line the offending token starts on. */
#include "xl/xl_cfg.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/domain_limits.h"

#define COMMAND_LINE_SOURCE "command line"

struct cfg_parser {
	const char *p, *end;
	const char *source;
	int line;             /* current line; stays 0 for command-line text */
	bool count_lines;
	char *err;
	size_t errlen;
};

static void vformat_at(char *err, size_t errlen, const char *source, int line, const char *fmt,
		       va_list ap)
{
	if (!err || !errlen)
		return;
	int n = line > 0 ? snprintf(err, errlen, "%s:%d: ", source, line)
			 : snprintf(err, errlen, "%s: ", source);
	if (n < 0 || (size_t)n >= errlen)
		return;
	vsnprintf(err + n, errlen - n, fmt, ap);
}

static int parse_error_at(struct cfg_parser *ps, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int parse_error_at(struct cfg_parser *ps, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vformat_at(ps->err, ps->errlen, ps->source, line, fmt, ap);
	va_end(ap);
	return -1;
}

#define parse_error(ps, ...) parse_error_at((ps), (ps)->line, __VA_ARGS__)

static int out_of_memory(struct cfg_parser *ps)
{
	return parse_error(ps, "%s", strerror(ENOMEM));
}

/* "unexpected ']'" for a printable character, the byte's value otherwise. */
static int unexpected(struct cfg_parser *ps)
{
	if (ps->p >= ps->end)
		return parse_error(ps, "unexpected end of input");
	unsigned char c = (unsigned char)*ps->p;
	if (isprint(c))
		return parse_error(ps, "unexpected '%c'", c);
	return parse_error(ps, "unexpected byte 0x%02x", c);
}

static bool at_end(const struct cfg_parser *ps)
{
	return ps->p >= ps->end;
}

static char peek(const struct cfg_parser *ps)
{
	return at_end(ps) ? '\0' : *ps->p;
}

/* Spaces, tabs and the \r of CRLF files; newlines matter, so they are not blank. */
static void skip_blanks(struct cfg_parser *ps)
{
	while (!at_end(ps) && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r'))
		ps->p++;
}

static void skip_comment(struct cfg_parser *ps)
{
	if (peek(ps) == '#')
		while (!at_end(ps) && *ps->p != '\n')
			ps->p++;
}

static void take_newline(struct cfg_parser *ps)
{
	ps->p++;
	if (ps->count_lines)
		ps->line++;
}

/* Inside lists a statement cannot end, so newlines and comments are just space. */
static void skip_space_in_list(struct cfg_parser *ps)
{
	for (;;) {
		skip_blanks(ps);
		skip_comment(ps);
		if (peek(ps) != '\n')
			return;
		take_newline(ps);
	}
}

static bool is_key_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool is_key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void value_free(struct cfg_value *v)
{
	free(v->str);
	for (size_t i = 0; i < v->n_items; i++)
		value_free(&v->items[i]);
	free(v->items);
	memset(v, 0, sizeof(*v));
}

/* libxlu's escapes; octal and \x are not taken (nothing in an xl.cfg needs them). */
static int unescape(char c, char *out)
{
	switch (c) {
	case '"': case '\'': case '\\': *out = c; return 0;
	case 'a': *out = '\a'; return 0;
	case 'b': *out = '\b'; return 0;
	case 'f': *out = '\f'; return 0;
	case 'n': *out = '\n'; return 0;
	case 'r': *out = '\r'; return 0;
	case 't': *out = '\t'; return 0;
	case 'v': *out = '\v'; return 0;
	default: return -1;
	}
}

static int parse_quoted(struct cfg_parser *ps, struct cfg_value *v)
{
	char quote = *ps->p;
	const char *start = ++ps->p;
	const char *q = start;

	/* Find the closing quote first, so the decoded text fits in (q - start) bytes. */
	while (q < ps->end && *q != quote && *q != '\n') {
		if (*q == '\\' && q + 1 < ps->end && q[1] != '\n')
			q++;
		q++;
	}
	if (q >= ps->end || *q != quote)
		return parse_error(ps, "unterminated string");

	char *text = malloc(q - start + 1);
	if (!text)
		return out_of_memory(ps);
	size_t n = 0;
	for (const char *s = start; s < q; s++) {
		if (*s != '\\') {
			text[n++] = *s;
			continue;
		}
		s++;
		if (unescape(*s, &text[n]) < 0) {
			free(text);
			if (isprint((unsigned char)*s))
				return parse_error(ps, "invalid escape '\\%c' in string", *s);
			return parse_error(ps, "invalid escape in string");
		}
		n++;
	}
	text[n] = '\0';
	if (memchr(text, '\0', n)) {
		free(text);
		return parse_error(ps, "NUL byte in string");
	}
	v->kind = CFG_STRING;
	v->str = text;
	ps->p = q + 1;
	return 0;
}

/* Reads like xl's strtol(s, .., 0) and insists on the whole text. */
static int number_from_text(const char *s, long long *out)
{
	char *end;
	if (!*s || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	long long n = strtoll(s, &end, 0);
	if (errno || *end || end == s)
		return -1;
	*out = n;
	return 0;
}

static int parse_number(struct cfg_parser *ps, struct cfg_value *v)
{
	const char *start = ps->p;
	/* Take the whole word, so "128M" is one bad number rather than 128 then junk. */
	while (!at_end(ps) && (isalnum((unsigned char)*ps->p) || *ps->p == '_' || *ps->p == '.'))
		ps->p++;
	size_t len = ps->p - start;
	char *text = strndup(start, len);
	if (!text)
		return out_of_memory(ps);
	long long n;
	if (number_from_text(text, &n) < 0) {
		bool range = errno == ERANGE;
		int rc = parse_error(ps, range ? "number '%s' is out of range" : "invalid number '%s'",
				     text);
		free(text);
		return rc;
	}
	v->kind = CFG_NUMBER;
	v->str = text;
	v->num = n;
	return 0;
}

static int parse_list(struct cfg_parser *ps, struct cfg_value *v);

static int parse_value(struct cfg_parser *ps, struct cfg_value *v, bool in_list)
{
	memset(v, 0, sizeof(*v));
	v->line = ps->line;
	char c = peek(ps);
	if (c == '"' || c == '\'')
		return parse_quoted(ps, v);
	if (isdigit((unsigned char)c))
		return parse_number(ps, v);
	if (c == '[') {
		if (in_list)
			return parse_error(ps, "lists cannot contain lists");
		return parse_list(ps, v);
	}
	if (isalpha((unsigned char)c) || c == '/' || c == '_') {
		const char *start = ps->p;
		while (!at_end(ps) && !isspace((unsigned char)*ps->p) && !strchr(",;]#", *ps->p))
			ps->p++;
		return parse_error(ps, "unquoted string '%.*s' (strings need quotes)",
				   (int)(ps->p - start), start);
	}
	return unexpected(ps);
}

static int list_append(struct cfg_value *list, struct cfg_value *item)
{
	struct cfg_value *items = realloc(list->items, (list->n_items + 1) * sizeof(*items));
	if (!items)
		return -1;
	list->items = items;
	list->items[list->n_items++] = *item;
	return 0;
}

static int parse_list(struct cfg_parser *ps, struct cfg_value *v)
{
	int open_line = ps->line;
	v->kind = CFG_LIST;
	ps->p++; /* '[' */
	for (;;) {
		skip_space_in_list(ps);
		if (at_end(ps))
			goto unterminated;
		if (*ps->p == ']')
			break;
		struct cfg_value item;
		if (parse_value(ps, &item, true) < 0)
			goto fail;
		if (list_append(v, &item) < 0) {
			value_free(&item);
			out_of_memory(ps);
			goto fail;
		}
		skip_space_in_list(ps);
		if (at_end(ps))
			goto unterminated;
		if (*ps->p == ']')
			break;
		if (*ps->p != ',') {
			if (*ps->p == '[')
				parse_error(ps, "lists cannot contain lists");
			else
				parse_error(ps, "expected ',' or ']' in list, found '%c'", *ps->p);
			goto fail;
		}
		ps->p++;
	}
	ps->p++; /* ']' */
	return 0;

unterminated:
	parse_error_at(ps, open_line, "unterminated list (missing ']')");
fail:
	value_free(v);
	return -1;
}

static struct cfg_entry *find_entry(struct xl_cfg *cfg, const char *key)
{
	return (struct cfg_entry *)xl_cfg_get(cfg, key);
}

/* `+=`: append a list's items (or one scalar) to an existing list, taking ownership of add. */
static int append_to(struct cfg_parser *ps, struct cfg_entry *e, struct cfg_value *add,
		     const char *key, int line)
{
	if (e->value.kind != CFG_LIST)
		return parse_error_at(ps, line, "cannot append to '%s': it is not a list", key);
	if (add->kind != CFG_LIST) {
		if (list_append(&e->value, add) < 0)
			return out_of_memory(ps);
		memset(add, 0, sizeof(*add));
		return 0;
	}
	for (size_t i = 0; i < add->n_items; i++) {
		if (list_append(&e->value, &add->items[i]) < 0) {
			/* The items already moved now belong to e; drop the rest with add. */
			memmove(add->items, add->items + i, (add->n_items - i) * sizeof(*add->items));
			add->n_items -= i;
			return out_of_memory(ps);
		}
	}
	free(add->items);
	memset(add, 0, sizeof(*add));
	return 0;
}

/* Stores key = value in cfg, taking ownership of key and value whether it succeeds or not. */
static int store(struct cfg_parser *ps, struct xl_cfg *cfg, char *key, struct cfg_value *value,
		 bool append, int line, const char *source)
{
	int rc = 0;
	struct cfg_entry *e = find_entry(cfg, key);

	if (append && !e && value->kind != CFG_LIST) {
		struct cfg_value list = { .kind = CFG_LIST, .line = value->line };
		if (list_append(&list, value) < 0) {
			rc = out_of_memory(ps);
			goto out;
		}
		*value = list;
	}
	if (e && append) {
		rc = append_to(ps, e, value, key, line);
		if (rc == 0) {
			e->line = line;
			e->source = source;
		}
		goto out;
	}
	if (e) {
		/* Like xl, a later setting wins; the entry keeps its place in the order. */
		value_free(&e->value);
		e->value = *value;
		e->line = line;
		e->source = source;
		memset(value, 0, sizeof(*value));
		goto out;
	}
	struct cfg_entry *entries = realloc(cfg->entries, (cfg->n_entries + 1) * sizeof(*entries));
	if (!entries) {
		rc = out_of_memory(ps);
		goto out;
	}
	cfg->entries = entries;
	cfg->entries[cfg->n_entries++] = (struct cfg_entry){
		.key = key, .value = *value, .line = line, .source = source,
	};
	return 0;
out:
	free(key);
	value_free(value);
	return rc;
}

/* After a value only a comment and the end of the statement may follow. */
static bool at_statement_end(struct cfg_parser *ps)
{
	skip_blanks(ps);
	skip_comment(ps);
	return at_end(ps) || *ps->p == '\n' || *ps->p == ';';
}

/* Reads `KEY =` or `KEY +=`; returns the key (malloc'd) or NULL with the error set. */
static char *parse_key_and_op(struct cfg_parser *ps, bool *append)
{
	const char *start = ps->p;
	while (!at_end(ps) && is_key_char(*ps->p))
		ps->p++;
	char *key = strndup(start, ps->p - start);
	if (!key) {
		out_of_memory(ps);
		return NULL;
	}
	skip_blanks(ps);
	*append = false;
	if (peek(ps) == '+' && ps->p + 1 < ps->end && ps->p[1] == '=') {
		*append = true;
		ps->p += 2;
	} else if (peek(ps) == '=') {
		ps->p++;
	} else {
		parse_error(ps, "expected '=' after '%s'", key);
		free(key);
		return NULL;
	}
	skip_blanks(ps);
	return key;
}

static int parse_statement(struct cfg_parser *ps, struct xl_cfg *cfg)
{
	int line = ps->line;
	bool append;
	char *key = parse_key_and_op(ps, &append);
	if (!key)
		return -1;
	if (at_end(ps) || strchr("\n;#", *ps->p)) {
		parse_error(ps, "missing value for '%s'", key);
		free(key);
		return -1;
	}
	struct cfg_value value;
	if (parse_value(ps, &value, false) < 0) {
		free(key);
		return -1;
	}
	if (!at_statement_end(ps)) {
		/* The error is about the token where it is, which a list may have moved on from. */
		unexpected(ps);
		free(key);
		value_free(&value);
		return -1;
	}
	return store(ps, cfg, key, &value, append, line, cfg->source);
}

static int parse_text(struct cfg_parser *ps, struct xl_cfg *cfg)
{
	for (;;) {
		skip_blanks(ps);
		skip_comment(ps);
		if (at_end(ps))
			return 0;
		if (*ps->p == '\n') {
			take_newline(ps);
			continue;
		}
		if (*ps->p == ';') {
			ps->p++;
			continue;
		}
		if (!is_key_start(*ps->p))
			return unexpected(ps);
		if (parse_statement(ps, cfg) < 0)
			return -1;
	}
}

static int parse_buffer(const char *text, size_t len, const char *source, struct xl_cfg *cfg,
			char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	struct cfg_parser ps = {
		.p = text, .end = text + len, .source = source, .line = 1, .count_lines = true,
		.err = err, .errlen = errlen,
	};
	cfg->source = strdup(source);
	if (!cfg->source)
		return out_of_memory(&ps);
	if (parse_text(&ps, cfg) < 0) {
		xl_cfg_free(cfg);
		return -1;
	}
	return 0;
}

int xl_cfg_parse_string(const char *text, const char *source, struct xl_cfg *cfg, char *err,
			size_t errlen)
{
	return parse_buffer(text, strlen(text), source, cfg, err, errlen);
}

static int file_error(char *err, size_t errlen, const char *path, int errnum)
{
	if (err && errlen)
		snprintf(err, errlen, "%s: %s", path, strerror(errnum));
	return -1;
}

/* Like Xen's xl: only a plain file is a config (/dev/null reads as an empty one), its size is
 * known before it is read, and past a cap it is refused unread.  Xen's cap is INT_MAX bytes; ours
 * is XL_CFG_MAX_BYTES.  Read with O_NONBLOCK so that a FIFO cannot stall us before fstat says what
 * it is, and never more than the cap even if the file grows meanwhile. */
static int read_config_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	struct stat st;
	size_t cap, got = 0;
	int fd;

	*text = NULL;
	*len = 0;
	if (!strcmp(path, "/dev/null"))
		return 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return file_error(err, errlen, path, errno);
	if (fstat(fd, &st) < 0) {
		file_error(err, errlen, path, errno);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a plain file (a config is read from a regular file, or "
			 "/dev/null for an empty one)", path);
		goto fail;
	}
	if (st.st_size > XL_CFG_MAX_BYTES) {
		snprintf(err, errlen, "%s: %lld bytes, more than the %u a config file may have", path,
			 (long long)st.st_size, XL_CFG_MAX_BYTES);
		goto fail;
	}
	/* Room for one byte more than fstat said, to see whether the file grew. */
	cap = (size_t)st.st_size + 1;
	*text = malloc(cap);
	if (!*text) {
		file_error(err, errlen, path, ENOMEM);
		goto fail;
	}
	for (;;) {
		ssize_t n = read(fd, *text + got, cap - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			file_error(err, errlen, path, errno);
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > XL_CFG_MAX_BYTES) {
			snprintf(err, errlen, "%s: grew past the %u bytes a config file may have while "
				 "it was read", path, XL_CFG_MAX_BYTES);
			goto fail;
		}
		if (got == cap) {
			/* It grew (or fstat said 0, as /proc files do): more room, one past the cap. */
			size_t more_cap = cap * 2 < XL_CFG_MAX_BYTES + 1u ? cap * 2 : XL_CFG_MAX_BYTES + 1u;
			char *more = realloc(*text, more_cap);
			if (!more) {
				file_error(err, errlen, path, ENOMEM);
				goto fail;
			}
			*text = more;
			cap = more_cap;
		}
	}
	close(fd);
	*len = got;
	return 0;
fail:
	free(*text);
	*text = NULL;
	close(fd);
	return -1;
}

int xl_cfg_parse_file(const char *path, struct xl_cfg *cfg, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	if (read_config_file(path, &text, &len, err, errlen))
		return -1;
	/* A NUL inside the file is reported by the parser as an unexpected byte. */
	rc = parse_buffer(text ? text : "", len, path, cfg, err, errlen);
	free(text);
	return rc;
}

/* An override is one statement: after its value only `;` and a comment may follow. */
static bool at_override_end(struct cfg_parser *ps)
{
	if (!at_statement_end(ps))
		return false;
	if (peek(ps) == ';') {
		ps->p++;
		skip_blanks(ps);
		skip_comment(ps);
	}
	return at_end(ps);
}

/* For overrides: the value text trimmed, as a string. */
static int bare_string(struct cfg_parser *ps, const char *start, struct cfg_value *v)
{
	const char *end = ps->end;
	while (start < end && isspace((unsigned char)*start))
		start++;
	while (end > start && isspace((unsigned char)end[-1]))
		end--;
	memset(v, 0, sizeof(*v));
	v->kind = CFG_STRING;
	v->str = strndup(start, end - start);
	if (!v->str)
		return out_of_memory(ps);
	return 0;
}

int xl_cfg_apply_override(struct xl_cfg *cfg, const char *statement, char *err, size_t errlen)
{
	struct cfg_parser ps = {
		.p = statement, .end = statement + strlen(statement), .source = COMMAND_LINE_SOURCE,
		.err = err, .errlen = errlen,
	};
	skip_blanks(&ps);
	if (!is_key_start(peek(&ps))) {
		if (at_end(&ps))
			return parse_error(&ps, "expected key=value, got nothing");
		return parse_error(&ps, "expected key=value, got '%s'", statement);
	}
	bool append;
	char *key = parse_key_and_op(&ps, &append);
	if (!key)
		return -1;

	const char *value_start = ps.p;
	struct cfg_value value;
	char c = peek(&ps);
	if (c == '"' || c == '\'' || c == '[') {
		/* Quoted strings and lists must be well formed: a bare fallback would hide typos. */
		if (parse_value(&ps, &value, false) < 0) {
			free(key);
			return -1;
		}
		if (!at_override_end(&ps)) {
			unexpected(&ps);
			free(key);
			value_free(&value);
			return -1;
		}
	} else {
		/* xl's shell users write name=foo: anything that is not exactly one number is text.
		 * The probe parses a copy, so its failure leaves no error behind. */
		char scratch[1];
		struct cfg_parser probe = ps;
		probe.err = scratch;
		probe.errlen = sizeof(scratch);
		bool is_number = isdigit((unsigned char)c) && parse_value(&probe, &value, false) == 0;
		if (is_number && !at_override_end(&probe)) {
			value_free(&value);
			is_number = false;
		}
		if (!is_number && bare_string(&ps, value_start, &value) < 0) {
			free(key);
			return -1;
		}
	}
	return store(&ps, cfg, key, &value, append, 0, COMMAND_LINE_SOURCE);
}

const struct cfg_entry *xl_cfg_get(const struct xl_cfg *cfg, const char *key)
{
	for (size_t i = 0; i < cfg->n_entries; i++)
		if (!strcmp(cfg->entries[i].key, key))
			return &cfg->entries[i];
	return NULL;
}

void xl_cfg_free(struct xl_cfg *cfg)
{
	for (size_t i = 0; i < cfg->n_entries; i++) {
		free(cfg->entries[i].key);
		value_free(&cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->source);
	memset(cfg, 0, sizeof(*cfg));
}

int xl_cfg_error(char *err, size_t errlen, const struct xl_cfg *cfg, const struct cfg_entry *e,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *source = e && e->source ? e->source : cfg->source;
	vformat_at(err, errlen, source ? source : "", e ? e->line : 0, fmt, ap);
	va_end(ap);
	return -1;
}

void xl_cfg_warn(FILE *out, const struct xl_cfg *cfg, const struct cfg_entry *e,
		 const char *fmt, ...)
{
	if (!out)
		return;
	const char *source = e && e->source ? e->source : cfg->source;
	if (e && e->line > 0)
		fprintf(out, "%s:%d: warning: ", source, e->line);
	else
		fprintf(out, "%s: warning: ", source ? source : "");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
}

int cfg_value_to_number(const struct cfg_value *v, long long *out)
{
	if (v->kind == CFG_NUMBER) {
		*out = v->num;
		return 0;
	}
	if (v->kind == CFG_STRING)
		return number_from_text(v->str, out);
	return -1;
}
