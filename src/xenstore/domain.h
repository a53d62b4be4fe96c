/* Domains: per-domid accounting for quotas, and the introduced domains' ring connections. */
#ifndef XENITH_XENSTORE_DOMAIN_H
#define XENITH_XENSTORE_DOMAIN_H

#include <sys/types.h>

#include "xenstore/xenstored.h"

/* A ring connection's state as the snapshot keeps it (persist.c): what xenstored had consumed and
 * produced, a request half read, output not yet written, the guest's watches and the ids of its
 * open transactions (lost in a restart: they answer EAGAIN).  A domain loaded from a snapshot
 * holds its own copy (owned) until its VMM re-introduces it (resume.c). */
struct xs_ring_state {
	uint32_t req_cons;          /* requests consumed up to here */
	uint32_t rsp_prod;          /* responses written up to here */
	uint32_t next_tx_id;
	uint32_t *tx_ids;           /* transactions open then */
	unsigned int n_tx_ids;
	bool in_body;
	uint32_t hdr_got, body_got;
	struct xsd_sockmsg hdr;
	char *body;                 /* body_got bytes */
	char *out;                  /* queued, not yet in the ring */
	size_t out_len;
	struct xs_watch *watches;
};

struct xs_domain {
	struct xs_domain *next;
	struct xs_domain *hnext;    /* in xsd->domain_buckets */
	unsigned int domid;
	unsigned int nodes;         /* nodes it owns in the committed tree */
	unsigned int watches;       /* over all its connections */
	unsigned int transactions;  /* open, over all its connections */
	struct xs_conn *ring;       /* set while introduced */
	unsigned long mfn, port;
	int pidfd;                  /* the introducing VMM, watched while introduced; -1: none */
	pid_t introducer;           /* its pid, for logs */
	struct xs_poll lifeline;
	struct xs_ring_state *awaiting;   /* loaded from a snapshot, its VMM not back yet */
};

/* The domain's record, created on first use if `create`.  NULL if absent (or ENOMEM). */
struct xs_domain *domain_get(struct xenstored *xsd, unsigned int domid, bool create);
/* Tree hook: a node owned by domid appeared (+1) or went (-1). */
void domain_owner_changed(void *xsd, uint32_t domid, int delta);
/* Would conn's domain exceed `limit` with `used + add`?  Never for privileged connections. */
bool domain_over(const struct xs_conn *c, unsigned int used, unsigned int add, unsigned int limit);

/* Introduces a ring: maps page `mfn` of memfd and serves it, watching kick_fd and signalling
 * notify_fd.  Takes ownership of the fds in every case.  0 or an errno. */
int domain_introduce(struct xenstored *xsd, unsigned int domid, unsigned long mfn,
		     unsigned long port, int memfd, int kick_fd, int notify_fd);
/* Stops serving the domain's ring: its connection, watches and transactions go, the ring is
 * unmapped and its fds closed, the VMM is no longer watched, @releaseDomain fires.  Its nodes
 * stay (the toolstack removes them; when the VMM died, lifeline.c does).  0 or ENOENT. */
int domain_release(struct xenstored *xsd, unsigned int domid);
/* Called when a ring connection breaks or its peer goes: releases it like RELEASE. */
void domain_conn_gone(struct xenstored *xsd, struct xs_conn *c);
/* Is the domain introduced: served, or awaiting its VMM after a restart? */
bool domain_introduced(const struct xs_domain *d);
/* Parses a decimal domid 0..65535: 0 or EINVAL. */
int domain_parse_id(const char *s, unsigned int *domid);

struct xs_conn;
int do_introduce(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_release(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_get_domain_path(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_is_domain_introduced(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);
int do_resume(struct xenstored *xsd, struct xs_conn *c, struct xs_request *req);

#endif
