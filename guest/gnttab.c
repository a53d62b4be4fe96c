#include <stddef.h>
#include "gnttab.h"
#include "shared_info.h"
#include "xerrno.h"

static grant_entry_v1_t table_page[GNTTAB_ENTRIES] __attribute__((aligned(4096)));
static volatile grant_entry_v1_t *table;
static uint8_t in_use[GNTTAB_ENTRIES];
const char *gnttab_method;

int gnttab_init(void)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_grant_table,
        .idx = 0,
        .gpfn = virt_to_pfn(table_page),
    };
    long rc = memory_op(XENMEM_add_to_physmap, &xatp);

    if (!rc) {
        table = table_page;
        gnttab_method = "add_to_physmap";
        return 0;
    }
    /* Where the VMM keeps the frame itself: it tells us which gfn (identity mapped below 4 GiB). */
    xen_pfn_t frame = 0;
    struct gnttab_setup_table setup = { .dom = DOMID_SELF, .nr_frames = 1 };
    set_xen_guest_handle(setup.frame_list, &frame);
    rc = grant_table_op(GNTTABOP_setup_table, &setup, 1);
    if (rc)
        return (int)rc;
    if (setup.status != GNTST_okay)
        return -XEN_EINVAL;
    if (frame == 0 || frame >= (1ull << 20))
        return -XEN_EFAULT;     /* not below 4 GiB, which is all we map */
    table = (volatile grant_entry_v1_t *)(frame << 12);
    gnttab_method = "setup_table";
    return 0;
}

int gnttab_resume(void)
{
    if (!table)
        return 1;
    table = NULL;
    gnttab_method = NULL;
    int rc = gnttab_init();
    if (rc)
        return rc;
    for (grant_ref_t ref = GNTTAB_FIRST_FREE; ref < GNTTAB_ENTRIES; ref++) {
        __atomic_store_n(&table[ref].flags, 0, __ATOMIC_SEQ_CST);     /* flags first (Xen reads them first) */
        table[ref].domid = 0;
        table[ref].frame = 0;
        in_use[ref] = 0;
    }
    return 0;
}

int gnttab_grant_access(domid_t domid, uint64_t frame, bool ro)
{
    if (!table)
        return -XEN_ENODEV;
    for (grant_ref_t ref = GNTTAB_FIRST_FREE; ref < GNTTAB_ENTRIES; ref++) {
        if (in_use[ref])
            continue;
        in_use[ref] = 1;
        table[ref].frame = (uint32_t)frame;
        table[ref].domid = domid;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);    /* frame and domid before flags (wmb) */
        __atomic_store_n(&table[ref].flags, GTF_permit_access | (ro ? GTF_readonly : 0),
                         __ATOMIC_SEQ_CST);
        return (int)ref;
    }
    return -XEN_ENOSPC;
}

int gnttab_end_access(grant_ref_t ref)
{
    if (!table || ref >= GNTTAB_ENTRIES || !in_use[ref])
        return -XEN_EINVAL;
    uint16_t flags = __atomic_load_n(&table[ref].flags, __ATOMIC_SEQ_CST);
    do {
        if (flags & (GTF_reading | GTF_writing))
            return -XEN_EBUSY;
    } while (!__atomic_compare_exchange_n(&table[ref].flags, &flags, 0, false, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    in_use[ref] = 0;
    return 0;
}

uint16_t gnttab_flags(grant_ref_t ref)
{
    return table && ref < GNTTAB_ENTRIES ? __atomic_load_n(&table[ref].flags, __ATOMIC_SEQ_CST) : 0;
}

int gnttab_query_size(uint32_t *nr_frames, uint32_t *max_nr_frames)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    long rc = grant_table_op(GNTTABOP_query_size, &q, 1);

    if (rc)
        return (int)rc;
    if (q.status != GNTST_okay)
        return -XEN_EINVAL;
    *nr_frames = q.nr_frames;
    *max_nr_frames = q.max_nr_frames;
    return 0;
}

int gnttab_copy_one(struct gnttab_copy *op)
{
    long rc = grant_table_op(GNTTABOP_copy, op, 1);

    return rc ? (int)rc : op->status;
}
