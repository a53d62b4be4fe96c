/* The command table, lookup by unique prefix, help, and the option parsing every command shares. */
#include <string.h>
#include "xl/xl_cmdtable.h"
#include "xl/xl_dmesg.h"

const struct cmd_spec cmd_table[] = {
	{ "create", main_create, 1,
	  "Create a domain from config file <filename>",
	  "<ConfigFile> [options] [vars]",
	  "-c                      Connect to the console after the domain is created.\n"
	  "-h                      Print this help.\n"
	  "-n, --dryrun            Dry run - prints the resulting configuration\n"
	  "                         (deprecated in favour of global -N option).\n"
	  "-p                      Leave the domain paused after it is created.\n"
	  "-q, --quiet             Quiet." },
	{ "list", main_list, 0,
	  "List information about all/some domains",
	  "[options] [Domain...]",
	  "-l, --long              Output all VM details (JSON)" },
	{ "destroy", main_destroy, 0,
	  "Terminate a domain immediately",
	  "<Domain>", NULL },
	{ "shutdown", main_shutdown, 0,
	  "Issue a shutdown signal to a domain",
	  "[options] <-a|Domain>",
	  "-a, --all               Shutdown all guest domains.\n"
	  "-h                      Print this help.\n"
	  "-F                      Fallback to ACPI power event (HVM domains without PV drivers).\n"
	  "-w, --wait              Wait for guest(s) to complete shutdown." },
	{ "reboot", main_reboot, 0,
	  "Issue a reboot signal to a domain",
	  "[options] <-a|Domain>",
	  "-a, --all               Reboot all guest domains.\n"
	  "-h                      Print this help.\n"
	  "-F                      Fallback to ACPI reset event (HVM domains without PV drivers).\n"
	  "-w, --wait              Wait for guest(s) to complete the reboot." },
	{ "pause", main_pause, 0,
	  "Pause execution of a domain",
	  "<Domain>", NULL },
	{ "unpause", main_unpause, 0,
	  "Unpause a paused domain",
	  "<Domain>", NULL },
	{ "trigger", main_trigger, 0,
	  "Send a trigger to a domain",
	  "<Domain> <nmi|reset|init|power|sleep|s3resume> [<VCPU>]", NULL },
	{ "console", main_console, 0,
	  "Attach to domain's console",
	  "[options] <Domain>",
	  "-t <type>               console type, pv or serial (the same console here)\n"
	  "Ctrl-] detaches." },
	{ "vcpu-set", main_vcpuset, 0,
	  "Set the number of active VCPUs allowed for the domain",
	  "[option] <Domain> <vCPUs>",
	  "-i, --ignore-host       Don't limit the vCPU based on the host CPU count" },
	{ "vcpu-list", main_vcpulist, 0,
	  "List the VCPUs for all/some domains",
	  "[Domain, ...]", NULL },
	{ "vcpu-pin", main_vcpupin, 1,
	  "Set which CPUs a VCPU can use",
	  "[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>",
	  "-f, --force        undo an override pinning done by the kernel" },
	{ "sched-credit", main_sched_credit, 0,
	  "Get/set credit scheduler parameters",
	  "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]]",
	  "-d DOMAIN, --domain=DOMAIN        Domain to modify\n"
	  "-w WEIGHT, --weight=WEIGHT        Weight (int)\n"
	  "-c CAP,    --cap=CAP              Cap (int)" },
	{ "mem-max", main_memmax, 0,
	  "Set the maximum amount reservation for a domain",
	  "<Domain> <MemKB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", NULL },
	{ "mem-set", main_memset, 0,
	  "Set the current memory usage for a domain",
	  "<Domain> <MemKB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>", NULL },
	{ "top", main_top, 0,
	  "Monitor a host and the domains in real time",
	  "[-b] [-i ITERATIONS] [-d DELAY]",
	  "-b, --batch             Batch mode: print frames, no screen control.\n"
	  "-d, --delay=SECONDS     Seconds between frames (default 3).\n"
	  "-i, --iterations=N      Number of frames before quitting (default: until interrupted).\n"
	  "Without -b the frames are redrawn on the terminal; q or Ctrl-C quits." },
	{ "uptime", main_uptime, 0,
	  "Print uptime for all/some domains",
	  "[-s] [Domain]",
	  "-s                      Short mode: no header, no seconds shown as a duration." },
	{ "save", main_save, 0,
	  "Save a domain state to restore later",
	  "[options] <Domain> <CheckpointFile> [<ConfigFile>]",
	  "-h                      Print this help.\n"
	  "-c                      Leave domain running after creating the snapshot.\n"
	  "-p                      Leave domain paused after creating the snapshot." },
	{ "restore", main_restore, 0,
	  "Restore a domain from a saved state",
	  "[options] [<ConfigFile>] <CheckpointFile>",
	  "-h                      Print this help.\n"
	  "-p                      Do not unpause domain after restoring it.\n"
	  "-e                      Do not wait in the background for the death of the domain\n"
	  "                         (always so here: the VMM is its own process).\n"
	  "-d                      Enable debug messages (the VMM's log has them)." },
	{ "migrate", main_migrate, 0,
	  "Migrate a domain to another host",
	  "[options] <Domain> <host>",
	  "-h                      Print this help.\n"
	  "-C <config>             Send <config> instead of config file from creation.\n"
	  "-s <sshcommand>         Use <sshcommand> instead of ssh.  String will be passed\n"
	  "                         to sh: it runs `<sshcommand> <host> xl migrate-receive`.\n"
	  "-e                      Do not wait in the background (on <host>) for the death\n"
	  "                         of the domain.\n"
	  "--debug                 Ask the VMMs to compare a digest of guest RAM.\n"
	  "-p                      Do not unpause domain after migrating it." },
	{ "migrate-receive", main_migrate_receive, 0,
	  "Receive a domain migrated by xl migrate (run by it through SSHCOMMAND)",
	  "[-d] [-e] [-p]",
	  "-d                      Debug: the sender asked for the RAM digest check.\n"
	  "-e                      Accepted for xl compatibility.\n"
	  "-p                      Leave the domain paused once it is here." },
	{ "network-attach", main_network_attach, 1,
	  "Create a new virtual network device",
	  "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] "
	  "[backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>]", NULL },
	{ "network-list", main_network_list, 0,
	  "List virtual network interfaces for a domain",
	  "<Domain(s)>", NULL },
	{ "network-detach", main_network_detach, 0,
	  "Destroy a domain's virtual network device",
	  "<Domain> <DevId|mac>", NULL },
	{ "block-attach", main_block_attach, 1,
	  "Create a new virtual block device",
	  "<Domain> <disk-spec-component(s)>...", NULL },
	{ "block-list", main_block_list, 0,
	  "List virtual block devices for a domain",
	  "<Domain(s)>", NULL },
	{ "block-detach", main_block_detach, 0,
	  "Destroy a domain's virtual block device",
	  "<Domain> <DevId>",
	  "-f, --force             Do not wait for the domain to release the device\n"
	  "                         (not available in Xenith: detach always waits).\n"
	  "DevId may also be the vdev, like xvdb." },
	{ "sysrq", main_sysrq, 0,
	  "Send a sysrq to a guest",
	  "<Domain> <sysrq letter>", NULL },
	{ "dmesg", main_dmesg, 0,
	  "Read and/or clear dmesg buffer",
	  "[-c]",
	  "-c                      Clear dmesg buffer as well as printing it" },
	{ "info", main_info, 0,
	  "Get information about Xen host",
	  "[item]",
	  "item                    print only the value of this line, e.g. `xl info free_memory`" },
	{ "domid", main_domid, 0,
	  "Convert a domain name to domain id",
	  "<DomainName>", NULL },
	{ "domname", main_domname, 0,
	  "Convert a domain id to domain name",
	  "<DomainId>", NULL },
};
const size_t cmd_table_len = sizeof(cmd_table) / sizeof(cmd_table[0]);

