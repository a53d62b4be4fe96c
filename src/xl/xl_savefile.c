/* The part of a save stream xl owns (xl_migrate.h): its head (header and CONFIG record), a full
 * check of a save file before anything is started, and the VMM's save and resume requests. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "lib/domain_limits.h"
#include "migrate/stream.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cfg.h"
#include "xl/xl_control.h"
#include "xl/xl_migrate.h"

/* A config file whole, at most XL_CFG_MAX_BYTES.  malloc'd text, or NULL with why. */
static char *read_text(const char *path, char *err, size_t errlen)
{
	size_t len = 0, cap = 4096;
	char *text = malloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || !text) {
		snprintf(err, errlen, "cannot read %s: %s", path, strerror(fd < 0 ? errno : ENOMEM));
		goto fail;
	}
	while ((n = read(fd, text + len, cap - len)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto fail;
		}
		len += (size_t)n;
		if (len == cap) {
			char *grown;

			if (cap >= XL_CFG_MAX_BYTES) {
				snprintf(err, errlen, "%s is larger than a config may be (%u bytes)", path,
					 XL_CFG_MAX_BYTES);
				goto fail;
			}
			cap *= 2;
			grown = realloc(text, cap + 1);
			if (!grown) {
				snprintf(err, errlen, "out of memory reading %s", path);
				goto fail;
			}
			text = grown;
		}
	}
	close(fd);
	text[len] = '\0';
	if (strlen(text) != len) {
		snprintf(err, errlen, "%s holds a NUL byte: it is no xl.cfg", path);
		free(text);
		return NULL;
	}
	return text;
fail:
	if (fd >= 0)
		close(fd);
	free(text);
	return NULL;
}

/* Parses config text into a resolved domain_config, as `xl create` would. */
static int config_parse(const char *text, const char *source, struct domain_config *dc, char *err,
			size_t errlen)
{
	struct xl_cfg cfg = { 0 };
	int r = -1;

	memset(dc, 0, sizeof(*dc));
	if (xl_cfg_parse_string(text, source, &cfg, err, errlen) ||
	    domain_config_from_cfg(&cfg, dc, NULL, err, errlen))
		goto out;
	if (dc->type == DOMAIN_TYPE_HVM) {
		snprintf(err, errlen, "%s: hvm domains are not yet supported by Xenith", source);
		goto out;
	}
	r = domain_config_resolve_vifs(dc, err, errlen) || domain_config_resolve_disks(dc, err, errlen)
		? -1 : 0;
out:
	xl_cfg_free(&cfg);
	if (r)
		domain_config_free(dc);
	return r;
}

int xl_mig_config_text(struct xl_ctx *ctx, unsigned int domid, const char *cfg_path, char **text,
		       char *err, size_t errlen)
{
	struct domain_config dc;
	char path[PATH_MAX], why[1024];

	if (!cfg_path) {
		if (xl_ctx_rundir(ctx) ||
		    !rundir_path(&ctx->rd, path, sizeof(path), "domains/%u/config", domid)) {
			snprintf(err, errlen, "domain %u: no run directory to find its config in", domid);
			return -1;
		}
		if (access(path, R_OK) < 0) {
			snprintf(err, errlen, "domain %u has no saved config (%s: %s); give one as CFG",
				 domid, path, strerror(errno));
			return -1;
		}
		cfg_path = path;
	}
	*text = read_text(cfg_path, err, errlen);
	if (!*text)
		return -1;
	if (config_parse(*text, cfg_path, &dc, why, sizeof(why))) {
		snprintf(err, errlen, "the config to save does not parse: %s", why);
		free(*text);
		*text = NULL;
		return -1;
	}
	domain_config_free(&dc);
	return 0;
}

int xl_mig_write_head(int fd, uint32_t flags, const char *config, char *err, size_t errlen)
{
	struct mig_writer w;

	mig_writer_init(&w, fd);
	if (mig_write_header(&w, flags, err, errlen))
		return -1;
	return mig_write_record(&w, MIG_REC_CONFIG, config, strlen(config), err, errlen);
}

