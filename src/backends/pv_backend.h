/* PV backend types: one table row per kind of xenbus device a domain can have (vif = netback,
 * vbd = blkback), in the spirit of hw/device.h.  The VMM core names no backend: it parses the
 * device options, attaches, detaches, lists, saves, restores and tears down every instance through
 * this table and the generic list in struct domain (`pv_devices`).
 *
 * A type's own file keeps only its device logic (its config, what attach makes, the data path) and
 * fills in a `struct pv_backend_type`; pv_backends.c holds the table and everything the types
 * share: the instance list, devid choice and limits, deferred detach, teardown, the control
 * requests (<name>-attach / -detach / -list) and the saved-state record (docs/ARCHITECTURE.md,
 * "Adding a PV backend type").
 *
 * The domain's console ring is not a row: it is no xenbus device (no directories, no devid, no
 * hot-plug; its page and port are fixed by the domain builder) and lives in the device table
 * (hw/devices.c), whose save/restore hooks it can use. */
#ifndef XENITH_PV_BACKEND_H
#define XENITH_PV_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "backends/xenbus_backend.h"
#include "lib/domain_limits.h"

struct domain;
struct pv_device;

/* Device specs a domain may be started with, all types together. */
#define PV_MAX_DEVICES (DOMAIN_MAX_VIFS + DOMAIN_MAX_DISKS)
/* Ring references a saved record may carry (blkback's 16-page ring is the most). */
#define PV_MAX_RING_REFS 16

/* A deferred request's answer: rc 0 or -errno; msg what went wrong, or for rc 0 the reply's text
 * after "ok" ("" for a detach, "devid=3 vifname=vif7.3" for an attach). */
typedef void (*pv_done_fn)(void *ctx, int rc, const char *msg);

/* ---- The saved-state record (pv_record.c) ----
 * One instance's config and runtime state, for a restart and for migration (issue 12):
 *   "XPVD"  u16 version  u16 flags (0)  char type[8] (NUL-padded)  u32 body_len  u32 body_sum
 *   body: fields, each u16 tag, u16 len, len bytes; integers little-endian.
 * Tags 1-15 are runtime state every type shares (struct pv_runtime), 16 and up the type's config
 * fields (its `fields` table).  body_sum is FNV-1a 32 over the body.  A reader refuses a record
 * that is short, long, of another version, of an unknown type, with a bad sum, an unknown,
 * repeated or wrongly sized field, a string with a NUL or too long, a number out of range, a
 * required field missing, or a config its type's `check` refuses. */
#define PV_RECORD_MAGIC "XPVD"
#define PV_RECORD_VERSION 1
#define PV_RECORD_HEADER 24
#define PV_RECORD_MAX 8192           /* header and body: a vbd's PATH_MAX target fits */
#define PV_TYPE_NAME_MAX 7

enum pv_field_kind {
	PV_FIELD_STR,        /* char[size], NUL-terminated; saved without the NUL */
	PV_FIELD_INT,        /* int, saved as 4 bytes, within [min, max] */
	PV_FIELD_BOOL,       /* bool, saved as 1 byte, 0 or 1 */
	PV_FIELD_BYTES,      /* uint8_t[size], saved as exactly size bytes */
};

struct pv_field {
	uint16_t tag;                /* 16 and up, unique within the type */
	const char *name;            /* for messages */
	enum pv_field_kind kind;
	size_t offset, size;         /* in the type's config struct */
	long long min, max;          /* PV_FIELD_INT */
	bool required;
};

/* A row of a type's `fields`: PV_FIELD(struct netback_config, 16, devid, PV_FIELD_INT, 0, 65535, true). */
#define PV_FIELD(config, tag_, field, kind_, min_, max_, required_)                               \
	{ .tag = (tag_), .name = #field, .kind = (kind_), .offset = offsetof(config, field),         \
	  .size = sizeof(((config *)0)->field), .min = (min_), .max = (max_), .required = (required_) }

/* What the connected ring had when it was saved.  Restart and migration rebuild the ring from the
 * frontend's xenstore nodes, so on restore this is checked and handed back, not applied. */
struct pv_runtime {
	uint32_t state;              /* enum xenbus_state of the backend */
	bool connected;
	uint32_t port;               /* event channel, when connected */
	uint32_t n_refs;
	uint32_t refs[PV_MAX_RING_REFS];
};

