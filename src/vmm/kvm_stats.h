/* A vCPU's exit count as KVM itself keeps it (KVM_GET_STATS_FD, Linux 5.14+): every exit, those KVM
 * handles without us included, which is what "exits per packet" must count.  Where the host has no
 * binary stats the count is unknown and only the exits that reach us (struct vcpu.user_exits) are. */
#ifndef XENITH_KVM_STATS_H
#define XENITH_KVM_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_stat_counter {
	int fd;                  /* the stats fd; -1: none */
	uint64_t data_at;        /* file offset of the counter's u64 */
};

/* Finds cumulative counter `name` ("exits") in the binary stats behind stats_fd, which it then owns.
 * 0, or -1 with why (fd closed): a malformed header or descriptor, or no such counter. */
int kvm_stat_counter_open(struct kvm_stat_counter *c, int stats_fd, const char *name, char *why, size_t len);
/* The counter's value now; false when it cannot be read. */
bool kvm_stat_counter_read(const struct kvm_stat_counter *c, uint64_t *value);
void kvm_stat_counter_close(struct kvm_stat_counter *c);

#endif
