/* netfront's slot arithmetic (netfront_slots.h says what and why). */
#include "netfront_slots.h"

/* ring.h leaves the barriers to its includer (this file builds for the host's tests as well). */
#ifndef xen_mb
#define xen_mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#endif
#include <xen/io/netif.h>

unsigned int nf_tx_split(size_t len, size_t slot_max, uint16_t *frag, unsigned int max_slots)
{
    if (!len || !slot_max || slot_max > NF_PAGE_SIZE || len > 0xffff)
        return 0;
    size_t n = (len + slot_max - 1) / slot_max;
    if (n > max_slots)
        return 0;
    for (size_t i = 0; i < n; i++)
        frag[i] = (uint16_t)(i + 1 < n ? slot_max : len - i * slot_max);
    return (unsigned int)n;
}

unsigned int nf_flow_queue(const uint8_t *f, size_t len, unsigned int nr_queues)
{
    if (nr_queues <= 1 || len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
        return 0;
    const uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 0xf) * 4;
    uint32_t h = 2166136261u;           /* FNV-1a over the flow's fields */
    for (int k = 12; k < 20; k++)
        h = (h ^ ip[k]) * 16777619u;
    h = (h ^ ip[9]) * 16777619u;
    int fragment = ((ip[6] << 8 | ip[7]) & 0x3fff) != 0;
    if ((ip[9] == 17 || ip[9] == 6) && !fragment && ihl >= 20 && len >= 14 + ihl + 4)
        for (size_t k = 0; k < 4; k++)
            h = (h ^ ip[ihl + k]) * 16777619u;
    return h % nr_queues;
}

void nf_rx_chain_init(struct nf_rx_chain *c, uint8_t *buf, size_t cap, int sg)
{
    *c = (struct nf_rx_chain){ .buf = buf, .cap = cap, .sg = sg };
}

static enum nf_rx_verdict finish(struct nf_rx_chain *c)
{
    c->active = 0;
    if (c->dropping)
        return NF_RX_DROP;
    c->frame = c->single ? c->single : c->buf;
    c->frame_len = c->len;
    return NF_RX_FRAME;
}

enum nf_rx_verdict nf_rx_chain_add(struct nf_rx_chain *c, const struct nf_rx_slot *s, const uint8_t *page)
{
    if (c->active && c->extras) {           /* an extra info slot: no data of ours */
        c->extras = s->extra_more;
        return c->extras || c->more ? NF_RX_MORE : finish(c);
    }
    int first = !c->active;
    if (first) {
        c->active = 1;
        c->dropping = 0;
        c->len = 0;
        c->single = NULL;
        c->flags = s->flags;
        c->extras = !!(s->flags & NETRXF_extra_info);
    } else if (s->flags & NETRXF_extra_info) {
        c->dropping = 1;                    /* extra info belongs after the first slot only; */
        c->extras = 1;                      /* its slots are still stepped over */
    }
    c->more = !!(s->flags & NETRXF_more_data);
    if (c->more && !c->sg)
        c->dropping = 1;                    /* we did not offer feature-sg */
    if (!c->dropping) {
        int bad = s->status < 0 || (first && s->status == 0) || s->offset >= NF_PAGE_SIZE ||
                  s->offset + (unsigned int)s->status > NF_PAGE_SIZE || c->len + (size_t)s->status > c->cap;
        if (bad) {
            c->dropping = 1;
        } else if (first && !c->more && !c->extras) {
            c->single = page + s->offset;   /* the common case: the frame stays where it landed */
            c->len = (size_t)s->status;
        } else {
            for (size_t k = 0; k < (size_t)s->status; k++)
                c->buf[c->len + k] = page[s->offset + k];
            c->len += (size_t)s->status;
        }
    }
    return c->extras || c->more ? NF_RX_MORE : finish(c);
}