int xl_mig_read_head(int fd, const char *cfg_path, struct domain_config *dc, uint32_t *flags,
		     char *err, size_t errlen)
{
	struct mig_reader r;
	const uint8_t *body;
	char *text = NULL;
	uint32_t type;
	size_t len;
	int ret = -1;

	memset(dc, 0, sizeof(*dc));
	mig_reader_init(&r, fd);
	if (mig_read_header(&r, err, errlen) || mig_read_record(&r, &type, &body, &len, err, errlen))
		goto out;
	if (type != MIG_REC_CONFIG) {
		snprintf(err, errlen, "the stream's first record is %s, not the domain's CONFIG",
			 mig_record_name(type));
		goto out;
	}
	*flags = r.flags;
	if (cfg_path) {
		text = read_text(cfg_path, err, errlen);
		if (text)
			ret = config_parse(text, cfg_path, dc, err, errlen);
		goto out;
	}
	text = malloc(len + 1);
	if (!text) {
		snprintf(err, errlen, "out of memory for a %zu-byte config", len);
		goto out;
	}
	memcpy(text, body, len);
	text[len] = '\0';
	if (strlen(text) != len) {
		snprintf(err, errlen, "the stream's CONFIG record holds a NUL byte: it is no xl.cfg");
		goto out;
	}
	ret = config_parse(text, "the stream's config", dc, err, errlen);
out:
	free(text);
	mig_reader_free(&r);
	return ret;
}

static int page_seen(void *opaque, uint64_t index, enum mig_page_kind kind, const uint8_t *data)
{
	(void)opaque, (void)index, (void)kind, (void)data;
	return 0;
}

int xl_mig_check_rest(int fd, char *err, size_t errlen)
{
	off_t start = lseek(fd, 0, SEEK_CUR);
	struct mig_reader r;
	bool ended = false;
	int ret = 0;

	if (start < 0) {
		snprintf(err, errlen, "cannot tell where the stream is: %s", strerror(errno));
		return -1;
	}
	/* The reader wants a header first; this one starts mid-stream, so it counts from here. */
	mig_reader_init(&r, fd);
	r.offset = (uint64_t)start;
	while (!ended) {
		const uint8_t *body;
		uint32_t type;
		size_t len;

		if (mig_read_record(&r, &type, &body, &len, err, errlen)) {
			ret = -1;
			break;
		}
		ended = type == MIG_REC_END;
		if (type == MIG_REC_PAGES && mig_pages_walk(body, len, page_seen, NULL, err, errlen)) {
			ret = -1;
			break;
		}
	}
	mig_reader_free(&r);
	if (lseek(fd, start, SEEK_SET) < 0 && !ret) {
		snprintf(err, errlen, "cannot go back in the stream: %s", strerror(errno));
		ret = -1;
	}
	return ret;
}

int xl_mig_vmm_save(struct xl_ctx *ctx, unsigned int domid, bool live, bool debug, int stream_fd,
		    int progress_fd, char *reply, size_t len)
{
	int fds[2] = { stream_fd, progress_fd };
	char request[32];

	snprintf(request, sizeof(request), "save%s%s", live ? " live" : "", debug ? " debug" : "");
	return xl_control_call_fds(&ctx->rd, domid, request, fds, progress_fd >= 0 ? 2 : 1,
				   XL_SAVE_MS, reply, len, NULL);
}

int xl_mig_vmm_resume(struct xl_ctx *ctx, unsigned int domid, bool pause, char *err,
		      size_t errlen)
{
	char reply[1024];

	if (xl_domain_request(ctx, domid, "resume", XL_REQUEST_MS, reply, sizeof(reply))) {
		snprintf(err, errlen, "cannot resume domain %u: %s", domid, reply);
		return -1;
	}
	if (pause && xl_domain_request(ctx, domid, "pause", XL_REQUEST_MS, reply, sizeof(reply))) {
		snprintf(err, errlen, "domain %u was resumed but cannot be paused: %s", domid, reply);
		return -1;
	}
	return 0;
}

unsigned long xl_mig_host_free_mb(void)
{
	char line[256];
	unsigned long kb = 0;
	FILE *f = fopen("/proc/meminfo", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lu kB", &kb) == 1)
			break;
	fclose(f);
	return kb / 1024;
}
