/*
 * Hypercalls, callable from ring 0 and ring 3.  Hypercall N is a call to the 32-byte stub at
 * hypercall_page + N * 32, which the VMM writes when the page's address goes to the MSR from CPUID
 * (xen.c).  Xen's 64-bit ABI: number in the stub, arguments in rdi, rsi, rdx, r10, r8, result in rax.
 * Xen may clobber the argument registers; we also assume rcx, r11 and r9 clobbered (PV's syscall path).
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>

#define HYPERCALL_STUB_SIZE 32
#define NR_HYPERCALL_STUBS  (4096 / HYPERCALL_STUB_SIZE)

extern char hypercall_page[4096];

static inline long hypercall5(unsigned int nr, unsigned long a1, unsigned long a2, unsigned long a3,
                              unsigned long a4, unsigned long a5)
{
    register unsigned long r10 asm("r10") = a4;
    register unsigned long r8 asm("r8") = a5;
    long ret;

    asm volatile("call *%[stub]"
                 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                 : [stub] "r"(hypercall_page + (unsigned long)nr * HYPERCALL_STUB_SIZE)
                 : "rcx", "r9", "r11", "memory");
    return ret;
}

static inline long hypercall4(unsigned int nr, unsigned long a1, unsigned long a2, unsigned long a3,
                              unsigned long a4)
{
    return hypercall5(nr, a1, a2, a3, a4, 0);
}

static inline long hypercall3(unsigned int nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
    return hypercall5(nr, a1, a2, a3, 0, 0);
}

static inline long hypercall2(unsigned int nr, unsigned long a1, unsigned long a2)
{
    return hypercall5(nr, a1, a2, 0, 0, 0);
}

/*
 * What a stub does on hosts without in-kernel Xen support (docs/guest-abi.md), done inline so that
 * numbers beyond the page (>= 128) can be tried.
 */
static inline long hypercall_port(uint32_t nr, unsigned long a1, unsigned long a2, unsigned long a3,
                                  unsigned long a4, unsigned long a5)
{
    register unsigned long r10 asm("r10") = a4;
    register unsigned long r8 asm("r8") = a5;
    unsigned long ret = nr;

    asm volatile("out %%eax, $0x5c"
                 : "+a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                 :
                 : "rcx", "r9", "r11", "memory");
    return (long)ret;
}

static inline long xen_version(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_xen_version, cmd, (unsigned long)arg);
}

static inline long sched_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_sched_op, cmd, (unsigned long)arg);
}

static inline long event_channel_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_event_channel_op, cmd, (unsigned long)arg);
}

static inline long grant_table_op(int cmd, void *arg, unsigned int count)
{
    return hypercall3(__HYPERVISOR_grant_table_op, cmd, (unsigned long)arg, count);
}

static inline long memory_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_memory_op, cmd, (unsigned long)arg);
}

static inline long hvm_op(int cmd, void *arg)
{
    return hypercall2(__HYPERVISOR_hvm_op, cmd, (unsigned long)arg);
}

static inline long vcpu_op(int cmd, unsigned int vcpu, void *arg)
{
    return hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, (unsigned long)arg);
}

/* Absolute system time in ns (0 cancels), one-shot, delivered as VIRQ_TIMER. */
static inline long set_timer_op(uint64_t timeout_abs_ns)
{
    return hypercall2(__HYPERVISOR_set_timer_op, timeout_abs_ns, 0);
}

/* True once the hypercall page is installed (and from then on console output goes through it). */
bool xen_present(void);

/* SCHEDOP_shutdown with a SHUTDOWN_* reason; if Xen refuses, says so and spins. */
__attribute__((noreturn)) void xen_shutdown(unsigned int reason);

#endif
