/* The hypervisor log: what Xen keeps in its console ring and `xl dmesg` prints.  Here it is a file
 * pair in the run directory's log folder, shared by every VMM on the host (docs in hvlog.c).
 *
 * A DomU's CONSOLEIO_write lands here as whole lines "(d<domid>) text\n", as Xen's guest_printk
 * writes them: the guest's text is kept to printable characters and tabs, and gathered per domain
 * until a newline or HVLOG_LINE_MAX characters. */
#ifndef XENITH_HVLOG_H
#define XENITH_HVLOG_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define HVLOG_FILE "hypervisor.log"          /* in <rundir>/log; the older half in HVLOG_FILE ".0" */
#define HVLOG_LINE_MAX 255                   /* guest characters per line, as Xen's 256-byte buffer */
#define HVLOG_DEFAULT_CAP (256u * 1024)      /* bytes kept, both halves together */

struct hvlog {
	char path[PATH_MAX];         /* the current half */
	char old_path[PATH_MAX];     /* the older half, dropped whole when the current one fills */
	int fd;                      /* the current half, O_APPEND (may be a rotated one until checked) */
	int lock_fd;                 /* flock: shared to append, exclusive to rotate or clear */
	size_t cap;
	pthread_mutex_t lock;        /* fd and the line below, among one process's threads */
	int line_domid;
	size_t line_len;
	char line[HVLOG_LINE_MAX];
};

/* Opens (creating, mode 0600) the log in directory `dir` keeping about `cap` bytes (0: the default).
 * 0, or -1 with err. */
int hvlog_open(struct hvlog *log, const char *dir, size_t cap, char *err, size_t errlen);
/* Writes out a partial line, then closes. */
void hvlog_close(struct hvlog *log);

/* A guest's console_io bytes: each completed line is appended with one write(2).  Thread-safe.
 * Text pending for another domid (a restarted domain) is written out first under its old ID. */
void hvlog_guest_write(struct hvlog *log, int domid, const void *buf, size_t len);
/* Writes out the pending partial line, if any, as a line. */
void hvlog_flush(struct hvlog *log);

/* `xl dmesg`: copies the log, oldest first, to `out`; with `clear`, empties it in the same hold of
 * the lock, so no line is lost between printing and clearing.  0, or -1 with err. */
int hvlog_dump(struct hvlog *log, FILE *out, bool clear, char *err, size_t errlen);

#endif
