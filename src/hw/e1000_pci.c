/* The `e1000` row of the HVM device table: one 82540EM PCI function per `--nic model=e1000` (slot 3
 * + its place in the list, INTA, BAR0 128 KiB of registers, BAR1 64 bytes of I/O), each on a TAP
 * vif<domid>.<devid>-emu watched on the main loop.
 *
 * Frames from the TAP are read on the main loop while the receive ring has room; when it fills,
 * the TAP is left unwatched (frames wait in its queue) until the guest gives buffers back (RDT,
 * from a vCPU thread), which an eventfd tells the loop, as netback does.
 *
 * After the Xen platform device unplugged NICs the functions behave as absent: their registers
 * read all ones, writes and DMA stop, INTx drops, and the TAP is no longer read. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include "backends/tap.h"
#include "hw/device.h"
#include "backends/hotplug.h"
#include "hw/e1000.h"
#include "hw/hvm_config.h"
#include "hw/pci.h"
#include "hw/xen_platform.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/event_loop.h"

#define E1000_FIRST_SLOT 3
#define IFNAME_MAX 16                  /* IFNAMSIZ with its NUL */
#define SAVE_VERSION 1

struct e1000_nic {
	struct e1000 e;                    /* first: the BAR handlers' opaque is the NIC */
	struct domain *dom;
	struct pci_device *dev;
	struct pci_device_info info;
	char name[IFNAME_MAX];
	bool own_port;                     /* a TAP we open at attach (a test's port stays the test's) */
	const struct hvm_nic *cfg;         /* the domain's hvm config: devid, bridge, script */
	bool online;                       /* its hotplug script said online */
	int kick_fd;                       /* -1: none */
	bool port_watched, kick_watched, rx_paused;
};

struct e1000_set {
	unsigned int n;
	struct e1000_nic *nic[HVM_NICS_MAX];
};

/* ---- the guest's side ---- */

static void notice_unplug(struct e1000_nic *nic)
{
	if (nic->e.unplugged || !xen_platform_unplugged(nic->dom, XEN_UNPLUG_NICS))
		return;
	pthread_mutex_lock(&nic->e.lock);
	nic->e.unplugged = true;
	e1000_update_irq(&nic->e);
	pthread_mutex_unlock(&nic->e.lock);
	LOG("%s: unplugged by the guest's PV drivers", nic->name);
}

static void bar0_mmio(void *opaque, struct vcpu *vcpu, uint64_t offset, bool is_write, uint8_t *data,
		      unsigned int size)
{
	notice_unplug(opaque);
	e1000_mmio_access(opaque, vcpu, offset, is_write, data, size);
}

static void bar1_io(void *opaque, struct vcpu *vcpu, uint64_t offset, bool is_write, uint8_t *data,
		    unsigned int size)
{
	notice_unplug(opaque);
	e1000_io_access(opaque, vcpu, offset, is_write, data, size);
}

static void set_intx(void *opaque, bool level)
{
	struct e1000_nic *nic = opaque;

	pci_device_set_irq(nic->dev, level);
}

/* ---- the main loop's side ---- */

static void watch_port(struct e1000_nic *nic, bool on)
{
	if (nic->port_watched && !event_loop_modify(nic->dom->loop, nic->e.port.fd, on ? EPOLLIN : 0))
		nic->rx_paused = !on;
}

static void serve_rx(struct e1000_nic *nic)
{
	if (nic->e.port.fd < 0)
		return;                    /* not attached yet */
	notice_unplug(nic);
	if (nic->e.unplugged) {
		watch_port(nic, false);
		return;
	}
	int r = e1000_rx_pump(&nic->e);
	if (r < 0) {
		LOG("%s: reading the TAP: %s; no more frames from it", nic->name, strerror(-r));
		if (nic->port_watched)
			event_loop_remove(nic->dom->loop, nic->e.port.fd);
		nic->port_watched = false;
		return;
	}
	pthread_mutex_lock(&nic->e.lock);
	bool room = e1000_rx_has_room(&nic->e);
	pthread_mutex_unlock(&nic->e.lock);
	watch_port(nic, room);
}

