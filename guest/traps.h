/* Exceptions 0-31: every one prints where it happened and crashes the domain. */
#ifndef GUEST_TRAPS_H
#define GUEST_TRAPS_H

void traps_init(void);
/* Loads the IDT traps_init filled: a secondary CPU shares it (smp_ap.c). */
void traps_load(void);

#endif