/* ---- A backend type: one row of the table ---- */
struct pv_backend_type {
	const char *name;            /* "vif": xenstore's backend type and the control verbs' prefix */
	const char *option;          /* "vif": the VMM option (--vif) that adds one at start */
	const char *plural;          /* "vifs", for messages */
	const char *spec_usage;      /* the option's syntax, for --help */
	unsigned int max;            /* per domain (lib/domain_limits.h) */
	long max_devid;              /* the largest devid a detach may name */
	int close_timeout_ms;        /* how long a detach waits for the frontend */
	size_t config_size;          /* of the type's parsed config */
	size_t devid_offset;         /* of the config's int devid (-1 there: the next free one) */
	const struct pv_field *fields;   /* the config in a record; ends with tag 0 */

	/* The --option / <name>-attach syntax into config (config_size bytes).  0, or -1 with err. */
	int (*parse)(const char *spec, void *config, char *err, size_t errlen);
	/* A config read from a record: everything parse would have refused.  0, or -1 with err. */
	int (*check)(const void *config, char *err, size_t errlen);
	/* "vif 3", "disk xvda (devid 51712)": how messages name the device a config describes. */
	void (*describe)(const void *config, int devid, char *out, size_t len);
	/* Makes the instance with this devid (directories, hotplug, InitWait): 0 with *out, or -errno
	 * with err.  The instance's xenbus ops must use pv_device_closed as their `closed` and the
	 * pv_device as their opaque pointer's first member (see pv_device_of). */
	int (*attach)(struct domain *dom, const void *config, int devid, struct pv_device **out,
		      char *err, size_t errlen);
	/* Optional: attach for a running domain, whose main loop must not wait (a `<name>-attach`
	 * request): as attach, but *out may come back `attaching` (a hotplug script runs), and the
	 * type then ends it from the loop with pv_device_attached.  Its instance has `may_defer` set.
	 * Without it, requests use attach. */
	int (*attach_async)(struct domain *dom, const void *config, int devid, struct pv_device **out,
			    char *err, size_t errlen);
	/* Optional: the attach reply's text after "ok devid=N" (vif: " vifname=V"). */
	void (*attach_reply)(const struct pv_device *dev, char *out, size_t len);
	/* <name>-list: the device's line (docs/netif.md, docs/blkif.md), and `<name>-list stats`. */
	void (*list_line)(const struct pv_device *dev, char *out, size_t len);
	void (*stats_line)(const struct pv_device *dev, char *out, size_t len);
	/* Its config as it is now (devid, MAC and defaults fixed: what a restart must rebuild), and
	 * optionally (may be NULL) its runtime state beyond the generic one. */
	void (*save)(const struct pv_device *dev, void *config, struct pv_runtime *rt);
	/* The xenbus side is gone (closed or destroyed): log the device's counters and free it. */
	void (*teardown)(struct pv_device *dev);
};

/* The table, NULL-terminated (pv_backends.c). */
extern const struct pv_backend_type *const pv_backend_types[];

const struct pv_backend_type *pv_backend_type_by_name(const char *name);
const struct pv_backend_type *pv_backend_type_by_option(const char *option);

/* ---- One instance, in the domain's list (newest first) ---- */
struct pv_device {
	struct pv_device *next;
	const struct pv_backend_type *type;
	struct domain *dom;
	int devid;
	struct xenbus_backend xb;
	pv_done_fn detach_done;      /* a detach waits */
	void *detach_ctx;
	/* The loop serves while this device's scripts run, so they may end later (a request's
	 * attach or detach).  False while the domain is set up, restored and torn down: there
	 * everything ends before the call returns. */
	bool may_defer;
	bool attaching;              /* attach_async's work goes on: pv_device_attached ends it */
	pv_done_fn attach_done;      /* the deferred attach's answer */
	void *attach_ctx;
	bool releasing;              /* the type's release goes on: pv_device_released ends it */
	bool closed;                 /* pv_device_closed came while releasing */
};

/* The instance a type's struct starts with (its first member). */
#define pv_device_of(instance) (&(instance)->dev)

/* The xenbus `closed` callback every type uses: unlinks the device, answers the detach, and
 * hands it to its type's teardown; while `releasing`, all that waits for pv_device_released. */
void pv_device_closed(struct xenbus_backend *xb, void *opaque);
/* A type's release that went on from the loop (the `offline` script) has ended. */
void pv_device_released(struct pv_device *dev);
/* An `attaching` device's attach has ended: rc 0 answers "ok devid=I[ <attach_reply>]"; -errno
 * answers msg, after the type undid everything but the list entry (directories included): the
 * device is unlinked and handed to its type's teardown. */
void pv_device_attached(struct pv_device *dev, int rc, const char *msg);
/* "devid=I[ vifname=V]": an attach's reply after "ok ". */
void pv_device_attach_text(const struct pv_device *dev, char *out, size_t len);

/* A device spec given at start: what --vif / --disk said. */
struct pv_spec {
	const struct pv_backend_type *type;
	const char *spec;
};

