/* The test table: add a test by writing tests/NAME.c and listing it here. */
#include <stddef.h>
#include "klib.h"
#include "tests/tests.h"

static const struct test *const tests[] = {
    &test_hello,
    &test_crash,
    &test_reboot,
    &test_counter,
    &test_idle,
    &test_smp,
    &test_balloon,
    &test_hcall_fuzz,
    &test_compute,
    &test_hcall_bench,
    &test_evtchn,
    &test_gnttab,
    &test_xenbus,
    &test_console,
    &test_control,
    &test_xs_hostile,
    &test_xs_garbage,
    &test_xs_bench,
    &test_net_echo,
    &test_net_stream,
    &test_net_hostile,
    &test_net_ping,
    &test_blk_pattern,
    &test_blk_read_check,
    &test_blk_ro,
    &test_blk_flush_durable,
    &test_blk_ext4,
    &test_blk_hostile,
    &test_blk_hotplug,
    &test_blk_bench,
    &test_migrate_workload,
};

const struct test *test_find(const char *name)
{
    for (size_t i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
        if (!strcmp(tests[i]->name, name))
            return tests[i];
    return NULL;
}
