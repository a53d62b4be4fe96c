/*
 * Grant tables v1 (Mini-OS gnttab.c, Linux grant-table.c).  Frame 0 of our table is placed with
 * XENMEM_add_to_physmap(XENMAPSPACE_grant_table) onto a page of the image, or else found with
 * GNTTABOP_setup_table: 512 entries, refs 0-7 reserved as in Xen's tools (0 console, 1 xenstore).
 *
 * Granting writes frame and domid first, then the flags behind a barrier, so a remote domain never
 * sees GTF_permit_access with a stale frame.  Revoking (gnttab_end_access) is Linux's
 * gnttab_end_foreign_access_ref for v1: cmpxchg the flags to 0 unless GTF_reading or GTF_writing is
 * set, in which case the grantee still has it mapped and the entry stays.
 */
#ifndef GUEST_GNTTAB_H
#define GUEST_GNTTAB_H

#include <stdbool.h>
#include <stdint.h>
#include "hypercall.h"

#define GNTTAB_ENTRIES 512
#define GNTTAB_FIRST_FREE 8     /* GNTTAB_NR_RESERVED_ENTRIES */

extern const char *gnttab_method;   /* how the table was placed, or NULL */

/* 0, or the last error. */
int gnttab_init(void);
/* In a new domain after a suspend: frame 0 placed again as gnttab_init did, and every ref of ours
 * (from GNTTAB_FIRST_FREE) forgotten and zeroed: earlier grants are void, nothing is revoked.
 * The reserved refs are left as the toolstack seeded them.  0, the error, or 1 if gnttab_init
 * had not succeeded. */
int gnttab_resume(void);
/* A new ref granting domid access to frame (read-only if ro), or -XEN_ENOSPC. */
int gnttab_grant_access(domid_t domid, uint64_t frame, bool ro);
/* 0 when revoked (and the ref freed), -XEN_EBUSY while the grantee still uses it. */
int gnttab_end_access(grant_ref_t ref);
uint16_t gnttab_flags(grant_ref_t ref);
/* GNTTABOP_query_size: 0 or -XEN_E*; the op's own status is folded in. */
int gnttab_query_size(uint32_t *nr_frames, uint32_t *max_nr_frames);
/* One GNTTABOP_copy; returns the hypercall's error or else the op's GNTST_* status. */
int gnttab_copy_one(struct gnttab_copy *op);

#endif
