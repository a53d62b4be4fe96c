/* xl dmesg [-c]: prints the hypervisor log, oldest line first, and with -c clears it afterwards,
 * as Xen's xl reads (and clears) its console ring. */
#include <getopt.h>
#include <stdlib.h>
#include "lib/hvlog.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_dmesg.h"
#include "xl/xl_domain.h"

int xl_dmesg_print(struct xl_ctx *ctx, FILE *out, bool clear)
{
	char dir[PATH_MAX], err[512];
	struct hvlog log;

	if (xl_ctx_rundir(ctx))
		return EXIT_FAILURE;
	if (!rundir_path(&ctx->rd, dir, sizeof(dir), "log")) {
		fprintf(stderr, "xl: run directory path too long\n");
		return EXIT_FAILURE;
	}
	if (hvlog_open(&log, dir, 0, err, sizeof(err))) {
		fprintf(stderr, "xl: cannot open the hypervisor log: %s\n", err);
		return EXIT_FAILURE;
	}
	int r = hvlog_dump(&log, out, clear, err, sizeof(err));
	hvlog_close(&log);
	if (r) {
		fprintf(stderr, "xl: reading the hypervisor log: %s\n", err);
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}

int main_dmesg(struct xl_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "clear", no_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	bool clear = false;
	int opt, status;

	while ((opt = xl_getopt(argc, argv, "c", opts, "dmesg", 0, &status)) != -1) {
		if (opt == XL_OPT_STOP)
			return status;
		if (opt == 'c')
			clear = true;
	}
	return xl_dmesg_print(ctx, stdout, clear);
}
