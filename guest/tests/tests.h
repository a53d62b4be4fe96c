/*
 * Tests run in ring 3, chosen by `test=NAME` on the command line; other `key=value` words are their
 * parameters.  run() returns NULL when the test passed, or why it failed: a constant string or one
 * it formatted into why[WHY_SIZE].  user.c prints PASS/FAIL and shuts the domain down accordingly.
 * Tests that end the domain themselves (crash, reboot) or never end (counter) do not return.
 */
#ifndef GUEST_TESTS_H
#define GUEST_TESTS_H

#define WHY_SIZE 256

struct test {
    const char *name;
    const char *(*run)(const char *cmdline, char *why);
};

extern const struct test test_hello, test_crash, test_reboot, test_counter, test_idle, test_hcall_fuzz,
    test_compute, test_hcall_bench, test_evtchn, test_gnttab, test_xenbus, test_console, test_control,
    test_xs_hostile, test_xs_garbage, test_xs_bench, test_net_echo, test_net_stream, test_net_hostile,
    test_net_ping, test_blk_pattern, test_blk_read_check, test_blk_ro, test_blk_flush_durable, test_blk_ext4,
    test_blk_hostile, test_blk_hotplug, test_blk_bench, test_smp, test_balloon, test_migrate_workload;

const struct test *test_find(const char *name);

#endif
