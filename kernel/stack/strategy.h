/*
 * strategy.h: how user threads' kernel stacks are populated
 * (docs/DESIGN.md section 5), chosen at boot with kstack=:
 *   fixed  all 4 pages mapped for the thread's whole life (today's Linux);
 *   eager  only the top page at rest; enter_from_user_mode() maps the three
 *          lower pages from the per-CPU cache, exit_to_user_mode() unmaps them.
 * Kernel threads always have all 16 KiB. Every strategy shares the slot
 * allocator, the page cache and the accounting.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "uapi/kstat.h"

enum kstack_strategy { KSTACK_FIXED, KSTACK_EAGER };
extern enum kstack_strategy kstack_strategy;
extern const char *const kstack_strategy_names[];

struct thread;

void kstack_strategy_init(void);
/* A slot for a new user thread with the pages it keeps at rest: 0, -EAGAIN (no free slot) or -ENOMEM. */
int kstack_alloc_user(uintptr_t *base);
/* Pages a user thread has mapped while in user mode. */
int kstack_pages_at_rest(void);

/*
 * IRQs off, first thing on entry from user mode / last thing before the return.
 * kstack_expand() never sleeps and never panics: -ENOMEM when no page was to
 * be had, and the thread then has its top page only (counted: expand_failed).
 */
int kstack_expand(struct thread *t);
void kstack_shrink(struct thread *t);
/* A dead thread's expansion back to the cache (it never reached exit_to_user_mode); off every CPU. */
void kstack_thread_exit(struct thread *t);
/* IRQs off, the very last step before the return to user mode: remembers the cache level. */
void kstack_return_to_user(void);

/* Map pages below the current ones until `bytes` remain below RSP (up to 32 KiB of stack). */
int kstack_ensure(size_t bytes);

/* Accounting (account.c). */
void kstack_fill_kstat(struct kstat *k);
void kstack_print_kstat(const char *why);
