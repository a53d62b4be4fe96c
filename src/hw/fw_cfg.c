/* fw_cfg: the interface itself (fw_cfg.h); what an HVM domain puts in it is hw/fw_cfg_pc.c.
 *
 * Facts this follows (QEMU's device, as SeaBIOS 1.16 and Linux's qemu_fw_cfg driver use it):
 * the selector and data ports form one 2-byte range, where a 16-bit write selects and any read
 * returns the next data byte; byte writes are the old write path, ignored.  Items are
 * little-endian except the directory and the DMA structures, which are big-endian.  Reading past
 * an item's end gives zeros and leaves the offset there.  A DMA transfer is started by the write
 * of the address's low half; the high half then goes back to 0, since SeaBIOS writes only the low
 * half.  The firmware spins until control reads 0 or FW_CFG_DMA_ERROR.
 *
 * Hostile guests: vCPUs may race on the ports (one lock), and the descriptor is guest memory
 * another vCPU can change under us: it is copied once, and its buffer is checked whole with
 * vm_gpa_to_hva before a byte moves. */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "hw/device.h"
#include "hw/fw_cfg.h"
#include "lib/error.h"
#include "vmm/domain.h"
#include "vmm/vm.h"

struct fw_cfg_item {
	uint16_t key;
	uint8_t *data;
	uint32_t len;
	char name[FW_CFG_NAME_MAX];     /* files only */
};

/* Besides the numbered items and the files: the signature, the ID and the directory. */
#define ITEMS_MAX (FW_CFG_ITEMS_MAX + FW_CFG_FILES_MAX + 3)

struct fw_cfg {
	struct domain *dom;
	pthread_mutex_t lock;
	struct fw_cfg_item items[ITEMS_MAX];
	unsigned int n_items, n_files;
	/* What the guest moves; under lock once attached. */
	uint16_t selector;
	uint32_t offset;
	uint64_t dma_addr;
};

