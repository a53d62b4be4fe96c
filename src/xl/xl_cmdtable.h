/* xl's command table: one row per subcommand drives dispatch, unique-prefix matching and help, as in
 * Xen's xl.  Each command is main_<cmd>(ctx, argc, argv) in the file for its area and returns the
 * process exit status. */
#ifndef XENITH_XL_CMDTABLE_H
#define XENITH_XL_CMDTABLE_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

struct xl_ctx;

typedef int xl_cmd_fn(struct xl_ctx *ctx, int argc, char **argv);

struct cmd_spec {
	const char *name;
	xl_cmd_fn *impl;         /* NULL: planned but not written yet; hidden from lookup and help */
	int can_dryrun;          /* honours the global -N */
	const char *desc;        /* one line, no final full stop */
	const char *usage;       /* what follows "xl <name>" */
	const char *options;     /* "-x   what it does" lines, or NULL */
};

extern const struct cmd_spec cmd_table[];
extern const size_t cmd_table_len;

/* The command named `name`, or the only one `name` is a prefix of (an exact name wins even when it
 * prefixes another); NULL when none or ambiguous. */
const struct cmd_spec *cmdtable_lookup(const char *name);

/* `xl help` (command NULL) lists the commands; `xl help CMD` shows one.  Returns 0, or 1 for an
 * unknown command (after saying so). */
int xl_help(FILE *out, const char *command);

/* getopt_long for a subcommand, with xl's common behaviour: -h/--help prints the command's help,
 * unknown options and missing arguments are errors.  Returns the next option, -1 once all options
 * are read and at least `reqargs` arguments remain, or XL_OPT_STOP with *status set to the exit
 * status the command should return now. */
#define XL_OPT_STOP (-2)
int xl_getopt(int argc, char **argv, const char *optstring, const struct option *longopts,
	      const char *command, int reqargs, int *status);

/* xl_vmcontrol.c */
int main_create(struct xl_ctx *ctx, int argc, char **argv);
int main_destroy(struct xl_ctx *ctx, int argc, char **argv);
int main_pause(struct xl_ctx *ctx, int argc, char **argv);
int main_unpause(struct xl_ctx *ctx, int argc, char **argv);
int main_trigger(struct xl_ctx *ctx, int argc, char **argv);
int main_console(struct xl_ctx *ctx, int argc, char **argv);
/* xl_shutdown.c */
int main_shutdown(struct xl_ctx *ctx, int argc, char **argv);
int main_reboot(struct xl_ctx *ctx, int argc, char **argv);
int main_sysrq(struct xl_ctx *ctx, int argc, char **argv);
/* xl_info.c */
int main_list(struct xl_ctx *ctx, int argc, char **argv);
int main_info(struct xl_ctx *ctx, int argc, char **argv);
int main_domid(struct xl_ctx *ctx, int argc, char **argv);
int main_domname(struct xl_ctx *ctx, int argc, char **argv);
/* xl_vcpu.c */
int main_vcpuset(struct xl_ctx *ctx, int argc, char **argv);
/* xl_sched.c */
int main_vcpulist(struct xl_ctx *ctx, int argc, char **argv);
int main_vcpupin(struct xl_ctx *ctx, int argc, char **argv);
int main_sched_credit(struct xl_ctx *ctx, int argc, char **argv);
/* xl_mem.c, xl_top.c */
int main_memset(struct xl_ctx *ctx, int argc, char **argv);
int main_memmax(struct xl_ctx *ctx, int argc, char **argv);
int main_top(struct xl_ctx *ctx, int argc, char **argv);
int main_uptime(struct xl_ctx *ctx, int argc, char **argv);
/* xl_network.c */
int main_network_attach(struct xl_ctx *ctx, int argc, char **argv);
int main_network_detach(struct xl_ctx *ctx, int argc, char **argv);
int main_network_list(struct xl_ctx *ctx, int argc, char **argv);
/* xl_block.c */
int main_block_attach(struct xl_ctx *ctx, int argc, char **argv);
int main_block_detach(struct xl_ctx *ctx, int argc, char **argv);
int main_block_list(struct xl_ctx *ctx, int argc, char **argv);
/* xl_saverestore.c, xl_migrate.c */
int main_save(struct xl_ctx *ctx, int argc, char **argv);
int main_restore(struct xl_ctx *ctx, int argc, char **argv);
int main_migrate(struct xl_ctx *ctx, int argc, char **argv);
int main_migrate_receive(struct xl_ctx *ctx, int argc, char **argv);

#endif
