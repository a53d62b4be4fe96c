/*
 * Guest output, as a Xen PVH kernel does it.  Until the hypercall page is installed bytes go to the
 * debug port 0xe9.  Afterwards, until the PV console ring connects, to console_io: on Xen that is
 * the hypervisor's log (`xl dmesg`), not the domain's console, so those lines are also kept here and
 * replayed into the ring once it connects, as Linux replays its log buffer when its hvc console
 * registers; the domain's console then shows the whole boot, each line once.  Once connected, the
 * ring alone.  Fatal reports (console_report) go to both: console_io first, which cannot hang.
 * In an HVM domain (a Multiboot2 entry: console_use_com1) the domain's console is the serial line,
 * as for any PC: every line goes to COM1 only, fatal reports to console_io as well.
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
#define COM1_DATA  0x3f8
#define COM1_LSR   0x3fd        /* line status */
#define LSR_THRE   0x20         /* transmit holding register empty */
#define COM1_POLLS 10000        /* then the UART is taken as stuck and written without waiting */

static char early[EARLY_MAX];
static size_t early_len, early_dropped;
static bool early_replayed;
static bool use_com1, com1_stuck;

void console_use_com1(void)
{
    use_com1 = true;
}

/* Polled, as firmware does: the boot loader already set the line up (115200 8N1). */
static void com1_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        for (unsigned int polls = 0; !com1_stuck && !(inb(COM1_LSR) & LSR_THRE); polls++)
            if (polls == COM1_POLLS)
                com1_stuck = true;
        outb(COM1_DATA, s[i]);
    }
}

void console_early_puts(const char *s)
{
    if (use_com1)
        com1_write(s, strlen(s));
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
    if (use_com1) {
        com1_write(s, len);
        return;
    }
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
    if (use_com1) {
        console_io_write(line, n);
        com1_write(line, n);
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
