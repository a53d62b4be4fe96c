/*
 * An HVM domain from the inside, as PV-on-HVM drivers meet it (Linux: xen_platform_pci, the
 * unplug in arch/x86/xen/platform-pci-unplug.c; facts from Xen's docs/misc/hvm-emulated-unplug):
 *
 * 1. The 8259 PICs.  SeaBIOS leaves them running with the timer unmasked on vectors 8-15, which
 *    here are exception gates: the first `sti` for the event-channel upcall would take IRQ 0 as a
 *    double fault.  Both are set up again with every line masked and their vectors at 0xf8, so
 *    that the one thing a masked 8259 still delivers, its spurious IRQ 7 (15), lands on the
 *    spurious gate 0xff.  The IO-APIC's entries stay as the firmware left them: masked.
 * 2. The Xen platform device, 5853:0001, found by scanning bus 0 with configuration mechanism #1
 *    (0xcf8 address, 0xcfc data): it is what says PV drivers may run here.
 * 3. The unplug protocol on its fixed ports: magic 0x49d2 at 0x10 (16 bits), protocol version at
 *    0x12 (8 bits); for a version above 0, our product number at 0x12 (16 bits), our build number
 *    at 0x10 (32 bits), the magic read again (0xd249: these drivers are blacklisted, stay off);
 *    then the mask of emulated devices to unplug at 0x10 (16 bits): IDE disks and NICs, which the
 *    PV block and net frontends replace.  CD-ROMs stay (the disk GRUB booted from may be one).
 *
 * Ring 3 does all of it: its TSS allows every port (gdt.c).
 */
#include <stdint.h>
#include "console.h"
#include "hvm.h"
#include "klib.h"
#include "tests/tests.h"
#include "x86.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_ICW1_INIT_ICW4 0x11         /* edge, cascade, ICW4 follows */
#define PIC_VECTOR_BASE 0xf8            /* IRQ 7 and 15 on 0xff, the spurious gate */
#define PIC_ICW4_8086 0x01

#define PCI_CONFIG_ADDRESS 0xcf8
#define PCI_CONFIG_DATA 0xcfc
#define PCI_ENABLE 0x80000000u
#define PCI_SLOTS 32
#define PCI_FUNCTIONS 8
#define PCI_HEADER_TYPE 0x0c            /* the dword holding header type (bits 16-23) */
#define PCI_MULTIFUNCTION 0x800000u

#define XEN_PLATFORM_VENDOR 0x5853
#define XEN_PLATFORM_DEVICE 0x0001

#define UNPLUG_PORT_MAGIC 0x10
#define UNPLUG_PORT_VERSION 0x12
#define UNPLUG_MAGIC 0x49d2
#define UNPLUG_MAGIC_BLACKLISTED 0xd249
#define UNPLUG_IDE_DISKS 1
#define UNPLUG_NICS 2
#define GUEST_PRODUCT 0xffff            /* pvdrivers.h's "experimental": no released driver */
#define GUEST_BUILD 1

static void pic_quiet(void)
{
    outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC1_DATA, PIC_VECTOR_BASE);
    outb(PIC2_DATA, PIC_VECTOR_BASE);
    outb(PIC1_DATA, 1 << 2);            /* the slave hangs off IRQ 2 */
    outb(PIC2_DATA, 2);                 /* ... as cascade identity 2 */
    outb(PIC1_DATA, PIC_ICW4_8086);
    outb(PIC2_DATA, PIC_ICW4_8086);
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
}

static uint32_t pci_read32(unsigned int slot, unsigned int fn, unsigned int reg)
{
    outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | slot << 11 | fn << 8 | (reg & 0xfc));
    return inl(PCI_CONFIG_DATA);
}

/* Bus 0's first function with vendor:device; its slot << 3 | function, or -1. */
static int pci_find(uint16_t vendor, uint16_t device)
{
    for (unsigned int slot = 0; slot < PCI_SLOTS; slot++) {
        for (unsigned int fn = 0; fn < PCI_FUNCTIONS; fn++) {
            uint32_t id = pci_read32(slot, fn, 0);
            if ((id & 0xffff) == 0xffff) {
                if (fn == 0)
                    break;      /* no device in this slot */
                continue;
            }
            if (id == ((uint32_t)device << 16 | vendor))
                return (int)(slot << 3 | fn);
            if (fn == 0 && !(pci_read32(slot, 0, PCI_HEADER_TYPE) & PCI_MULTIFUNCTION))
                break;
        }
    }
    return -1;
}

static const char *unplug(char *why)
{
    uint16_t magic = inw(UNPLUG_PORT_MAGIC);

    if (magic != UNPLUG_MAGIC) {
        snprintf(why, WHY_SIZE, "port %#x reads %#x, not the unplug protocol's magic %#x",
                 UNPLUG_PORT_MAGIC, magic, UNPLUG_MAGIC);
        return why;
    }
    if (inb(UNPLUG_PORT_VERSION) != 0) {
        outw(UNPLUG_PORT_VERSION, GUEST_PRODUCT);
        outl(UNPLUG_PORT_MAGIC, GUEST_BUILD);
        magic = inw(UNPLUG_PORT_MAGIC);
        if (magic == UNPLUG_MAGIC_BLACKLISTED)
            return "the platform device blacklisted these drivers (product 0xffff build 1)";
        if (magic != UNPLUG_MAGIC) {
            snprintf(why, WHY_SIZE, "port %#x reads %#x after the build number", UNPLUG_PORT_MAGIC, magic);
            return why;
        }
    }
    outw(UNPLUG_PORT_MAGIC, UNPLUG_IDE_DISKS | UNPLUG_NICS);
    return NULL;
}

const char *hvm_init(char *why)
{
    pic_quiet();
    int devfn = pci_find(XEN_PLATFORM_VENDOR, XEN_PLATFORM_DEVICE);
    if (devfn < 0)
        return "no Xen platform device (PCI 5853:0001) on bus 0";
    const char *failure = unplug(why);
    if (failure)
        return failure;
    printk("hvm: platform device at 00:%02x.%x, unplugged emulated devices\n", (unsigned int)devfn >> 3,
           (unsigned int)devfn & 7);
    return NULL;
}
