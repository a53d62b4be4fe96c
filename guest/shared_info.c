#include <stddef.h>
#include "shared_info.h"

struct shared_info *shared_info;
struct vcpu_info *vcpu_info;
int vcpu_info_registered;

/* In the image (bss): Xen replaces whatever RAM backs them, so they must be pages of their own. */
static uint8_t shared_info_page[4096] __attribute__((aligned(4096)));
static uint8_t vcpu_info_page[4096] __attribute__((aligned(4096)));

static int place(void)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = virt_to_pfn(shared_info_page),
    };
    long rc = memory_op(XENMEM_add_to_physmap, &xatp);

    if (rc)
        return (int)rc;
    shared_info = (struct shared_info *)shared_info_page;
    vcpu_info = &shared_info->vcpu_info[0];

    struct vcpu_register_vcpu_info reg = { .mfn = virt_to_pfn(vcpu_info_page), .offset = 0 };
    if (vcpu_op(VCPUOP_register_vcpu_info, 0, &reg) == 0) {
        vcpu_info = (struct vcpu_info *)vcpu_info_page;
        vcpu_info_registered = 1;
    }
    return 0;
}

int shared_info_init(void)
{
    return place();
}

int shared_info_resume(void)
{
    if (!shared_info)
        return 1;
    /* The pointers keep naming the old domain's frozen copy (RAM of ours, harmless to touch: the
     * callback-vector upcall writes vcpu_info) until place() points them at the live pages. */
    vcpu_info_registered = 0;
    return place();
}

int hvm_get_param(uint32_t index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
    long rc = hvm_op(HVMOP_get_param, &p);

    if (!rc)
        *value = p.value;
    return (int)rc;
}

int hvm_set_param(uint32_t index, uint64_t value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index, .value = value };

    return (int)hvm_op(HVMOP_set_param, &p);
}
