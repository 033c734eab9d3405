/*
 * kmalloc.h: kernel heap. Small objects come from power-of-two size classes
 * carved out of pages; large ones are whole contiguous pages. All memory is
 * reached through the direct map, so it is never part of a dynamic stack.
 */
#pragma once
#include <stddef.h>

void *kmalloc(size_t size);
void *kzalloc(size_t size);
void kfree(void *p);
/* Bytes currently handed out (for leak checks in tests). */
size_t kmalloc_in_use(void);
/* Pages the size classes hold (in use or on free lists); never given back. */
size_t kmalloc_slab_pages(void);
