/*
 * `hcall-fuzz [seed=N]`: hostile hypercalls from ring 3.  First a few with known answers, then every
 * number 0-127 through the page with garbage arguments; every answer must be -errno (-4095..-1) or a
 * non-negative success, and the domain must live on to print PASS.
 *
 * Left out, because they would legitimately end, block or cripple the domain, or their effect cannot
 * be predicted: sched_op and sched_op_compat with valid commands (below 100: shutdown, block, poll,
 * watchdog...), and vcpu_op with valid commands on a real vCPU (down, send_nmi, register_vcpu_info...).
 * Xen truncates command and vCPU numbers to 32 bits, so it is the low 32 bits that are kept invalid.
 *
 * Pointers are unmapped (above 4 GiB, the kernel half), non-canonical, in the hole below 4 GiB, in
 * the unused first 64 KiB, or into a scratch buffer refilled with random bytes before each call (so
 * structs Xen reads are garbage).  Hypercalls that walk a guest-sized array or buffer (mmu_update,
 * multicall, console_io, grant_table_op, mmuext_op, argo_op, dm_op, hypfs_op) only get pointers that
 * are not RAM in those places: a VMM that wrongly says yes cannot walk over the test itself, nor
 * flood the console log with garbage bytes.
 */
#include <stdint.h>
#include <xen/errno.h>
#include "cmdline.h"
#include "console.h"
#include "hypercall.h"
#include "klib.h"
#include "tests/tests.h"

#define CALLS_PER_NUMBER 64
#define SCRATCH_WORDS    (3 * 4096 / 8)
#define UNMAPPED         0x7f0000000000ull  /* above the 4 GiB the page tables map */
#define PAST_RAM         0xf0000000ull      /* mapped, but in the hole below 4 GiB: never RAM */
#define A(n)             (1u << (n))        /* bit for argument n (1-5) */

struct fuzz {
    uint64_t rng;
    uint64_t *scratch;
    unsigned long calls;
    char *why;
};

static uint64_t next(struct fuzz *f)      /* xorshift64* */
{
    f->rng ^= f->rng >> 12;
    f->rng ^= f->rng << 25;
    f->rng ^= f->rng >> 27;
    return f->rng * 0x2545f4914f6cdd1dull;
}

static const uint64_t far_values[] = {
    UNMAPPED, UNMAPPED + 0xffd, 0x800000000000ull /* non-canonical */, 0xffff800000000000ull,
    0x100000000ull, PAST_RAM, 0xfffffffdull /* page-crossing at 4 GiB */, 0xdeadbeefdeadbeefull,
    (uint64_t)-1, (uint64_t)-4096, (uint64_t)-XEN_EFAULT,
};

/* Also pointers into the first 64 KiB, which nothing uses. */
static const uint64_t small_values[] = {
    0, 1, 2, 3, 7, 31, 100, 0xfff, 0x7ff0 /* DOMID_SELF */, 0xffff, 0x7fffffff, 0x80000000ull,
    0xffffffffull,
};

#define PICK(f, a) ((a)[next(f) % (sizeof(a) / sizeof((a)[0]))])

static uint64_t far_arg(struct fuzz *f)
{
    return next(f) & 1 ? PICK(f, far_values) : next(f) | 1ull << 40;
}

static uint64_t any_arg(struct fuzz *f)
{
    switch (next(f) % 4) {
    case 0:
        return far_arg(f);
    case 1:
        return PICK(f, small_values);
    case 2:
        return (uint64_t)f->scratch + next(f) % (2 * 4096);    /* structs still fit in scratch */
    default:
        return next(f);
    }
}

/* A 32-bit command or ID that is invalid however the VMM truncates it: low 32 bits >= min. */
static uint64_t invalid_u32(struct fuzz *f, uint32_t min)
{
    return (next(f) & ~0xffffffffull) | (min + next(f) % (0x100000000ull - min));
}

/* Which arguments of a hypercall that walks guest-sized memory are pointers. */
static unsigned far_args(unsigned nr)
{
    switch (nr) {
    case __HYPERVISOR_mmu_update:     return A(1) | A(3);
    case __HYPERVISOR_mmuext_op:      return A(1) | A(3);
    case __HYPERVISOR_multicall:      return A(1);
    case __HYPERVISOR_console_io:     return A(3);
    case __HYPERVISOR_grant_table_op: return A(2);
    case __HYPERVISOR_argo_op:        return A(2) | A(3);
    case __HYPERVISOR_dm_op:          return A(3);
    case __HYPERVISOR_hypfs_op:       return A(2) | A(4);
    default:                          return 0;
    }
}

static void garbage_args(struct fuzz *f, unsigned nr, uint64_t a[6])
{
    unsigned far = far_args(nr);

    for (int i = 1; i <= 5; i++)
        a[i] = far & A(i) ? far_arg(f) : any_arg(f);
    if (nr == __HYPERVISOR_sched_op || nr == __HYPERVISOR_sched_op_compat)
        a[1] = invalid_u32(f, 100);
    if (nr == __HYPERVISOR_vcpu_op) {
        if (next(f) & 1)
            a[2] = invalid_u32(f, 0x10000);     /* no such vCPU, any command */
        else
            a[1] = invalid_u32(f, 100), a[2] = 0;   /* vCPU 0, no such command */
    }
}

