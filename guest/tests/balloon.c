/*
 * balloon [seconds=S] [touch=0|1]: a balloon driver, as Linux's xen-balloon works for a PVH guest.
 * It watches memory/target (KiB) and moves its reservation toward it: pages go back to Xen with
 * XENMEM_decrease_reservation and come back with XENMEM_populate_physmap, first the ones it gave
 * back, then (maxmem above memory) the unpopulated gfns past its memory map's RAM, up to
 * XENMEM_maximum_gpfn.  The pages it may give are the RAM above its own image (plus 1 MiB of slack
 * for the stack and the PV core's pages) in the memory map's RAM below 4 GiB; with touch=1
 * (default) it writes to each of them first, so that giving them back shows in the host's figures.
 * Prints `balloon: ready reservation R pages, pool P pages`, `balloon: touched`, then for every
 * change `balloon: target T KiB, reservation R pages` (or `... stuck at R pages: why` when it cannot
 * get there).  With S > 0 it ends after S seconds: PASS if the reservation Xen reports matches
 * what it counted all along.
 */
#include <stddef.h>
#include <stdint.h>
#include "cmdline.h"
#include "console.h"
#include "hypercall.h"
#include "klib.h"
#include "tests/tests.h"
#include "time.h"
#include "xenbus.h"

#define POOL_MAX   (1u << 18)        /* pages it keeps track of: 1 GiB */
#define BATCH      256               /* extents per hypercall */
#define SLACK      (1ull << 20)      /* above the image: stack, PV pages the kernel placed there */
#define FOUR_GIB   (1ull << 32)

extern char _end[];

struct balloon {
    uint32_t pool[POOL_MAX];         /* gfns it may give back, populated ones first */
    uint32_t n_pool, n_in;           /* pool[0..n_in) are populated, [n_in..n_pool) given back */
    uint64_t tail_next, tail_end;    /* unpopulated gfns past the map's RAM, not yet in the pool */
    long reservation;                /* what it counted */
};

static struct balloon b;

static long reservation_now(void)
{
    domid_t self = DOMID_SELF;
    return memory_op(XENMEM_current_reservation, &self);
}

/* The pages above the image in the map's RAM below 4 GiB, and the gfns past the RAM up to max_gpfn. */
static const char *build_pool(char *why)
{
    static struct __attribute__((packed)) { uint64_t addr, size; uint32_t type; } map[16];
    struct xen_memory_map mm = { .nr_entries = 16 };
    uint64_t low = ((uint64_t)(uintptr_t)_end + SLACK + 4095) & ~4095ull, ram_end = 0;
    domid_t self = DOMID_SELF;

    set_xen_guest_handle(mm.buffer, (void *)map);
    long rc = memory_op(XENMEM_memory_map, &mm);
    if (rc) {
        snprintf(why, WHY_SIZE, "XENMEM_memory_map: %ld", rc);
        return why;
    }
    for (unsigned int i = 0; i < mm.nr_entries && i < 16; i++) {
        if (map[i].type != 1)
            continue;
        uint64_t end = map[i].addr + map[i].size;
        ram_end = end > ram_end ? end : ram_end;
        for (uint64_t a = map[i].addr > low ? map[i].addr : low; a + 4096 <= end && a + 4096 <= FOUR_GIB &&
             b.n_pool < POOL_MAX; a += 4096)
            b.pool[b.n_pool++] = (uint32_t)(a >> 12);
    }
    b.n_in = b.n_pool;
    long max_gpfn = memory_op(XENMEM_maximum_gpfn, &self);
    b.tail_next = (ram_end > FOUR_GIB ? ram_end : FOUR_GIB) >> 12;
    b.tail_end = max_gpfn >= 0 && (uint64_t)max_gpfn + 1 > b.tail_next ? (uint64_t)max_gpfn + 1 : b.tail_next;
    return NULL;
}

static void touch_pool(void)
{
    for (uint32_t i = 0; i < b.n_in; i++)
        *(volatile uint64_t *)(uintptr_t)((uint64_t)b.pool[i] << 12) = b.pool[i];
}

