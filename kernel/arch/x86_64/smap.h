/*
 * smap.h: boot-time patching of the stac/clac sites (cpu.h's SMAP_SITE and
 * smap.inc's ASM_CLAC/ASM_STAC) into NOPs on a CPU without SMAP.
 */
#pragma once
#include <stdbool.h>

/* BSP, before the first exception or uaccess can run: every site stays or becomes a NOP. */
void smap_patch_init(void);

/* Sites recorded, and how many were patched to NOPs (0 on a CPU with SMAP). */
extern int smap_sites, smap_patched;
