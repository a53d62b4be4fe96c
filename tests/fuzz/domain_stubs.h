/* For fuzzers that link the Xen code (the whole hypercall table, through tests/unit/fake_domain.h)
 * without vmm/domain.c: SCHEDOP_shutdown's targets, which no fuzzer's input reaches.  Include once,
 * in the fuzzer's own file. */
#ifndef XENITH_FUZZ_DOMAIN_STUBS_H
#define XENITH_FUZZ_DOMAIN_STUBS_H

struct domain;

void domain_shutdown(struct domain *d, int reason);
void domain_shutdown(struct domain *d, int reason)
{
	(void)d;
	(void)reason;
}

void domain_suspend(struct domain *d, unsigned int vcpu);
void domain_suspend(struct domain *d, unsigned int vcpu)
{
	(void)d;
	(void)vcpu;
}

#endif
