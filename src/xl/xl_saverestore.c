/* `xl save` and `xl restore` (docs/migration.md, docs/xl.md).
 *
 * save writes FILE.tmp-<pid> (header, CONFIG, then the VMM's part through `save`) and renames it
 * to FILE only when whole, so a failed save never leaves a half file where the user looks; the
 * domain is then destroyed, or resumed (-c), or resumed paused (-p, as Xen's xl pauses and
 * resumes it).  Until the rename the domain can still run on: any failure resumes it.
 *
 * restore reads the head, then checks the rest of the file to its END record before anything is
 * started (a corrupt or truncated file is refused with the reader's message), then starts a VMM
 * on the same descriptor and unpauses the domain unless -p. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "migrate/stream.h"
#include "xl/xl_bounds.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_migrate.h"

int main_save(struct xl_ctx *ctx, int argc, char **argv)
{
	char name[DOMAIN_NAME_MAX + 1], err[2048], reply[1024], tmp[PATH_MAX] = "";
	bool checkpoint = false, leave_paused = false, saved = false;
	const char *file, *cfg_path;
	char *config = NULL;
	unsigned int domid;
	int opt, status, fd = -1;

	while ((opt = xl_getopt(argc, argv, "cp", NULL, "save", 2, &status)) != -1) {
		switch (opt) {
		case XL_OPT_STOP:
			return status;
		case 'c':
			checkpoint = true;
			break;
		case 'p':
			leave_paused = true;
			break;
		}
	}
	if (argc - optind > 3) {
		fprintf(stderr, "xl: save takes DOMAIN FILE [CFG], not %d arguments\n\n", argc - optind);
		xl_help(stderr, "save");
		return 2;
	}
	file = argv[optind + 1];
	cfg_path = argc - optind == 3 ? argv[optind + 2] : NULL;
	status = xl_find_domain_or_complain(ctx, argv[optind], "save", &domid, name, sizeof(name));
	if (status)
		return status;
	status = EXIT_FAILURE;
	if (xl_mig_config_text(ctx, domid, cfg_path, &config, err, sizeof(err))) {
		fprintf(stderr, "xl: cannot save domain %u (%s): %s\n", domid, name, err);
		goto out;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%d", file, (int)getpid()) >= sizeof(tmp)) {
		fprintf(stderr, "xl: save file name %s is too long\n", file);
		goto out;
	}
	/* 0600: the file holds the guest's memory. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "xl: cannot save domain %u (%s): cannot create %s: %s\n", domid, name,
			tmp, strerror(errno));
		goto out;
	}
	fprintf(stderr, "Saving domain %u (%s) to %s\n", domid, name, file);
	if (xl_mig_write_head(fd, 0, config, err, sizeof(err))) {
		fprintf(stderr, "xl: cannot save domain %u (%s): %s: %s\n", domid, name, tmp, err);
		goto out;
	}
	if (xl_mig_vmm_save(ctx, domid, false, false, fd, STDERR_FILENO, reply, sizeof(reply))) {
		fprintf(stderr, "xl: cannot save domain %u (%s): %s; it runs on as before\n", domid,
			name, reply);
		goto out;
	}
	saved = true;      /* the domain is suspended from here: it must be resumed or destroyed */
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		fprintf(stderr, "xl: cannot save domain %u (%s): writing %s: %s\n", domid, name, tmp,
			strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, file) < 0) {
		fprintf(stderr, "xl: cannot save domain %u (%s): renaming %s to %s: %s\n", domid, name,
			tmp, file, strerror(errno));
		goto out;
	}
	tmp[0] = '\0';
	fprintf(stderr, "Saved domain %u (%s): %s\n", domid, name, reply);
	if (checkpoint || leave_paused) {
		if (xl_mig_vmm_resume(ctx, domid, leave_paused, err, sizeof(err))) {
			fprintf(stderr, "xl: domain %u (%s) is saved to %s, but %s\n", domid, name, file,
				err);
			return EXIT_FAILURE;
		}
	} else if (xl_domain_destroy(ctx, domid, name, err, sizeof(err))) {
		fprintf(stderr, "xl: domain %u (%s) is saved to %s, but %s\n", domid, name, file, err);
		return EXIT_FAILURE;
	}
	saved = false;
	status = EXIT_SUCCESS;
out:
	if (fd >= 0)
		close(fd);
	if (tmp[0] && status != EXIT_SUCCESS)
		unlink(tmp);
	if (saved && status != EXIT_SUCCESS) {
		/* No file where the user looks: the domain must run on. */
		if (xl_mig_vmm_resume(ctx, domid, false, err, sizeof(err)))
			fprintf(stderr, "xl: %s\n", err);
		else
			fprintf(stderr, "xl: domain %u (%s) was resumed and runs on\n", domid, name);
	}
	free(config);
	return status;
}

int main_restore(struct xl_ctx *ctx, int argc, char **argv)
{
	struct domain_config dc = { 0 };
	const char *file, *cfg_path = NULL;
	bool paused = false;
	char err[2048], reply[1024];
	unsigned int domid;
	uint32_t flags;
	int opt, status, fd = -1, r;

	while ((opt = xl_getopt(argc, argv, "ped", NULL, "restore", 1, &status)) != -1) {
		switch (opt) {
		case XL_OPT_STOP:
			return status;
		case 'p':
			paused = true;
			break;
		case 'e':          /* xl's "do not wait in the background": a VMM is its own process */
		case 'd':          /* xl's debug output: the VMM's log has it */
			break;
		}
	}
	if (argc - optind > 2) {
		fprintf(stderr, "xl: restore takes [CFG] FILE, not %d arguments\n\n", argc - optind);
		xl_help(stderr, "restore");
		return 2;
	}
	if (argc - optind == 2)
		cfg_path = argv[optind++];
	file = argv[optind];
	status = EXIT_FAILURE;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "xl: cannot restore from %s: %s\n", file, strerror(errno));
		goto out;
	}
	if (xl_mig_read_head(fd, cfg_path, &dc, &flags, err, sizeof(err)) ||
	    xl_mig_check_rest(fd, err, sizeof(err))) {
		fprintf(stderr, "xl: cannot restore from %s: %s\n", file, err);
		goto out;
	}
	fprintf(stderr, "Restoring domain %s from %s\n", dc.name, file);
	r = xl_domain_create_restore(ctx, &dc, fd, XL_RESTORE_MS, &domid, err, sizeof(err));
	if (r) {
		if (*err)
			fprintf(stderr, "xl: cannot restore domain %s from %s: %s\n", dc.name, file, err);
		if (r > 0)
			status = 128 + r;
		goto out;
	}
	if (!paused && xl_domain_request(ctx, domid, "unpause", XL_REQUEST_MS, reply, sizeof(reply))) {
		fprintf(stderr, "xl: domain %u (%s) was restored but does not unpause: %s; "
			"destroying it\n", domid, dc.name, reply);
		if (xl_domain_destroy(ctx, domid, dc.name, err, sizeof(err)))
			fprintf(stderr, "xl: %s\n", err);
		goto out;
	}
	fprintf(stderr, "Restored domain %s as domain %u%s\n", dc.name, domid,
		paused ? " (paused)" : "");
	status = EXIT_SUCCESS;
out:
	if (fd >= 0)
		close(fd);
	domain_config_free(&dc);
	return status;
}
