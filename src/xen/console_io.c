/* console_io: a guest's writes go to its console log, as Xen's guest_loglvl=all would show them. */
#include "vmm/domain.h"
#include "vmm/guest_access.h"
#include "xen/hypercalls.h"
#include "xen/xen_public.h"

/* Xen takes any length and preempts; we take a generous bound and say -EINVAL beyond it. */
#define CONSOLE_IO_MAX_WRITE (1u << 20)
#define CONSOLE_IO_CHUNK 512

long hcall_console_io(struct vcpu *vcpu, const uint64_t args[5])
{
	uint64_t cmd = args[0], count = args[1], buf = args[2];
	char chunk[CONSOLE_IO_CHUNK];

	switch (cmd) {
	case CONSOLEIO_write:
		if (count > CONSOLE_IO_MAX_WRITE)
			return -XEN_EINVAL;
		for (uint64_t done = 0; done < count;) {
			size_t n = count - done < sizeof(chunk) ? count - done : sizeof(chunk);
			if (guest_copy_from(vcpu, chunk, buf + done, n))
				return -XEN_EFAULT;
			console_write(vcpu->dom->console, chunk, n);
			done += n;
		}
		return 0;
	case CONSOLEIO_read:
		return 0;            /* no input on this channel yet: zero bytes read */
	default:
		return -XEN_ENOSYS;
	}
}
