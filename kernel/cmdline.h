/*
 * cmdline.h: the kernel command line, "key=value" words. Unknown keys and
 * bad values are reported on the console at boot; they never stop the boot.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

/* Copy the value of key into buf; false if the key is absent. */
bool cmdline_get(const char *key, char *buf, size_t n);
/* Numeric value of key, or def when absent or not a number (then warn). */
long cmdline_int(const char *key, long def);
/* Index of the key's value in choices[] (NULL-terminated), def when absent; warns on a bad value. */
int cmdline_choice(const char *key, const char *const choices[], int def);
/* Warn about keys no subsystem knows. */
void cmdline_check(void);