static void port_readable(void *opaque, uint32_t events)
{
	(void)events;
	serve_rx(opaque);
}

static void kicked(void *opaque, uint32_t events)
{
	struct e1000_nic *nic = opaque;
	uint64_t count;

	(void)events;
	if (read(nic->kick_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	serve_rx(nic);
}

/* The receive ring gained buffers: on a vCPU thread with the NIC's lock held, so only the eventfd. */
static void rx_room(void *opaque)
{
	struct e1000_nic *nic = opaque;
	uint64_t one = 1;

	if (nic->kick_fd >= 0 && write(nic->kick_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		LOG("%s: cannot wake the main loop: %s", nic->name, strerror(errno));
}

/* ---- building ---- */

/* The port goes on the main loop, unwatched until the guest's receive ring has room. */
static int watch_new_port(struct e1000_nic *nic, char *err, size_t errlen)
{
	if (!nic->dom->loop)
		return 0;
	if (event_loop_add(nic->dom->loop, nic->e.port.fd, 0, port_readable, nic)) {
		ERR_SET(err, errlen, "%s: no room on the main loop", nic->name);
		return -1;
	}
	nic->port_watched = true;
	nic->rx_paused = true;
	return 0;
}

/* The hotplug script's environment, as netback gives a PV vif's (docs/netif.md). */
static int run_script(struct e1000_nic *nic, const char *command, char *msg, size_t len)
{
	char vif[32], bridge[32], mac[32], script[HVM_PATH_MAX + 8], cmd[32];
	const uint8_t *m = nic->cfg->mac;
	snprintf(vif, sizeof(vif), "vif=%s", nic->name);
	snprintf(bridge, sizeof(bridge), "bridge=%s", nic->cfg->bridge);
	snprintf(mac, sizeof(mac), "mac=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	snprintf(script, sizeof(script), "script=%s", nic->cfg->script);
	snprintf(cmd, sizeof(cmd), "command=%s", command);
	char *const env[] = { vif, bridge, mac, script, cmd, "XENBUS_TYPE=vif", NULL };
	return hotplug_run(nic->cfg->script, command, env, msg, len);
}

static void nic_free(struct e1000_nic *nic)
{
	char msg[HOTPLUG_MSG_MAX];

	if (nic->online && run_script(nic, "offline", msg, sizeof(msg)))
		LOG("%s: %s", nic->name, msg);
	if (nic->port_watched)
		event_loop_remove(nic->dom->loop, nic->e.port.fd);
	if (nic->kick_watched)
		event_loop_remove(nic->dom->loop, nic->kick_fd);
	if (nic->kick_fd >= 0)
		close(nic->kick_fd);
	if (nic->own_port && nic->e.port.fd >= 0)
		close(nic->e.port.fd);
	if (nic->dev) {
		if (nic->dom->pci && nic->dom->pci->devices[nic->dev->devfn] == nic->dev)
			nic->dom->pci->devices[nic->dev->devfn] = NULL;
		free(nic->dev);
	}
	e1000_destroy(&nic->e);
	free(nic);
}

static struct e1000_nic *nic_new(struct domain *dom, const struct hvm_nic *cfg, unsigned int index,
				 const struct e1000_port *port, char *err, size_t errlen)
{
	char why[256];

	if (cfg->model == HVM_NIC_RTL8139) {
		ERR_SET(err, errlen, "vif %d: model rtl8139 is not supported yet; use model=e1000", cfg->devid);
		return NULL;
	}
	if (cfg->model != HVM_NIC_E1000) {
		ERR_SET(err, errlen, "vif %d: unknown NIC model %d", cfg->devid, (int)cfg->model);
		return NULL;
	}
	struct e1000_nic *nic = calloc(1, sizeof(*nic));
	if (!nic) {
		ERR_SET(err, errlen, "vif %d: out of memory for its e1000", cfg->devid);
		return NULL;
	}
	nic->dom = dom;
	nic->kick_fd = -1;
	if ((size_t)snprintf(nic->name, sizeof(nic->name), "vif%d.%d-emu", dom->domid, cfg->devid) >=
	    sizeof(nic->name)) {
		ERR_SET(err, errlen, "vif%d.%d-emu is too long for a device name", dom->domid, cfg->devid);
		free(nic);
		return NULL;
	}
	if (e1000_init(&nic->e, dom, nic->name, cfg->mac, err, errlen)) {
		free(nic);
		return NULL;
	}
	/* A real TAP is named by the domid, which the domain has only at attach. */
	nic->cfg = cfg;
	nic->e.port.fd = -1;
	if (port)
		nic->e.port = *port;
	else
		nic->own_port = true;
	nic->info = (struct pci_device_info){
		.name = "e1000", .vendor = 0x8086, .device = 0x100e, .subsystem_vendor = 0x8086,
		.subsystem = 0x001e, .revision = 0x03, .class_code = 0x02, .subclass = 0x00, .irq_pin = 1,
		.bars = {
			[0] = { .size = E1000_MMIO_SIZE, .fn = bar0_mmio, .opaque = nic },
			[1] = { .size = E1000_IO_SIZE, .io = true, .fn = bar1_io, .opaque = nic },
		},
		.opaque = nic,
	};
	nic->dev = pci_device_add(dom->pci, E1000_FIRST_SLOT + index, 0, &nic->info, why, sizeof(why));
	if (!nic->dev) {
		ERR_SET(err, errlen, "%s: %s", nic->name, why);
		goto fail;
	}
	nic->e.set_irq = set_intx;
	nic->e.irq_opaque = nic;
	if (dom->loop) {
		nic->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (nic->kick_fd < 0 || event_loop_add(dom->loop, nic->kick_fd, EPOLLIN, kicked, nic)) {
			ERR_SET(err, errlen, "%s: no room on the main loop", nic->name);
			goto fail;
		}
		nic->kick_watched = true;
		nic->e.rx_room = rx_room;
		nic->e.rx_room_opaque = nic;
	}
	if (nic->e.port.fd >= 0 && watch_new_port(nic, err, errlen))
		goto fail;
	return nic;
fail:
	nic_free(nic);
	return NULL;
}

static void set_free(struct e1000_set *set)
{
	for (unsigned int i = 0; i < set->n; i++)
		nic_free(set->nic[i]);
	free(set);
}

int e1000_devices_create(struct domain *dom, const struct e1000_port *ports, void **state, char *err,
			 size_t errlen)
{
	*state = NULL;
	if (!dom->hvm || !dom->hvm->n_nics)
		return 0;
	if (!dom->pci) {
		ERR_SET(err, errlen, "e1000: the PCI bus must be built first");
		return -1;
	}
	if (dom->hvm->n_nics > HVM_NICS_MAX || E1000_FIRST_SLOT + dom->hvm->n_nics > PCI_SLOTS) {
		ERR_SET(err, errlen, "e1000: %u NICs, at most %d", dom->hvm->n_nics, HVM_NICS_MAX);
		return -1;
	}
	struct e1000_set *set = calloc(1, sizeof(*set));
	if (!set) {
		ERR_SET(err, errlen, "e1000: out of memory");
		return -1;
	}
	for (unsigned int i = 0; i < dom->hvm->n_nics; i++) {
		struct e1000_nic *nic = nic_new(dom, &dom->hvm->nics[i], i, ports ? &ports[i] : NULL, err, errlen);
		if (!nic) {
			set_free(set);
			return -1;
		}
		set->nic[set->n++] = nic;
	}
	*state = set;
	return 0;
}

struct e1000 *e1000_devices_nic(void *state, unsigned int index)
{
	struct e1000_set *set = state;

	return set && index < set->n ? &set->nic[index]->e : NULL;
}

static int e1000_row_init(struct domain *dom, void **state, char *err, size_t errlen)
{
	return e1000_devices_create(dom, NULL, state, err, errlen);
}

/* The domain has its domid: each NIC's TAP vif<domid>.<devid>-emu is made and put on the network
 * by its hotplug script, as the PV vif of that devid is. */
static int e1000_row_attach(struct domain *dom, void *state, char *err, size_t errlen)
{
	struct e1000_set *set = state;
	char why[HOTPLUG_MSG_MAX];

	for (unsigned int i = 0; set && i < set->n; i++) {
		struct e1000_nic *nic = set->nic[i];
		if (!nic->own_port || nic->e.port.fd >= 0)
			continue;
		if ((size_t)snprintf(nic->name, sizeof(nic->name), "vif%d.%d-emu", dom->domid, nic->cfg->devid) >=
		    sizeof(nic->name)) {
			ERR_SET(err, errlen, "vif%d.%d-emu is too long for a device name", dom->domid, nic->cfg->devid);
			return -1;
		}
		nic->e.port.fd = tap_open(nic->name, why, sizeof(why));
		if (nic->e.port.fd < 0) {
			ERR_SET(err, errlen, "%s: %s", nic->name, why);
			return -1;
		}
		if (nic->cfg->script[0]) {
			if (run_script(nic, "online", why, sizeof(why))) {
				ERR_SET(err, errlen, "%s: %s", nic->name, why);
				return -1;
			}
			nic->online = true;
		}
		if (watch_new_port(nic, err, errlen))
			return -1;
	}
	return 0;
}

static void e1000_row_teardown(struct domain *dom, void *state)
{
	(void)dom;
	if (state)
		set_free(state);
}

/* u8 version, u8 NIC count, then each NIC's e1000_save state (config space travels with the bus).
 * A domain without NICs saves nothing. */
static long e1000_row_save(struct domain *dom, void *state, uint8_t *buf, size_t len)
{
	struct e1000_set *set = state;
	size_t at = 2;

	(void)dom;
	if (!set)
		return 0;
	if (len < at)
		return -1;
	buf[0] = SAVE_VERSION;
	buf[1] = (uint8_t)set->n;
	for (unsigned int i = 0; i < set->n; i++) {
		long r = e1000_save(&set->nic[i]->e, buf + at, len - at);
		if (r < 0)
			return -1;
		at += (size_t)r;
	}
	return (long)at;
}

static int e1000_row_restore(struct domain *dom, void *state, const uint8_t *buf, size_t len, char *err,
			     size_t errlen)
{
	struct e1000_set *set = state;
	unsigned int n = set ? set->n : 0;

	(void)dom;
	if (!set && len == 0)
		return 0;
	if (len < 2 || buf[0] != SAVE_VERSION || buf[1] != n || len != 2 + (size_t)n * E1000_STATE_SIZE) {
		ERR_SET(err, errlen, "e1000: saved state of %zu bytes (version %u, %u NICs) does not fit this "
			"domain's %u NICs", len, len ? buf[0] : 0, len > 1 ? buf[1] : 0, n);
		return -1;
	}
	for (unsigned int i = 0; i < n; i++)
		if (e1000_restore(&set->nic[i]->e, buf + 2 + (size_t)i * E1000_STATE_SIZE, E1000_STATE_SIZE, err,
				  errlen))
			return -1;
	return 0;
}

const struct device_ops e1000_device = {
	.name = "e1000",
	.init = e1000_row_init,
	.teardown = e1000_row_teardown,
	.save = e1000_row_save,
	.restore = e1000_row_restore,
	.attach = e1000_row_attach,
};
