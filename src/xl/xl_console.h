/* The console client: joins the terminal to a domain's console pty (domains/<id>/console.tty). */
#ifndef XENITH_XL_CONSOLE_H
#define XENITH_XL_CONSOLE_H

#include <stddef.h>

struct xl_ctx;

#define XL_CONSOLE_ESCAPE 0x1d   /* Ctrl-] detaches, as with xenconsole */

/* Copies the console to stdout and stdin to the console until Ctrl-] on stdin or the pty hangs
 * up (the domain ended).  The terminal is put in raw mode only if stdin is one, and always put
 * back.  Returns 0, or -1 with a message in err (nothing attached). */
int xl_console_attach(struct xl_ctx *ctx, unsigned int domid, char *err, size_t errlen);

/* The console pty's slave named in domains/<domid>/console.tty, into buf.  0, or -1 with why. */
int xl_console_tty_path(struct xl_ctx *ctx, unsigned int domid, char *buf, size_t len, char *err,
			size_t errlen);

#endif