static void put_be16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = (uint8_t)v; }
static void put_be32(uint8_t *p, uint32_t v) { put_be16(p, v >> 16); put_be16(p + 2, (uint16_t)v); }
static uint32_t get_be32(const uint8_t *p) { return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]; }
static uint64_t get_be64(const uint8_t *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

/* The selector's item number, without the write-channel bit. */
static uint16_t item_key(uint16_t selector)
{
	return selector & (uint16_t)~FW_CFG_WRITE_CHANNEL;
}

static struct fw_cfg_item *find_item(struct fw_cfg *cfg, uint16_t selector)
{
	uint16_t key = item_key(selector);

	for (unsigned int i = 0; i < cfg->n_items; i++)
		if (cfg->items[i].key == key)
			return &cfg->items[i];
	return NULL;
}

/* Replaces (or adds) item `key` with a copy of data. */
static int set_item(struct fw_cfg *cfg, uint16_t key, const void *data, uint32_t len, const char *name)
{
	struct fw_cfg_item *it = find_item(cfg, key);
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return -ENOMEM;
	if (len)
		memcpy(copy, data, len);
	if (!it) {
		if (cfg->n_items == ITEMS_MAX) {
			free(copy);
			return -ENOSPC;
		}
		it = &cfg->items[cfg->n_items++];
		it->key = key;
	}
	free(it->data);
	it->data = copy;
	it->len = len;
	snprintf(it->name, sizeof(it->name), "%s", name ? name : "");
	return 0;
}

/* The directory from the files, in the order they were added. */
static int rebuild_directory(struct fw_cfg *cfg)
{
	uint8_t dir[4 + FW_CFG_FILES_MAX * FW_CFG_DIR_ENTRY_SIZE];
	size_t at = 4;

	memset(dir, 0, sizeof(dir));
	put_be32(dir, cfg->n_files);
	for (unsigned int i = 0; i < cfg->n_items; i++) {
		const struct fw_cfg_item *it = &cfg->items[i];
		if (!it->name[0])
			continue;
		put_be32(dir + at, it->len);
		put_be16(dir + at + 4, it->key);
		memcpy(dir + at + 8, it->name, strlen(it->name));
		at += FW_CFG_DIR_ENTRY_SIZE;
	}
	return set_item(cfg, FW_CFG_FILE_DIR, dir, (uint32_t)at, NULL);
}

struct fw_cfg *fw_cfg_new(struct domain *dom)
{
	struct fw_cfg *cfg = calloc(1, sizeof(*cfg));
	const uint32_t id = FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA;
	const uint8_t id_le[4] = { id & 0xff, id >> 8 & 0xff, id >> 16 & 0xff, id >> 24 };

	if (!cfg)
		return NULL;
	cfg->dom = dom;
	pthread_mutex_init(&cfg->lock, NULL);
	if (set_item(cfg, FW_CFG_SIGNATURE, "QEMU", 4, NULL) || set_item(cfg, FW_CFG_ID, id_le, 4, NULL) ||
	    rebuild_directory(cfg)) {
		fw_cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

void fw_cfg_free(struct fw_cfg *cfg)
{
	if (!cfg)
		return;
	for (unsigned int i = 0; i < cfg->n_items; i++)
		free(cfg->items[i].data);
	pthread_mutex_destroy(&cfg->lock);
	free(cfg);
}

int fw_cfg_add_item(struct fw_cfg *cfg, uint16_t key, const void *data, uint32_t len)
{
	if (key != item_key(key) || key == FW_CFG_SIGNATURE || key == FW_CFG_ID || key == FW_CFG_FILE_DIR ||
	    (key >= FW_CFG_FILE_FIRST && key < FW_CFG_FILE_FIRST + FW_CFG_FILES_MAX))
		return -EINVAL;
	pthread_mutex_lock(&cfg->lock);
	int r = -ENOSPC;
	if (find_item(cfg, key) || cfg->n_items - cfg->n_files < ITEMS_MAX - FW_CFG_FILES_MAX)
		r = set_item(cfg, key, data, len, NULL);
	pthread_mutex_unlock(&cfg->lock);
	return r;
}

int fw_cfg_add_file(struct fw_cfg *cfg, const char *name, const void *data, uint32_t len)
{
	size_t name_len = strlen(name);
	int r;

	if (!name_len || name_len >= FW_CFG_NAME_MAX)
		return -EINVAL;
	pthread_mutex_lock(&cfg->lock);
	r = -ENOSPC;
	if (cfg->n_files == FW_CFG_FILES_MAX)
		goto out;
	r = -EEXIST;
	for (unsigned int i = 0; i < cfg->n_items; i++)
		if (!strcmp(cfg->items[i].name, name))
			goto out;
	r = set_item(cfg, (uint16_t)(FW_CFG_FILE_FIRST + cfg->n_files), data, len, name);
	if (r)
		goto out;
	cfg->n_files++;
	r = rebuild_directory(cfg);
	if (r) {                          /* out of memory: the file goes again */
		cfg->n_files--;
		struct fw_cfg_item *it = &cfg->items[--cfg->n_items];
		free(it->data);
		memset(it, 0, sizeof(*it));
	}
out:
	pthread_mutex_unlock(&cfg->lock);
	return r;
}

/* ---- the guest's side ---- */

static void select_item(struct fw_cfg *cfg, uint16_t selector)
{
	cfg->selector = selector;
	cfg->offset = 0;
}

/* Bytes of the selected item from the offset on, as far as it goes. */
static uint32_t item_left(struct fw_cfg *cfg, const uint8_t **from)
{
	const struct fw_cfg_item *it = find_item(cfg, cfg->selector);

	if (!it || cfg->offset >= it->len) {
		*from = NULL;
		return 0;
	}
	*from = it->data + cfg->offset;
	return it->len - cfg->offset;
}

/* len bytes of the item into dst, zeros past its end; the offset stops at the end. */
static void item_read(struct fw_cfg *cfg, uint8_t *dst, uint32_t len)
{
	const uint8_t *from;
	uint32_t have = item_left(cfg, &from);
	uint32_t n = have < len ? have : len;

	if (n)
		memcpy(dst, from, n);
	memset(dst + n, 0, len - n);
	cfg->offset += n;
}

static void item_skip(struct fw_cfg *cfg, uint32_t len)
{
	const uint8_t *from;
	uint32_t have = item_left(cfg, &from);

	cfg->offset += have < len ? have : len;
}

static void dma_transfer(struct fw_cfg *cfg, uint64_t desc_gpa)
{
	struct vm *vm = &cfg->dom->vm;
	uint8_t *desc = vm_gpa_to_hva(vm, desc_gpa, 16);
	uint8_t copy[16];

	if (!desc)
		return;   /* nowhere to say it failed, as on QEMU */
	memcpy(copy, desc, sizeof(copy));
	uint32_t control = get_be32(copy), length = get_be32(copy + 4);
	uint64_t address = get_be64(copy + 8);
	bool failed = false;

	if (control & FW_CFG_DMA_SELECT)
		select_item(cfg, (uint16_t)(control >> 16));
	if (control & FW_CFG_DMA_READ) {
		uint8_t *dst = length ? vm_gpa_to_hva(vm, address, length) : NULL;
		if (dst)
			item_read(cfg, dst, length);
		failed = length && !dst;
	} else if (control & FW_CFG_DMA_WRITE) {
		failed = true;            /* nothing here is writable */
	} else if (control & FW_CFG_DMA_SKIP) {
		item_skip(cfg, length);
	}
	put_be32(copy, failed ? FW_CFG_DMA_ERROR : 0);
	memcpy(desc, copy, 4);
}

static void fw_cfg_ports(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
			 unsigned int size)
{
	struct fw_cfg *cfg = opaque;

	(void)vcpu;
	pthread_mutex_lock(&cfg->lock);
	if (is_write) {
		if (port == FW_CFG_PORT_SELECTOR && size == 2)
			select_item(cfg, (uint16_t)(data[0] | data[1] << 8));
	} else {
		memset(data, 0, size);
		item_read(cfg, data, 1);
	}
	pthread_mutex_unlock(&cfg->lock);
}

static void fw_cfg_dma_port(void *opaque, struct vcpu *vcpu, uint64_t port, bool is_write, uint8_t *data,
			    unsigned int size)
{
	static const char signature[8] = FW_CFG_DMA_SIGNATURE;
	struct fw_cfg *cfg = opaque;
	uint64_t at = port - FW_CFG_PORT_DMA;

	(void)vcpu;
	if (!is_write) {
		for (unsigned int i = 0; i < size; i++)
			data[i] = at + i < sizeof(signature) ? (uint8_t)signature[at + i] : 0;
		return;
	}
	pthread_mutex_lock(&cfg->lock);
	if (size == 4 && at == 0) {
		cfg->dma_addr = (uint64_t)get_be32(data) << 32;
	} else if ((size == 4 && at == 4) || (size == 8 && at == 0)) {
		uint64_t addr = size == 8 ? get_be64(data) : cfg->dma_addr | get_be32(data);
		cfg->dma_addr = 0;
		dma_transfer(cfg, addr);
	}
	pthread_mutex_unlock(&cfg->lock);
}

int fw_cfg_attach(struct fw_cfg *cfg, char *err, size_t errlen)
{
	struct io_bus *pio = &cfg->dom->pio;

	if (io_bus_register(pio, "fw_cfg", FW_CFG_PORT_SELECTOR, 2, fw_cfg_ports, cfg) ||
	    io_bus_register(pio, "fw_cfg-dma", FW_CFG_PORT_DMA, 8, fw_cfg_dma_port, cfg)) {
		ERR_SET(err, errlen, "fw_cfg: ports %#x-%#x are taken", FW_CFG_PORT_SELECTOR, FW_CFG_PORT_DMA + 7);
		return -1;
	}
	return 0;
}

/* ---- save and restore ---- */

long fw_cfg_save(struct fw_cfg *cfg, uint8_t *buf, size_t len)
{
	if (len < FW_CFG_STATE_SIZE)
		return -1;
	pthread_mutex_lock(&cfg->lock);
	buf[0] = FW_CFG_STATE_VERSION;
	for (unsigned int i = 0; i < 2; i++)
		buf[1 + i] = (uint8_t)(cfg->selector >> 8 * i);
	for (unsigned int i = 0; i < 4; i++)
		buf[3 + i] = (uint8_t)(cfg->offset >> 8 * i);
	for (unsigned int i = 0; i < 8; i++)
		buf[7 + i] = (uint8_t)(cfg->dma_addr >> 8 * i);
	pthread_mutex_unlock(&cfg->lock);
	return FW_CFG_STATE_SIZE;
}

int fw_cfg_restore(struct fw_cfg *cfg, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
	if (len != FW_CFG_STATE_SIZE || buf[0] != FW_CFG_STATE_VERSION) {
		ERR_SET(err, errlen, "fw_cfg state of %zu bytes, version %u: expected %d bytes, version %d", len,
			len ? buf[0] : 0, FW_CFG_STATE_SIZE, FW_CFG_STATE_VERSION);
		return -1;
	}
	uint16_t selector = (uint16_t)(buf[1] | buf[2] << 8);
	uint32_t offset = 0;
	uint64_t dma_addr = 0;
	for (unsigned int i = 0; i < 4; i++)
		offset |= (uint32_t)buf[3 + i] << 8 * i;
	for (unsigned int i = 0; i < 8; i++)
		dma_addr |= (uint64_t)buf[7 + i] << 8 * i;
	if (dma_addr & 0xffffffffull) {
		ERR_SET(err, errlen, "fw_cfg DMA address %#llx: only a high half can be pending",
			(unsigned long long)dma_addr);
		return -1;
	}
	pthread_mutex_lock(&cfg->lock);
	const struct fw_cfg_item *it = find_item(cfg, selector);
	uint32_t item_len = it ? it->len : 0;
	if (offset > item_len) {
		pthread_mutex_unlock(&cfg->lock);
		ERR_SET(err, errlen, "fw_cfg item %#x: offset %u past its %u bytes", selector, offset, item_len);
		return -1;
	}
	cfg->selector = selector;
	cfg->offset = offset;
	cfg->dma_addr = dma_addr;
	pthread_mutex_unlock(&cfg->lock);
	return 0;
}

/* ---- finding the device's interface ---- */

struct fw_cfg *fw_cfg_of(struct domain *dom)
{
	for (struct device_instance *d = dom->devices; d; d = d->next)
		if (d->ops == &fw_cfg_device)
			return d->state;
	return NULL;
}
