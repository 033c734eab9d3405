/* ktap.c: the user-space KTAP printer (see ktap.h for the format). */
#include <stdarg.h>
#include "ktap.h"
#include "stdio.h"

void ktap_begin(struct ktap *k, const char *suite, int ntests)
{
    *k = (struct ktap){ .suite = suite, .planned = ntests };
    printf("KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: %s\n    1..%d\n", suite, ntests);
}

void ktap_result(struct ktap *k, bool ok, const char *name)
{
    k->number++;
    k->failed += !ok;
    printf("    %s %d %s\n", ok ? "ok" : "not ok", k->number, name);
}

void ktap_skip(struct ktap *k, const char *name, const char *reason)
{
    k->number++;
    k->skipped++;
    printf("    ok %d %s # SKIP %s\n", k->number, name, reason);
}

void ktap_diag(const char *fmt, ...)
{
    char line[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    printf("    # %s\n", line);
}

int ktap_end(struct ktap *k)
{
    /* A plan that does not match the results is a failure, as in the harness. */
    bool ok = k->failed == 0 && k->number == k->planned;

    ktap_diag("%s: %d passed, %d failed, %d skipped", k->suite,
              k->number - k->failed - k->skipped, k->failed, k->skipped);
    printf("%s 1 %s\n%s: %s\n", ok ? "ok" : "not ok", k->suite, k->suite, ok ? "all passed" : "FAILED");
    return ok ? 0 : 1;
}
