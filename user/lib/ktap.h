/*
 * ktap.h: KTAP version 1 from user space, in the shape kernel/ktest.c prints
 * (one suite as a subtest of a one-line plan), so tests/harness.py reads a
 * user test program's output like the kernel's:
 *
 *   KTAP version 1
 *   1..1
 *       KTAP version 1
 *       # Subtest: <suite>
 *       1..N
 *       # <diagnostic>
 *       not ok 1 <test>
 *       ok 2 <test>
 *       ok 3 <test> # SKIP <reason>
 *   not ok 1 <suite>
 *   <suite>: FAILED                  (or "<suite>: all passed")
 *
 * The last line is for machines, as ktest's "ktest: all passed".
 */
#pragma once
#include <stdbool.h>

struct ktap {
    const char *suite;
    int planned, number, failed, skipped;
};

void ktap_begin(struct ktap *k, const char *suite, int ntests);
void ktap_result(struct ktap *k, bool ok, const char *name);
void ktap_skip(struct ktap *k, const char *name, const char *reason);

/* A "    # ..." line inside the suite: any process of the test program may print one. */
void ktap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Closes the suite and prints the final line; returns the exit status: 0 if nothing failed. */
int ktap_end(struct ktap *k);
