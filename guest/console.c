#include <stdarg.h>
#include <stdint.h>
#include "console.h"
#include "hypercall.h"
#include "klib.h"
#include "x86.h"
#include "xencons.h"

#define DEBUG_PORT 0xe9

void console_early_puts(const char *s)
{
    for (; *s; s++)
        outb(DEBUG_PORT, *s);
}

void console_write(const char *s, size_t len)
{
    if (!xen_present()) {
        for (size_t i = 0; i < len; i++)
            outb(DEBUG_PORT, s[i]);
        return;
    }
    if (xencons_connected()) {
        if (xencons_write(s, len))
            return;
        static const char stalled[] = "xencons: the backend stopped draining the ring; back to console_io\r\n";
        hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, sizeof(stalled) - 1, (unsigned long)stalled);
    }
    hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, len, (unsigned long)s);
}

void printk(const char *fmt, ...)
{
    char text[512], line[2 * sizeof(text)];
    size_t n = 0;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            line[n++] = '\r';
        line[n++] = *p;
    }
    console_write(line, n);     /* one hypercall per message */
}
