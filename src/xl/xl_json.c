/* A small pretty-printing JSON writer; strings are escaped per RFC 8259. */
#include "xl/xl_json.h"

void json_init(struct json_writer *w, FILE *f)
{
	w->f = f;
	w->depth = 0;
	w->has_items[0] = false;
}

static void indent(struct json_writer *w)
{
	for (int i = 0; i < w->depth; i++)
		fputs("    ", w->f);
}

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

/* Separator, newline and indentation before a member or element, then its key if any. */
static void begin_item(struct json_writer *w, const char *key)
{
	if (w->depth > 0) {
		fputs(w->has_items[w->depth] ? ",\n" : "\n", w->f);
		w->has_items[w->depth] = true;
		indent(w);
	}
	if (key) {
		put_escaped(w->f, key);
		fputs(": ", w->f);
	}
}

void json_open(struct json_writer *w, const char *key, char bracket)
{
	begin_item(w, key);
	fputc(bracket, w->f);
	if (w->depth + 1 < JSON_MAX_DEPTH)
		w->depth++;
	w->has_items[w->depth] = false;
}

void json_close(struct json_writer *w, char bracket)
{
	bool had = w->has_items[w->depth];

	if (w->depth > 0)
		w->depth--;
	if (had) {
		fputc('\n', w->f);
		indent(w);
	}
	fputc(bracket, w->f);
}

void json_string(struct json_writer *w, const char *key, const char *value)
{
	begin_item(w, key);
	if (value)
		put_escaped(w->f, value);
	else
		fputs("null", w->f);
}

void json_number(struct json_writer *w, const char *key, unsigned long long value)
{
	begin_item(w, key);
	fprintf(w->f, "%llu", value);
}

void json_bool(struct json_writer *w, const char *key, bool value)
{
	begin_item(w, key);
	fputs(value ? "true" : "false", w->f);
}

void json_finish(struct json_writer *w)
{
	fputc('\n', w->f);
}

void xl_json_domain_config(struct json_writer *w, const char *key, const struct xl_json_domain *d)
{
	json_open(w, key, '{');
	json_open(w, "c_info", '{');
	json_string(w, "type", d->type);
	json_string(w, "name", d->name);
	if (d->uuid)
		json_string(w, "uuid", d->uuid);
	json_close(w, '}');
	json_open(w, "b_info", '{');
	json_number(w, "max_vcpus", d->max_vcpus);
	json_number(w, "max_memkb", d->max_memkb);
	json_number(w, "target_memkb", d->target_memkb);
	if (d->kernel)
		json_string(w, "kernel", d->kernel);
	if (d->cmdline)
		json_string(w, "cmdline", d->cmdline);
	if (d->ramdisk)
		json_string(w, "ramdisk", d->ramdisk);
	json_close(w, '}');
	if (d->disks) {
		json_open(w, "disks", '[');
		for (size_t i = 0; i < d->n_disks; i++) {
			const struct xl_json_disk *k = &d->disks[i];

			json_open(w, NULL, '{');
			json_string(w, "vdev", k->vdev);
			json_number(w, "devid", k->devid);
			json_string(w, "target", k->target);
			json_string(w, "access", k->access);
			json_string(w, "devtype", k->devtype);
			json_close(w, '}');
		}
		json_close(w, ']');
	}
	if (d->nics) {
		json_open(w, "nics", '[');
		for (size_t i = 0; i < d->n_nics; i++) {
			const struct xl_json_nic *n = &d->nics[i];

			json_open(w, NULL, '{');
			json_number(w, "devid", n->devid);
			json_string(w, "mac", n->mac);
			json_string(w, "bridge", n->bridge);
			json_string(w, "ip", n->ip);
			json_string(w, "script", n->script);
			json_string(w, "vifname", n->vifname);
			json_close(w, '}');
		}
		json_close(w, ']');
	}
	if (d->on_poweroff)
		json_string(w, "on_poweroff", d->on_poweroff);
	if (d->on_reboot)
		json_string(w, "on_reboot", d->on_reboot);
	if (d->on_crash)
		json_string(w, "on_crash", d->on_crash);
	json_close(w, '}');
}
