/* A save stream's domain records on any bytes (vmm/restore.c): what `xl restore` and
 * `xl migrate-receive` hand a new VMM, which may come from another host.  The bytes are the
 * records after xl's CONFIG; they are framed as the stream's records here so that the fuzzer
 * reaches the record bodies (DOMAIN's checks, PAGES batches into RAM, the Xen state, vCPU state
 * decoding, devices, digest) rather than stopping at checksums.  Input: a sequence of
 * (u8 type, u16 length, body) chunks, each written as one record.  The domain is a fake one
 * (tests/unit/fake_domain.h) with one vCPU and no KVM: a vCPU record that decodes fails at loading,
 * which is the last step.  Nothing may crash, and RAM beyond the domain's must stay untouched. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "migrate/stream.h"
#include "../unit/fake_domain.h"
#include "vmm/restore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct domain_params params = { .name = "fuzzed", .restore_fd = -1 };
	int fd = memfd_create("stream", MFD_CLOEXEC);
	struct mig_writer w;
	char err[512];

	if (fd < 0)
		return 0;
	mig_writer_init(&w, fd);
	for (size_t at = 0; at + 3 <= size;) {
		uint32_t type = data[at] % (MIG_REC_TYPES + 1);
		size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
		at += 3;
		if (len > size - at)
			len = size - at;
		if (mig_write_record(&w, type, data + at, len, err, sizeof(err)))
			break;
		at += len;
	}
	lseek(fd, 0, SEEK_SET);
	struct domain *d = fake_domain_new(1);
	struct restore_result res;
	d->params = &params;
	if (!restore_read(d, fd, &res, err, sizeof(err)))
		restore_result_free(&res);
	fake_domain_free(d);
	close(fd);
	return 0;
}
