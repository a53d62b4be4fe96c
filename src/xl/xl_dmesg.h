/* xl dmesg: the hypervisor log (lib/hvlog.h), where DomUs' console_io lines go. */
#ifndef XENITH_XL_DMESG_H
#define XENITH_XL_DMESG_H

#include <stdbool.h>
#include <stdio.h>

struct xl_ctx;

int main_dmesg(struct xl_ctx *ctx, int argc, char **argv);
/* What `xl dmesg [-c]` does, printing to `out`: the exit status, having said why on stderr. */
int xl_dmesg_print(struct xl_ctx *ctx, FILE *out, bool clear);

#endif
