/* Xen's public ABI, from Debian's libxen-dev: they need <stdint.h> first and the interface version
 * (set in the Makefile). */
#ifndef XENITH_XEN_PUBLIC_H
#define XENITH_XEN_PUBLIC_H

#include <stdint.h>
#include <xen/xen.h>
#include <xen/version.h>
#include <xen/sched.h>
#include <xen/errno.h>
#include <xen/elfnote.h>
#include <xen/arch-x86/hvm/start_info.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/vcpu.h>
#include <xen/hvm/params.h>
#include <xen/hvm/hvm_op.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>

#endif
