/* Building a domain from a save stream (docs/migration.md): the receiving half of `xl restore` and
 * `xl migrate`.  The VMM runs with --restore-fd: domain_build makes the VM, Xen state, devices and
 * vCPUs as for a new domain but loads no kernel; restore_read then takes the stream's records to
 * END, and the domain starts paused (xl unpauses it once it is whole everywhere). */
#ifndef XENITH_RESTORE_H
#define XENITH_RESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct domain;

/* What the stream leaves for after the domid is known. */
struct restore_result {
	uint8_t *pv;                 /* the PV devices' records, one after another (pv_backends_restore_all) */
	size_t pv_len;
	unsigned int pv_records;
	uint64_t pages;              /* page entries applied */
	unsigned int vcpus;
	bool digest_checked;
};

/* Reads the stream's records after xl's CONFIG record (xl reads the header and CONFIG before it
 * starts the VMM) into `dom`.  0, or -1 with err naming the record and what is wrong; the domain
 * is then to be torn down. */
int restore_read(struct domain *dom, int fd, struct restore_result *res, char *err, size_t errlen);
void restore_result_free(struct restore_result *res);

#endif
