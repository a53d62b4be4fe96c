/*
 * Guest output, as a Xen PVH kernel does it.  Until the hypercall page is installed bytes go to the
 * debug port 0xe9.  Afterwards, until the PV console ring connects, to console_io: on Xen that is
 * the hypervisor's log (`xl dmesg`), not the domain's console, so those lines are also kept here and
 * replayed into the ring once it connects, as Linux replays its log buffer when its hvc console
 * registers; the domain's console then shows the whole boot, each line once.  Once connected, the
 * ring alone.  Fatal reports (console_report) go to both: console_io first, which cannot hang.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include "console.h"
#include "hypercall.h"
#include "klib.h"
#include "x86.h"
#include "xencons.h"

#define DEBUG_PORT 0xe9
#define EARLY_MAX  1536         /* fits the ring's 2048-byte out side with room to spare */

static char early[EARLY_MAX];
static size_t early_len, early_dropped;
static bool early_replayed;

void console_early_puts(const char *s)
{
    for (; *s; s++)
        outb(DEBUG_PORT, *s);
}

static void console_io_write(const char *s, size_t len)
{
    hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, len, (unsigned long)s);
}

static void keep_early(const char *s, size_t len)
{
    size_t room = EARLY_MAX - early_len, n = len < room ? len : room;

    memcpy(early + early_len, s, n);
    early_len += n;
    early_dropped += len - n;
}

/* The first time the ring is up: what only console_io has seen so far goes there first. */
static bool replay_early(void)
{
    char note[64];

    early_replayed = true;
    if (early_len && !xencons_write(early, early_len))
        return false;
    if (early_dropped) {
        int n = snprintf(note, sizeof(note), "(%lu bytes of early output not kept)\r\n",
                         (unsigned long)early_dropped);
        if (!xencons_write(note, (size_t)n))
            return false;
    }
    return true;
}

void console_write(const char *s, size_t len)
{
    if (!xen_present()) {
        for (size_t i = 0; i < len; i++)
            outb(DEBUG_PORT, s[i]);
        return;
    }
    if (xencons_connected()) {
        if ((early_replayed || replay_early()) && xencons_write(s, len))
            return;
        static const char stalled[] = "xencons: the backend stopped draining the ring; back to console_io\r\n";
        console_io_write(stalled, sizeof(stalled) - 1);
    } else if (!early_replayed) {
        keep_early(s, len);
    }
    console_io_write(s, len);
}

/* Formats a message, "\n" becoming "\r\n", and sends it in one piece (one hypercall). */
static void emit(bool report, const char *fmt, va_list ap)
{
    char text[512], line[2 * sizeof(text)];
    size_t n = 0;

    vsnprintf(text, sizeof(text), fmt, ap);
    for (const char *p = text; *p; p++) {
        if (*p == '\n')
            line[n++] = '\r';
        line[n++] = *p;
    }
    if (!report || !xen_present()) {
        console_write(line, n);
        return;
    }
    console_io_write(line, n);
    if (xencons_connected())
        xencons_write(line, n);
}

void printk(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(false, fmt, ap);
    va_end(ap);
}

void console_report(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    emit(true, fmt, ap);
    va_end(ap);
}