const struct cmd_spec *cmdtable_lookup(const char *name)
{
	const struct cmd_spec *found = NULL;
	size_t len, count = 0;

	if (!name || !*name)
		return NULL;
	len = strlen(name);
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_spec *c = &cmd_table[i];

		if (!c->impl || strncmp(name, c->name, len))
			continue;
		if (strlen(c->name) == len)
			return c;
		found = c;
		count++;
	}
	return count == 1 ? found : NULL;
}

static const struct cmd_spec *planned_command(const char *name)
{
	for (size_t i = 0; i < cmd_table_len; i++)
		if (!cmd_table[i].impl && !strcmp(cmd_table[i].name, name))
			return &cmd_table[i];
	return NULL;
}

static void list_commands(FILE *out)
{
	fprintf(out, "Usage xl [-vN] <subcommand> [args]\n\n");
	fprintf(out, "xl full list of subcommands:\n\n");
	for (size_t i = 0; i < cmd_table_len; i++) {
		const struct cmd_spec *c = &cmd_table[i];

		if (!c->impl)
			continue;
		fprintf(out, " %-19s ", c->name);
		if (strlen(c->name) > 19)
			fprintf(out, "\n %-19s ", "");
		fprintf(out, "%s\n", c->desc);
	}
}

int xl_help(FILE *out, const char *command)
{
	const struct cmd_spec *c;

	if (!command || !strcmp(command, "help")) {
		list_commands(out);
		return 0;
	}
	c = cmdtable_lookup(command);
	if (!c) {
		size_t len = strlen(command), matches = 0;

		for (size_t i = 0; i < cmd_table_len; i++)
			matches += cmd_table[i].impl && !strncmp(command, cmd_table[i].name, len);
		if (*command && matches > 1) {
			fprintf(stderr, "xl: command \"%s\" is ambiguous:", command);
			for (size_t i = 0; i < cmd_table_len; i++)
				if (cmd_table[i].impl && !strncmp(command, cmd_table[i].name, len))
					fprintf(stderr, " %s", cmd_table[i].name);
			fprintf(stderr, "\n");
		} else if (planned_command(command))
			fprintf(stderr, "xl: command \"%s\" is not implemented in Xenith yet\n", command);
		else
			fprintf(stderr, "xl: command \"%s\" not implemented\n", command);
		return 1;
	}
	fprintf(out, "Usage: xl [-v%s] %s %s\n\n%s.\n\n", c->can_dryrun ? "N" : "", c->name, c->usage,
		c->desc);
	if (c->options)
		fprintf(out, "Options:\n\n%s\n", c->options);
	return 0;
}

