/* The public API behind a remote procedure xenith-libvirtd does not serve, for libvirt's message
 * "this function is not supported by the connection driver: virNodeGetCPUStats". */
#ifndef XENITH_PROC_API_NAMES_H
#define XENITH_PROC_API_NAMES_H
#include <stdint.h>

/* "virNodeGetCPUStats" for REMOTE_PROC_NODE_GET_CPU_STATS, or NULL for a number not listed. */
const char *virt_proc_api_name(int32_t proc);
#endif
