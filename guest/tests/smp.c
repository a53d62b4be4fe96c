/*
 * smp [seconds=S] [period_ms=P]: every vCPU counts.  The secondaries are started the Xen way
 * (smp.c: VCPUOP_initialise + VCPUOP_up), each bumping its own counter in a ring-3 loop; every P ms
 * (500) CPU 0 prints `smp: online 1101 counters C0 C1 C2 C3`.  Hot-plug as Linux's xen-cpu-hotplug
 * does it: CPU 0 watches cpu/<n>/availability; "offline" asks CPU n to down itself (VCPUOP_down on
 * its own id, from its loop), "online" has CPU 0 bring it back with VCPUOP_up, where it resumes.
 * With S > 0, after S seconds: PASS if every online CPU's counter moved in the last period.
 */
#include <stddef.h>
#include <stdint.h>
#include "cmdline.h"
#include "console.h"
#include "hypercall.h"
#include "klib.h"
#include "pv.h"
#include "smp.h"
#include "tests/tests.h"
#include "time.h"
#include "workload.h"
#include "xenbus.h"

#define CPU0_CHUNK 100000        /* CPU 0's work between looks at xenstore */

static volatile uint64_t counters[SMP_MAX_CPUS];
static volatile uint8_t want_down[SMP_MAX_CPUS];

/* A secondary, in ring 3: count, and down itself when asked; VCPUOP_up resumes it here. */
static void secondary(unsigned long cpu)
{
    for (;;) {
        __atomic_add_fetch(&counters[cpu], 1, __ATOMIC_RELAXED);
        if (__atomic_load_n(&want_down[cpu], __ATOMIC_ACQUIRE))
            vcpu_op(VCPUOP_down, (unsigned int)cpu, NULL);
    }
}

/* cpu/<n>/availability into want_down[n]. */
static void read_availability(unsigned int n)
{
    char path[48], value[16];

    snprintf(path, sizeof(path), "cpu/%u/availability", n);
    int len = xs_read(0, path, value, sizeof(value) - 1);
    if (len < 0)
        return;
    value[len] = 0;
    if (!strcmp(value, "offline") && n > 0)
        __atomic_store_n(&want_down[n], 1, __ATOMIC_RELEASE);
    else if (!strcmp(value, "online"))
        __atomic_store_n(&want_down[n], 0, __ATOMIC_RELEASE);
}

/* The n of ".../cpu/<n>/availability", or -1. */
static int cpu_of_path(const char *path)
{
    size_t len = strlen(path);

    for (size_t i = 0; i + 4 <= len; i++) {
        if (strncmp(path + i, "cpu/", 4))
            continue;
        const char *p = path + i + 4;
        int n = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3)
            n = n * 10 + (*p++ - '0'), digits++;
        return digits && !strcmp(p, "/availability") ? n : -1;
    }
    return -1;
}

/* Brings back every CPU wanted online that is down (its own VCPUOP_down may have come after). */
static void settle(unsigned int ncpus)
{
    for (unsigned int n = 1; n < ncpus; n++)
        if (!__atomic_load_n(&want_down[n], __ATOMIC_ACQUIRE) && vcpu_op(VCPUOP_is_up, n, NULL) == 0)
            vcpu_op(VCPUOP_up, n, NULL);
}

static const char *run(const char *cmdline, char *why)
{
    uint64_t seconds = cmdline_u64(cmdline, "seconds", 0), period = cmdline_u64(cmdline, "period_ms", 500);
    uint64_t last[SMP_MAX_CPUS] = { 0 };
    unsigned int ncpus = smp_cpu_count();
    const char *fail;

    if ((fail = pv_need("xenstore", pv_status.xenbus, why)))
        return fail;
    if (!time_available())
        return "smp needs pvclock (shared_info) for its periods";
    for (unsigned int n = 1; n < ncpus; n++) {
        read_availability(n);
        const char *step;
        long rc = smp_start(n, secondary, &step);
        if (rc) {
            snprintf(why, WHY_SIZE, "starting vCPU %u: %s: %ld", n, step, rc);
            return why;
        }
    }
    int rc = xs_watch("cpu", "smp");
    if (rc) {
        snprintf(why, WHY_SIZE, "watching cpu/: %d", rc);
        return why;
    }
    printk("smp: %u vCPUs, secondaries started with VCPUOP_initialise + VCPUOP_up\n", ncpus);
    uint64_t start = monotonic_ns(), next = start + period * 1000000;
    for (;;) {
        char path[64], token[16];
        workload_run(CPU0_CHUNK);
        __atomic_add_fetch(&counters[0], 1, __ATOMIC_RELAXED);
        while (xs_read_watch(path, sizeof(path), token, sizeof(token), 0) == 0) {
            int n = cpu_of_path(path);
            if (n >= 0 && (unsigned int)n < ncpus)
                read_availability((unsigned int)n);
        }
        settle(ncpus);
        uint64_t now = monotonic_ns();
        if (now < next)
            continue;
        next = now + period * 1000000;
        char online[SMP_MAX_CPUS + 1], line[256];
        int at = 0;
        bool all_moved = true;
        for (unsigned int n = 0; n < ncpus; n++) {
            bool up = vcpu_op(VCPUOP_is_up, n, NULL) == 1;
            uint64_t c = __atomic_load_n(&counters[n], __ATOMIC_RELAXED);
            online[n] = up ? '1' : '0';
            if (up && c == last[n])
                all_moved = false;
            at += snprintf(line + at, sizeof(line) - (size_t)at, " %lu", c);
            last[n] = c;
        }
        online[ncpus] = 0;
        printk("smp: online %s counters%s\n", online, line);
        if (seconds && now - start >= seconds * 1000000000ull) {
            if (!all_moved)
                return "an online vCPU's counter did not move in the last period";
            return NULL;
        }
    }
}

const struct test test_smp = { "smp", run };