/* ---- The domain's devices (main thread only) ---- */
/* Every spec the domain was started with, in order (a vif without devid gets its place among
 * the vifs), after xenstore_link_connect.  0, or -1 with err (and nothing attached). */
int pv_backends_attach_specs(struct domain *dom, const struct pv_spec *specs, unsigned int n,
			     char *err, size_t errlen);
/* One more from a spec (`<name>-attach`): 0 with *out, or -errno with err. */
int pv_backend_attach_spec(struct domain *dom, const struct pv_backend_type *type, const char *spec,
			   struct pv_device **out, char *err, size_t errlen);
/* `<name>-detach`: done runs once it is gone (maybe before this returns).  -ENOENT, or -EBUSY
 * (being attached or detached) without calling done. */
int pv_backend_detach(struct domain *dom, const struct pv_backend_type *type, int devid,
		      pv_done_fn done, void *ctx);
struct pv_device *pv_backend_find(struct domain *dom, const struct pv_backend_type *type, int devid);
/* One line per device of the type, oldest first, '\n' between them. */
void pv_backend_list(struct domain *dom, const struct pv_backend_type *type, bool stats, char *out,
		     size_t len);
/* Every device goes at once (vCPUs stopped), its scripts run to the end here: pending detaches
 * are answered ok, pending attaches with an error. */
void pv_backends_teardown_all(struct domain *dom);

/* Saves every device, oldest first, as records one after another into a malloc'd buffer; not one
 * still attaching or being detached (its request is answered as if it never came back).  0 with
 * *buf (NULL when there are none) and *len, or -1 with err. */
int pv_backends_save_all(struct domain *dom, uint8_t **buf, size_t *len, char *err, size_t errlen);
/* Re-creates the devices of such a buffer, in order.  0, or -1 with err (and none of them left). */
int pv_backends_restore_all(struct domain *dom, const uint8_t *buf, size_t len, char *err,
			    size_t errlen);

/* ---- Records (pv_record.c) ---- */
/* Encodes one record into buf: its length, or -1 with err when buf is too small. */
long pv_record_encode(const struct pv_backend_type *type, const void *config,
		      const struct pv_runtime *rt, uint8_t *buf, size_t len, char *err, size_t errlen);
/* A record read back: its type, a malloc'd config of type->config_size, and its runtime state. */
struct pv_saved {
	const struct pv_backend_type *type;
	void *config;
	struct pv_runtime rt;
};
/* The whole length (header and body) of the record buf starts with, as its header says; 0 when
 * fewer than PV_RECORD_HEADER bytes are there.  Nothing else is checked: pv_record_decode does. */
size_t pv_record_length(const uint8_t *buf, size_t len);
/* Decodes the record at buf (len bytes there, maybe more records after it): 0 with *saved and
 * *used (the record's length), or -1 with err saying what is wrong; nothing to free then. */
int pv_record_decode(const uint8_t *buf, size_t len, struct pv_saved *saved, size_t *used,
		     char *err, size_t errlen);
void pv_saved_free(struct pv_saved *saved);

/* ---- Control requests (docs/vmm-control.md) ---- */
/* Whether `verb` is one of the table's: <name>-attach, <name>-detach, <name>-list. */
bool pv_backend_handles(const char *verb);
/* The i-th verb of the table into buf (for the request table's doc check): buf, or NULL past the
 * last. */
const char *pv_backend_verb(unsigned int i, char *buf, size_t len);
/* Its usage, as docs/vmm-control.md lists it: "vif-attach SPEC", "vif-detach DEVID", "vif-list [stats]". */
const char *pv_backend_verb_usage(unsigned int i, char *buf, size_t len);
/* Serves `verb arg` (arg: the rest of the request, may be NULL), the reply into reply.  Returns
 * true when the reply is deferred: done(ctx, rc, msg) then runs once the detached device is gone
 * or the attach (its hotplug script) ended, and reply is unused.  Replies: "ok devid=I[ vifname=V]",
 * "ok\n<lines>", "error EINVAL usage: ...", "error ENOENT no vif N", "error EBUSY vif N is
 * already being detached", "error EBUSY vif N is still being attached", "error E... why". */
bool pv_backend_request(struct domain *dom, const char *verb, const char *arg, char *reply,
			size_t len, pv_done_fn done, void *ctx);
/* How long a ring's thread spins after its last work (--backend-poll-us; the default where the
 * domain has no parameters, as a test's fake one). */
unsigned int pv_backend_poll_us(const struct domain *dom);
/* The errno names replies use (EIO for any other). */
const char *pv_errno_name(int e);

#endif
