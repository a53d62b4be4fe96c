/* Exceptions 0-31: every one prints where it happened and crashes the domain. */
#ifndef GUEST_TRAPS_H
#define GUEST_TRAPS_H

void traps_init(void);

#endif
