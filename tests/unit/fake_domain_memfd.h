/* tests/unit/fake_domain.h's domain with its guest RAM on a memfd, as the VMM has it: for tests that
 * hand the domain to a real xenstored, which maps the ring page from the memfd.  memfd_create needs
 * _GNU_SOURCE, which those tests define before any include. */
#ifndef XENITH_FAKE_DOMAIN_MEMFD_H
#define XENITH_FAKE_DOMAIN_MEMFD_H
#include <sys/mman.h>
#include "fake_domain.h"

/* Guest RAM as the VMM has it, for tests that hand it to xenstored: a memfd mapped shared (its
 * ring page is mapped from the memfd).  fake_domain_drop_memfd undoes it before fake_domain_free. */
static inline void fake_domain_use_memfd(struct domain *d, const char *name)
{
	int memfd = memfd_create(name, MFD_CLOEXEC);

	if (memfd < 0 || ftruncate(memfd, FAKE_RAM_SIZE))
		abort();
	void *ram = mmap(NULL, FAKE_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (ram == MAP_FAILED)
		abort();
	free(d->vm.ram);
	d->vm.ram = ram;
	d->vm.memfd = memfd;
}

static inline void fake_domain_drop_memfd(struct domain *d)
{
	munmap(d->vm.ram, FAKE_RAM_SIZE);
	close(d->vm.memfd);
	d->vm.ram = malloc(1);     /* fake_domain_free frees it */
	d->vm.memfd = -1;
}

#endif
