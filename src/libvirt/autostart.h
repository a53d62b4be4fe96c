/* Autostart (docs/libvirt.md): once per host boot, as libvirtd does, xenith-libvirtd starts every
 * defined domain marked autostart (virsh autostart) that is not running.  Once per boot is a marker
 * file, <rundir>/libvirt-autostarted: the run directory is a tmpfs that a reboot empties, so a daemon
 * restarted later finds the marker and leaves alone the domains a user has stopped since. */
#ifndef XENITH_VIRT_AUTOSTART_H
#define XENITH_VIRT_AUTOSTART_H

struct virt_host;

/* Starts what autostart asks for, unless done already this boot; each start, skip and failure is
 * logged with the domain's name and why.  Each start may take up to xl's spawn bound (XL_READY_MS). */
void virt_autostart(struct virt_host *h);

#endif
