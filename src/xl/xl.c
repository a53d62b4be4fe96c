/* xl, Xenith's toolstack, compatible with Xen's xl: `xl [-vN] <subcommand> [args]`.
 *
 * The command table (xl_cmdtable.c) drives everything: dispatch by unique prefix, `xl help`,
 * `xl help CMD` and `xl CMD -h`.  Commands talk to domains through the run directory and each
 * domain's control socket (docs/vmm-control.md); see xl_domain.h for the environment knobs
 * (XENITH_RUNDIR, XENITH_VMM, XENITH_KVM_DEVICE). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "lib/error.h"
#include "xl/xl_cmdtable.h"
#include "xl/xl_domain.h"

int main(int argc, char **argv)
{
	struct xl_ctx ctx = { 0 };
	const struct cmd_spec *cmd;
	const char *name;
	int opt;

	log_set_program("xl");
	/* Global options stop at the subcommand ("+"). -v is accepted for xl compatibility. */
	opterr = 0;
	while ((opt = getopt(argc, argv, "+vN")) != -1) {
		switch (opt) {
		case 'v':
			break;
		case 'N':
			ctx.dryrun = true;
			break;
		default:
			fprintf(stderr, "xl: unknown global option '-%c'\n\n", optopt);
			xl_help(stderr, NULL);
			return EXIT_FAILURE;
		}
	}
	name = argv[optind];
	if (!name) {
		xl_help(stderr, NULL);
		return EXIT_FAILURE;
	}
	if (!strcmp(name, "help"))
		return xl_help(stdout, argv[optind + 1]) ? EXIT_FAILURE : EXIT_SUCCESS;

	cmd = cmdtable_lookup(name);
	if (!cmd) {
		xl_help(stderr, name);   /* says "not implemented" */
		fprintf(stderr, "\n");
		xl_help(stderr, NULL);
		return EXIT_FAILURE;
	}
	if (ctx.dryrun && !cmd->can_dryrun) {
		fprintf(stderr, "xl: command '%s' does not implement -N (dry run)\n", cmd->name);
		return EXIT_FAILURE;
	}
	/* The command sees argv[0] = its name, options after, like Xen's xl. */
	argv += optind;
	argc -= optind;
	optind = 0;               /* 0: a full getopt reset, as glibc documents */
	return cmd->impl(&ctx, argc, argv);
}
