/* fw_cfg (hw/fw_cfg.c, hw/fw_cfg_pc.c) against a hostile guest: the device built through its
 * device_ops init on a fake domain (config from the input's first bytes), then port writes and
 * reads of any size and DMA descriptors in fake RAM (or pointed outside it) as the input says,
 * with save/restore round trips between.  Checked: a descriptor in RAM always gets back 0 or
 * FW_CFG_DMA_ERROR; a save restores and saves to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "hw/fw_cfg.h"
#include "hw/hvm_config.h"
#include "vmm/domain.h"
#include "../unit/fake_domain.h"

#include "domain_stubs.h"

#define MAX_STEPS 256

struct input { const uint8_t *p; size_t left; };

static uint8_t u8(struct input *in)
{
	if (!in->left)
		return 0;
	in->left--;
	return *in->p++;
}
static uint16_t u16(struct input *in) { uint16_t v = u8(in); return (uint16_t)(v | (uint16_t)u8(in) << 8); }
static uint32_t u32(struct input *in) { uint32_t v = u16(in); return v | (uint32_t)u16(in) << 16; }

/* Guest-physical places worth aiming at: RAM's start, its middle, its last bytes, just past it,
 * the MMIO hole, 4 GiB, or any 32-bit address. */
static uint64_t place(struct input *in)
{
	switch (u8(in) % 8) {
	case 0: return 0x1000;
	case 1: return FAKE_RAM_SIZE / 2 + (u8(in) & 15);
	case 2: return FAKE_RAM_SIZE - (u8(in) % 32);
	case 3: return FAKE_RAM_SIZE;
	case 4: return 0xfec00000ull;
	case 5: return 1ull << 32;
	default: return u32(in);
	}
}

static void put_be32(uint8_t *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16 & 0xff; p[2] = v >> 8 & 0xff; p[3] = v & 0xff; }

static void dma(struct domain *dom, struct input *in)
{
	uint64_t desc = place(in), address = place(in);
	uint8_t d[16];

	put_be32(d, u32(in));
	put_be32(d + 4, u8(in) & 1 ? u32(in) : u8(in));
	put_be32(d + 8, (uint32_t)(address >> 32));
	put_be32(d + 12, (uint32_t)address);
	uint8_t *hva = vm_gpa_to_hva(&dom->vm, desc, sizeof(d));
	if (hva)
		memcpy(hva, d, sizeof(d));
	/* Both halves, as a raw port write may have left a high half pending. */
	uint8_t v[4];
	put_be32(v, (uint32_t)(desc >> 32));
	io_bus_dispatch(&dom->pio, NULL, FW_CFG_PORT_DMA, true, v, 4);
	put_be32(v, (uint32_t)desc);
	io_bus_dispatch(&dom->pio, NULL, FW_CFG_PORT_DMA + 4, true, v, 4);
	if (hva && (hva[0] || hva[1] || hva[2] || hva[3] > FW_CFG_DMA_ERROR))
		abort();
}

static void save_restore(struct domain *dom, void *state)
{
	uint8_t a[64], b[64];
	char err[256];

	long n = fw_cfg_device.save(dom, state, a, sizeof(a));
	if (n != FW_CFG_STATE_SIZE || fw_cfg_device.restore(dom, state, a, (size_t)n, err, sizeof(err)))
		abort();
	if (fw_cfg_device.save(dom, state, b, sizeof(b)) != n || memcmp(a, b, (size_t)n))
		abort();
}

static void config(struct hvm_config *c, struct input *in)
{
	static const char *const boots[] = { "c", "d", "n", "dc", "cdn", "ndc", "cc", "" };
	uint8_t v = u8(in);

	hvm_config_init(c);
	snprintf(c->boot, sizeof(c->boot), "%s", boots[v & 7]);
	c->serial = v >> 3 & 1;
	c->n_nics = (v >> 4) % (HVM_NICS_MAX + 1);
	v = u8(in);
	for (unsigned int i = 0; i < HVM_IDE_DRIVES; i++)
		c->ide[i].kind = (enum hvm_drive_kind)((v >> 2 * i & 3) % 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct domain *dom;
	static struct hvm_config hvm;
	struct input in = { data, size };
	char err[256];
	void *state = NULL;

	if (!dom)
		dom = fake_domain_new(1);
	memset(dom->vm.ram, 0, FAKE_RAM_SIZE);
	dom->pio = (struct io_bus){ .name = "port" };
	dom->hvm = &hvm;
	config(&hvm, &in);
	if (fw_cfg_device.init(dom, &state, err, sizeof(err)))
		abort();                         /* every config here fits */
	for (unsigned int step = 0; step < MAX_STEPS && in.left; step++) {
		uint8_t op = u8(&in), v[8] = { 0 };
		unsigned int size = 1u << (op >> 4 & 3);
		uint64_t port = FW_CFG_PORT_SELECTOR + (op >> 6) * 4 + (u8(&in) & 3);
		switch (op % 6) {
		case 0: {
			uint16_t key = u16(&in);
			v[0] = key & 0xff;
			v[1] = key >> 8;
			io_bus_dispatch(&dom->pio, NULL, FW_CFG_PORT_SELECTOR, true, v, 2);
			break;
		}
		case 1:
			for (unsigned int i = u8(&in); i; i--)
				io_bus_dispatch(&dom->pio, NULL, FW_CFG_PORT_DATA, false, v, 1);
			break;
		case 2:
			dma(dom, &in);
			break;
		case 3:
			for (unsigned int i = 0; i < size; i++)
				v[i] = u8(&in);
			io_bus_dispatch(&dom->pio, NULL, port, true, v, size);
			break;
		case 4:
			io_bus_dispatch(&dom->pio, NULL, port, false, v, size);
			break;
		default:
			save_restore(dom, state);
			break;
		}
	}
	fw_cfg_device.teardown(dom, state);
	return 0;
}
