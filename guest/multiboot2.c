/*
 * Reading a Multiboot2 loader's boot information (the Multiboot2 specification, section 3.6):
 *
 *   u32 total_size, u32 reserved, then tags, each 8-byte aligned: u32 type, u32 size (header
 *   included, padding not), contents; a tag of type 0 and size 8 ends the list.
 *   type 1, the command line: a NUL-terminated string (GRUB: the words after the file name on
 *           its `multiboot2` line; some loaders put the file name first, which key=value lookups
 *           do not mind);
 *   type 6, the memory map: u32 entry_size, u32 entry_version, then entries of u64 base, u64
 *           length, u32 type (1 RAM, 3 ACPI, 4 NVS, 5 bad: e820's numbers, which are also
 *           hvm_memmap_table_entry's), u32 reserved.
 *
 * The loader is trusted no more than anything else: every tag must lie inside total_size, and
 * total_size inside the identity-mapped 4 GiB; an entry_size below 24 is refused.  Other tags
 * (boot loader name, ELF sections, the BIOS's ACPI RSDP, ...) are not needed and are skipped.
 */
#include <stdbool.h>
#include <stddef.h>
#include "klib.h"
#include "multiboot2.h"
#include "tests/tests.h"

#define MB2_TAG_END     0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_MMAP    6
#define MB2_INFO_MAX    (1u << 20)      /* far beyond what a loader writes; guards the walk */
#define MB2_ALIGN       8

struct mb2_tag {
    uint32_t type, size;
};

struct mb2_mmap_entry {
    uint64_t base, length;
    uint32_t type, reserved;
};

static int bad(char *why, const char *what, uint32_t a, uint32_t b)
{
    snprintf(why, WHY_SIZE, "multiboot2 boot information: %s (%#x, %#x)", what, a, b);
    return -1;
}

static void read_cmdline(struct mb2_boot *boot, const char *s, uint32_t len)
{
    uint32_t n = 0;

    while (n < len && s[n])
        n++;
    if (n > MB2_CMDLINE_MAX - 1) {
        boot->cmdline_dropped = n - (MB2_CMDLINE_MAX - 1);
        n = MB2_CMDLINE_MAX - 1;
    }
    memcpy(boot->cmdline, s, n);
    boot->cmdline[n] = '\0';
}

static int read_mmap(struct mb2_boot *boot, const uint8_t *body, uint32_t len, char *why)
{
    if (len < 8)
        return bad(why, "memory map tag too short", len, 8);
    uint32_t entry_size = *(const uint32_t *)body;
    if (entry_size < sizeof(struct mb2_mmap_entry) || entry_size % MB2_ALIGN)
        return bad(why, "memory map entry size", entry_size, (uint32_t)sizeof(struct mb2_mmap_entry));
    uint32_t count = (len - 8) / entry_size, kept = 0;
    for (uint32_t i = 0; i < count; i++) {
        const struct mb2_mmap_entry *e = (const void *)(body + 8 + (size_t)i * entry_size);
        if (kept == MB2_MEMMAP_MAX) {
            boot->memmap_dropped++;
            continue;
        }
        boot->memmap[kept++] = (struct hvm_memmap_table_entry){ e->base, e->length, e->type, 0 };
    }
    boot->start_info.memmap_entries = kept;
    return 0;
}

int multiboot2_read(uint32_t info_paddr, struct mb2_boot *boot, char *why)
{
    memset(boot, 0, sizeof(*boot));
    if (!info_paddr || info_paddr % MB2_ALIGN)
        return bad(why, "address null or unaligned", info_paddr, MB2_ALIGN);
    const uint8_t *info = (const uint8_t *)(uintptr_t)info_paddr;
    uint32_t total = *(const uint32_t *)info;
    if (total < 16 || total > MB2_INFO_MAX || total > 0xffffffffu - info_paddr)
        return bad(why, "total_size out of range", info_paddr, total);

    bool ended = false;
    for (uint32_t off = 8; off < total;) {
        if (total - off < sizeof(struct mb2_tag))
            return bad(why, "tag header past total_size", off, total);
        const struct mb2_tag *tag = (const void *)(info + off);
        if (tag->size < sizeof(*tag) || tag->size > total - off)
            return bad(why, "tag size out of range", tag->type, tag->size);
        const uint8_t *body = info + off + sizeof(*tag);
        uint32_t len = tag->size - (uint32_t)sizeof(*tag);
        if (tag->type == MB2_TAG_END) {
            ended = true;
            break;
        }
        if (tag->type == MB2_TAG_CMDLINE)
            read_cmdline(boot, (const char *)body, len);
        else if (tag->type == MB2_TAG_MMAP && read_mmap(boot, body, len, why))
            return -1;
        off += (tag->size + MB2_ALIGN - 1) & ~(uint32_t)(MB2_ALIGN - 1);
    }
    if (!ended)
        return bad(why, "no end tag within total_size", info_paddr, total);

    boot->start_info.magic = XEN_HVM_START_MAGIC_VALUE;
    boot->start_info.version = 1;
    boot->start_info.cmdline_paddr = (uintptr_t)boot->cmdline;
    boot->start_info.memmap_paddr = (uintptr_t)boot->memmap;
    return 0;
}
