/* The Xen version Xenith presents: xl info prints it, the VMM answers XENVER_version/extraversion/
 * capabilities with it.  One place, so the two never disagree. */
#ifndef XENITH_XEN_VERSION_H
#define XENITH_XEN_VERSION_H

#define XENITH_XEN_MAJOR 4
#define XENITH_XEN_MINOR 17
#define XENITH_XEN_EXTRA ".0-xenith"           /* XENVER_extraversion: at most 15 chars + NUL */
#define XENITH_XEN_VERSION "4.17.0-xenith"      /* major.minor extra, as xl info prints it */

/* XENVER_capabilities: no classic PV (xen-3.0-x86_64); PVH and HVM guests are hvm-* in Xen's terms. */
#define XENITH_XEN_CAPS "hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64"

#endif
