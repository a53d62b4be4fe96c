/*
 * Plain portable C, built with the same -O2 for the guest and the host so that both run the same
 * code.  A serial xorshift64 chain mixed into an accumulator: each step needs the previous one, so
 * the compiler can neither fold nor vectorise it.
 */
#include <stdint.h>
#include "workload.h"

uint64_t workload_run(uint64_t loops)
{
    uint64_t x = 0x9e3779b97f4a7c15u, acc = 0;

    for (uint64_t i = 0; i < loops; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += x ^ i;
    }
    return acc ^ x;
}
