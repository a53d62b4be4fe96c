/* console_io: Xen's emergency console, as a DomU meets it.
 *
 * Xen sends a DomU's CONSOLEIO_write to its own console (the hypervisor log `xl dmesg` reads), one
 * "(d<domid>) " line at a time, never to the domain's console, which is xenconsoled's PV ring: a
 * guest that writes both would otherwise show each line twice there.  That is a debug hypervisor's
 * behaviour (a release build's XSM default refuses DomU writes with -EPERM); we keep the guest's
 * words, as its guest_loglvl=all would.  Everything else is for privileged domains only: Xen's
 * XSM default answers a DomU -EPERM before looking at the command, so CONSOLEIO_read and unknown
 * commands both get -EPERM. */
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/hypercalls.h"
#include "xen/xen_public.h"
#include "xen/xen_state.h"

/* Xen takes any length and preempts; we take a generous bound and say -EINVAL beyond it. */
#define CONSOLE_IO_MAX_WRITE (1u << 20)
#define CONSOLE_IO_CHUNK 512

long hcall_console_io(struct vcpu *vcpu, const uint64_t args[5])
{
	/* do_console_io takes unsigned int cmd and count: the upper halves are not Xen's to see. */
	uint32_t cmd = (uint32_t)args[0], count = (uint32_t)args[1];
	uint64_t buf = args[2];
	struct domain *dom = vcpu->dom;
	char chunk[CONSOLE_IO_CHUNK];

	if (cmd == CONSOLEIO_read)
		return -XEN_EPERM;
	if (cmd != CONSOLEIO_write)
		return xen_unknown_subop_answer(vcpu, __HYPERVISOR_console_io, cmd, -XEN_EPERM);
	if (count > CONSOLE_IO_MAX_WRITE)
		return -XEN_EINVAL;
	/* As in Xen, chunks copied before a bad address are already logged when -EFAULT comes. */
	for (uint32_t done = 0; done < count;) {
		size_t n = count - done < sizeof(chunk) ? count - done : sizeof(chunk);
		if (guest_copy_from(vcpu, chunk, buf + done, n))
			return -XEN_EFAULT;
		console_hypervisor_write(dom->console, dom->domid, chunk, n);
		done += (uint32_t)n;
	}
	return 0;
}
