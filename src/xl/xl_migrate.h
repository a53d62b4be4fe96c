/* xl's side of save, restore and live migration (docs/migration.md): the head of the stream xl
 * writes and reads (header and CONFIG record), the VMM's `save` request, and the line protocol
 * `xl migrate` and `xl migrate-receive` speak on the reply channel.
 *
 * The reply channel (the receiver's stdout, read by the sender), one line each:
 *   xenith-migrate-receive stream=1      the receiver is up; it speaks stream version 1
 *   accepted | refused: WHY              after it read the header and CONFIG (name in use, bad
 *                                        config, no bridge, no memory, another stream version)
 *   ready DOMID | error: WHY             its VMM restored the domain, paused | it did not
 *   running DOMID | error: WHY           after the sender's `go`: unpaused (or left paused, -p)
 * and on the stream channel (the receiver's stdin), after the stream's END record:
 *   go                                   the sender's domain is suspended and the stream whole
 *   done                                 the sender read `running`: it destroys its domain now
 * A receiver that does not get `done` destroys what it made; a sender that does not read
 * `running` resumes its domain. */
#ifndef XENITH_XL_MIGRATE_H
#define XENITH_XL_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xl/domain_config.h"
#include "xl/xl_domain.h"

#define XL_MIG_BANNER "xenith-migrate-receive stream="
#define XL_SAVE_MS        (30 * 60 * 1000)  /* the VMM's `save`: a big guest over a slow link */
#define XL_RESTORE_MS     (30 * 60 * 1000)  /* a restoring VMM's ready line: the whole stream */
#define XL_MIG_CONNECT_MS 30000             /* the receiver's banner: SSHCOMMAND connecting */
#define XL_MIG_STEP_MS    30000             /* each later reply, and the receiver's wait */

/* The config text a saved domain carries: CFG's file when cfg_path is given, else the one the
 * domain was started with (domains/<domid>/config).  Either must parse.  0 with *text
 * (malloc'd), or -1 with why in err. */
int xl_mig_config_text(struct xl_ctx *ctx, unsigned int domid, const char *cfg_path, char **text,
		       char *err, size_t errlen);

/* Writes the stream's header (flags: enum mig_stream_flags) and CONFIG record to fd.  0 or -1. */
int xl_mig_write_head(int fd, uint32_t flags, const char *config, char *err, size_t errlen);

/* Reads the header and CONFIG record from fd, and no further; the config is CFG's file instead
 * when cfg_path is given.  The config is parsed and resolved into *dc (free with
 * domain_config_free).  0, or -1 with the reader's or the parser's message in err. */
int xl_mig_read_head(int fd, const char *cfg_path, struct domain_config *dc, uint32_t *flags,
		     char *err, size_t errlen);

/* Reads the rest of a save file at fd's position to its END record, checking every record, so
 * that a truncated or corrupt file is refused before anything is started.  fd's position is left
 * where it was.  0, or -1 with the reader's message. */
int xl_mig_check_rest(int fd, char *err, size_t errlen);

/* Sends the domain's VMM `save [live] [debug]` with stream_fd (and progress_fd, if >= 0) attached
 * and waits for its answer.  0 with the VMM's figures in reply (the domain is suspended), or
 * -errno with why in reply (the domain runs as before). */
int xl_mig_vmm_save(struct xl_ctx *ctx, unsigned int domid, bool live, bool debug, int stream_fd,
		    int progress_fd, char *reply, size_t len);

/* After a save: `resume` (the domain runs on), optionally paused again.  0, or -1 with why. */
int xl_mig_vmm_resume(struct xl_ctx *ctx, unsigned int domid, bool pause, char *err,
		      size_t errlen);

/* Free host memory in MiB (MemAvailable), or 0 when it cannot be told. */
unsigned long xl_mig_host_free_mb(void);

#endif
