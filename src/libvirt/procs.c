/* The procedure tables gathered (virt_proc.h).  Each procs_*.c file defines one table ending in
 * a row whose name is NULL; a new file adds its line to `tables` below.  The tables of files
 * other helpers are still writing are weak, so the daemon links (and answers "not supported")
 * before they land. */
#include <stdarg.h>
#include <stdio.h>

#include "libvirt/virt_proc.h"

extern const struct virt_proc virt_procs_connect[];
extern const struct virt_proc virt_procs_domain[] __attribute__((weak));
extern const struct virt_proc virt_procs_events[] __attribute__((weak));
extern const struct virt_proc virt_procs_console[] __attribute__((weak));
extern const struct virt_proc virt_procs_storage[] __attribute__((weak));

int virt_call_error(struct virt_call *call, int code, int domain, const char *fmt, ...)
{
	va_list ap;

	call->error.code = code;
	call->error.domain = domain;
	va_start(ap, fmt);
	vsnprintf(call->error.message, sizeof(call->error.message), fmt, ap);
	va_end(ap);
	return -1;
}

const struct virt_proc *virt_proc_find(uint32_t program, int32_t number)
{
	const struct virt_proc *const tables[] = {
		virt_procs_connect,
		virt_procs_domain,
		virt_procs_events,
		virt_procs_console,
		virt_procs_storage,
	};

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		if (!tables[t])
			continue;
		for (const struct virt_proc *p = tables[t]; p->name; p++)
			if (p->program == program && p->number == number)
				return p;
	}
	return NULL;
}