static const char *check_errno(struct fuzz *f, const char *what, long rc)
{
    if (rc >= -4095)
        return NULL;
    snprintf(f->why, WHY_SIZE, "%s returned %ld, neither -errno nor success", what, rc);
    return f->why;
}

static const char *expect(struct fuzz *f, const char *what, long rc, long want, long or_want)
{
    f->calls++;
    if (rc == want || rc == or_want)
        return NULL;
    if (want == or_want)
        snprintf(f->why, WHY_SIZE, "%s returned %ld, expected %ld", what, rc, want);
    else
        snprintf(f->why, WHY_SIZE, "%s returned %ld, expected %ld or %ld", what, rc, want, or_want);
    return f->why;
}

static const char *known_answers(struct fuzz *f)
{
    static const uint32_t unimplemented[] = { 47, 60, 127 }, beyond_page[] = { 128, 4096, 0xffffffff };
    struct sched_shutdown bad_reason = { .reason = 77 };
    char what[64];
    const char *fail;

    for (unsigned i = 0; i < 3; i++) {
        snprintf(what, sizeof(what), "hypercall %u", unimplemented[i]);
        if ((fail = expect(f, what, hypercall5(unimplemented[i], any_arg(f), any_arg(f), any_arg(f),
                                               any_arg(f), any_arg(f)), -XEN_ENOSYS, -XEN_ENOSYS)))
            return fail;
        snprintf(what, sizeof(what), "raw hypercall %#x", beyond_page[i]);
        if ((fail = expect(f, what, hypercall_port(beyond_page[i], next(f), next(f), next(f), next(f),
                                                   next(f)), -XEN_ENOSYS, -XEN_ENOSYS)))
            return fail;
    }
    if ((fail = expect(f, "console_io(write, 16, unmapped)",
                       hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, 16, UNMAPPED),
                       -XEN_EFAULT, -XEN_EFAULT)) ||
        (fail = expect(f, "console_io(write, 16, past RAM)",
                       hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, 16, PAST_RAM),
                       -XEN_EFAULT, -XEN_EFAULT)) ||
        (fail = expect(f, "console_io(write, 1<<30 + 1, buffer)",
                       hypercall3(__HYPERVISOR_console_io, CONSOLEIO_write, (1ul << 30) + 1,
                                  (unsigned long)"too long\r\n"), -XEN_EINVAL, -XEN_EFAULT)) ||
        (fail = expect(f, "xen_version(extraversion, unmapped)",
                       xen_version(XENVER_extraversion, (void *)UNMAPPED), -XEN_EFAULT, -XEN_EFAULT)) ||
        (fail = expect(f, "xen_version(9999)", xen_version(9999, f->scratch), -XEN_ENOSYS, -XEN_ENOSYS)) ||
        (fail = expect(f, "SCHEDOP_shutdown(reason 77)", sched_op(SCHEDOP_shutdown, &bad_reason),
                       -XEN_EINVAL, -XEN_EINVAL)))
        return fail;
    for (int cmd = 100; cmd < 110; cmd++) {
        snprintf(what, sizeof(what), "sched_op(%d)", cmd);
        if ((fail = expect(f, what, sched_op(cmd, f->scratch), -XEN_ENOSYS, -XEN_ENOSYS)))
            return fail;
    }
    return NULL;
}

static const char *sweep(struct fuzz *f)
{
    for (unsigned nr = 0; nr < NR_HYPERCALL_STUBS; nr++) {
        for (int i = 0; i < CALLS_PER_NUMBER; i++) {
            uint64_t a[6];
            char what[160];

            for (int w = 0; w < SCRATCH_WORDS; w++)
                f->scratch[w] = next(f);
            garbage_args(f, nr, a);
            long rc = hypercall5(nr, a[1], a[2], a[3], a[4], a[5]);
            f->calls++;
            snprintf(what, sizeof(what), "hypercall %u(%#lx, %#lx, %#lx, %#lx, %#lx)", nr, a[1], a[2],
                     a[3], a[4], a[5]);
            const char *fail = check_errno(f, what, rc);
            if (fail)
                return fail;
        }
    }
    for (unsigned i = 0; i < 3; i++) {          /* beyond the page, any garbage */
        uint32_t nr = (uint32_t[]){ 128, 4096, 0xffffffff }[i];
        long rc = hypercall_port(nr, any_arg(f), any_arg(f), any_arg(f), any_arg(f), any_arg(f));
        f->calls++;
        if (check_errno(f, "raw hypercall beyond the page", rc))
            return f->why;
    }
    return NULL;
}

static const char *run(const char *cmdline, char *why)
{
    uint64_t scratch[SCRATCH_WORDS];
    struct fuzz f = { .rng = cmdline_u64(cmdline, "seed", 1) | 1, .scratch = scratch, .why = why };
    const char *fail;

    if ((fail = known_answers(&f)) || (fail = sweep(&f)))
        return fail;
    printk("hcall-fuzz: %lu calls, all answered with -errno or success\n", f.calls);
    return NULL;
}

const struct test test_hcall_fuzz = { "hcall-fuzz", run };
