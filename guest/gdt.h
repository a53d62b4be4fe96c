/* Segments and the TSS: what the CPU needs to run ring 3 and to trap back to ring 0. */
#ifndef GUEST_GDT_H
#define GUEST_GDT_H

void gdt_init_tss(void);

#endif