int xl_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
	      const char *command, int reqargs, int *status)
{
	static const struct option help_only[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	char shortopts[64];
	int opt;

	/* "+" would stop at the first argument; xl lets options follow the arguments, so no "+".
	 * ":" first makes a missing option argument come back as ':' instead of a message. */
	if ((size_t)snprintf(shortopts, sizeof(shortopts), ":h%s", optstring) >= sizeof(shortopts)) {
		fprintf(stderr, "xl %s: internal error: option string too long\n", command);
		*status = 2;
		return XL_OPT_STOP;
	}
	opterr = 0;
	opt = getopt_long(argc, argv, shortopts, longopts ? longopts : help_only, NULL);
	switch (opt) {
	case 'h':
		xl_help(stdout, command);
		*status = 0;
		return XL_OPT_STOP;
	case '?':
		if (optopt)
			fprintf(stderr, "option `%c' not supported.\n", optopt);
		else
			fprintf(stderr, "option `%s' not supported.\n", argv[optind - 1]);
		*status = 2;
		return XL_OPT_STOP;
	case ':':
		fprintf(stderr, "option `%c' requires an argument.\n", optopt);
		*status = 2;
		return XL_OPT_STOP;
	case -1:
		break;
	default:
		return opt;
	}
	if (argc - optind < reqargs) {
		fprintf(stderr, "'xl %s' requires at least %d argument%s.\n\n", command, reqargs,
			reqargs > 1 ? "s" : "");
		xl_help(stderr, command);
		*status = 2;
		return XL_OPT_STOP;
	}
	return -1;
}
