#include "shared_info.h"
#include "time.h"
#include "x86.h"

#define barrier() asm volatile("" : : : "memory")

bool time_available(void)
{
    return vcpu_info && vcpu_info->time.tsc_to_system_mul;
}

uint64_t monotonic_ns(void)
{
    if (!vcpu_info)
        return 0;
    volatile struct vcpu_time_info *t = &vcpu_info->time;
    uint32_t version, mul;
    uint64_t tsc_timestamp, system_time, tsc;
    int8_t shift;

    do {
        version = t->version;
        barrier();
        tsc_timestamp = t->tsc_timestamp;
        system_time = t->system_time;
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        tsc = rdtsc();
        barrier();
    } while ((version & 1) || version != t->version);

    uint64_t delta = tsc - tsc_timestamp;
    if (tsc < tsc_timestamp)        /* TSC read before the VMM's stamp (another pCPU): no time passed */
        delta = 0;
    delta = shift < 0 ? delta >> -shift : delta << shift;
    return system_time + (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

int wallclock(uint64_t *sec, uint32_t *nsec)
{
    if (!shared_info)
        return -1;
    volatile struct shared_info *s = shared_info;
    uint32_t version, wc_nsec;
    uint64_t wc_sec;

    do {
        version = s->wc_version;
        barrier();
        wc_sec = s->wc_sec | (uint64_t)s->wc_sec_hi << 32;
        wc_nsec = s->wc_nsec;
        barrier();
    } while ((version & 1) || version != s->wc_version);
    if (!version && !wc_sec && !wc_nsec)
        return -1;
    uint64_t ns = wc_nsec + monotonic_ns();
    *sec = wc_sec + ns / NS_PER_S;
    *nsec = (uint32_t)(ns % NS_PER_S);
    return 0;
}