/* One reservation op on gfns[0..n): how many extents were done. */
static long extents(unsigned int op, xen_pfn_t *gfns, unsigned int n)
{
    struct xen_memory_reservation r = { .nr_extents = n, .extent_order = 0, .domid = DOMID_SELF };
    set_xen_guest_handle(r.extent_start, gfns);
    return memory_op((int)op, &r);
}

/* Gives back up to `pages`; the number given. */
static long shrink(long pages)
{
    static xen_pfn_t gfns[BATCH];
    long done = 0;

    while (done < pages && b.n_in) {
        unsigned int n = 0;
        while (n < BATCH && done + n < pages && n < b.n_in)
            gfns[n] = b.pool[b.n_in - 1 - n], n++;
        long rc = extents(XENMEM_decrease_reservation, gfns, n);
        if (rc <= 0)
            break;
        b.n_in -= (uint32_t)rc;      /* the last rc of the populated part are now out */
        done += rc;
        if (rc < (long)n)
            break;
    }
    return done;
}

/* Takes back up to `pages`: those given back first, then the tail.  The number taken. */
static long grow(long pages)
{
    static xen_pfn_t gfns[BATCH];
    long done = 0;

    while (done < pages) {
        if (b.n_in == b.n_pool) {
            if (b.tail_next >= b.tail_end || b.n_pool == POOL_MAX)
                break;
            b.pool[b.n_pool++] = (uint32_t)b.tail_next++;   /* a tail gfn joins the given-back part */
        }
        unsigned int n = 0;
        while (n < BATCH && done + n < pages && b.n_in + n < b.n_pool)
            gfns[n] = b.pool[b.n_in + n], n++;
        long rc = extents(XENMEM_populate_physmap, gfns, n);
        if (rc <= 0)
            break;
        b.n_in += (uint32_t)rc;
        done += rc;
        if (rc < (long)n)
            break;
    }
    return done;
}

static void follow_target(void)
{
    uint64_t target_kb;

    if (xs_read_u64(0, "memory/target", &target_kb))
        return;
    long want = (long)(target_kb / 4);
    if (want < b.reservation)
        b.reservation -= shrink(b.reservation - want);
    else if (want > b.reservation)
        b.reservation += grow(want - b.reservation);
    if (b.reservation == want)
        printk("balloon: target %llu KiB, reservation %ld pages\n", (unsigned long long)target_kb, b.reservation);
    else
        printk("balloon: target %llu KiB, stuck at %ld pages: %s\n", (unsigned long long)target_kb, b.reservation,
               want < b.reservation ? "no more pages it may give" : "Xen gives no more (maximum reached)");
}

static const char *run(const char *cmdline, char *why)
{
    uint64_t seconds = cmdline_u64(cmdline, "seconds", 0);
    char path[64], token[16];

    const char *err = build_pool(why);
    if (err)
        return err;
    b.reservation = reservation_now();
    if (b.reservation < 0) {
        snprintf(why, WHY_SIZE, "XENMEM_current_reservation: %ld", b.reservation);
        return why;
    }
    printk("balloon: ready reservation %ld pages, pool %u pages, tail %llu pages\n", b.reservation, b.n_pool,
           (unsigned long long)(b.tail_end - b.tail_next));
    if (cmdline_u64(cmdline, "touch", 1)) {
        touch_pool();
        printk("balloon: touched\n");
    }
    int rc = xs_watch("memory/target", "balloon");
    if (rc) {
        snprintf(why, WHY_SIZE, "watching memory/target: %d", rc);
        return why;
    }
    uint64_t end = seconds ? monotonic_ns() + seconds * 1000000000ull : 0;
    for (;;) {
        uint64_t deadline = end ? end : monotonic_ns() + 1000000000ull;
        if (xs_read_watch(path, sizeof(path), token, sizeof(token), deadline) == 0)
            follow_target();        /* the first event is the watch's own: the target at start */
        if (end && monotonic_ns() >= end)
            break;
    }
    long xen = reservation_now();
    if (xen != b.reservation) {
        snprintf(why, WHY_SIZE, "Xen reports %ld pages, the balloon counted %ld", xen, b.reservation);
        return why;
    }
    return NULL;
}

const struct test test_balloon = { "balloon", run };
