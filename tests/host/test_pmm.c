/*
 * test_pmm.c: host unit test of the page allocator's bookkeeping
 * (kernel/mm/pmm.c compiled unchanged, with ASan and UBSan).
 */
// host-test-sources: kernel/mm/pmm.c
#include <stdint.h>
#include <stdlib.h>
#include "ktap_host.h"
#include "mm/pmm.h"

#define NPAGES 1000
#define PAGE   4096ull

static uint64_t bitmap[(NPAGES + 63) / 64];

/* Pages [1, NPAGES) usable except a hole [100, 200); page 0 is never usable. */
static void setup(void)
{
    pmm_setup(bitmap, NPAGES);
    pmm_add_free(0, 100 * PAGE);
    pmm_add_free(200 * PAGE, (NPAGES - 200) * PAGE);
}

static void test_counts_after_setup(void)
{
    setup();
    CHECK_EQ(pmm_free_pages(), 99 + 800);
    CHECK_EQ(pmm_total_pages(), 99 + 800);
    CHECK(pmm_is_used(0));
    CHECK(pmm_is_used(150 * PAGE));
    CHECK(!pmm_is_used(250 * PAGE));
}

static void test_partial_pages_are_not_free(void)
{
    pmm_setup(bitmap, NPAGES);
    pmm_add_free(10 * PAGE + 1, 3 * PAGE);      /* covers only pages 11 and 12 whole */
    CHECK_EQ(pmm_free_pages(), 2);
    CHECK(pmm_is_used(10 * PAGE));
    CHECK(!pmm_is_used(11 * PAGE));
    CHECK(pmm_is_used(13 * PAGE));
    pmm_reserve(12 * PAGE + 100, 1);            /* any byte reserves its page */
    CHECK_EQ(pmm_free_pages(), 1);
}

static void test_alloc_everything_unique(void)
{
    setup();
    static char seen[NPAGES];
    memset(seen, 0, sizeof(seen));
    size_t n = 0;
    for (uint64_t pa; (pa = pmm_alloc()) != 0; n++) {
        CHECK_EQ(pa % PAGE, 0);
        size_t i = pa / PAGE;
        CHECK(i < NPAGES && !(i >= 100 && i < 200));
        CHECK(!seen[i]);
        seen[i] = 1;
    }
    CHECK_EQ(n, 899);
    CHECK_EQ(pmm_free_pages(), 0);
    for (size_t i = 0; i < NPAGES; i++)
        if (seen[i])
            pmm_free(i * PAGE);
    CHECK_EQ(pmm_free_pages(), 899);
}

static void test_contig_skips_holes(void)
{
    setup();
    uint64_t pa = pmm_alloc_contig(150);        /* cannot fit below the hole */
    CHECK(pa >= 200 * PAGE);
    CHECK_EQ(pmm_free_pages(), 899 - 150);
    CHECK_EQ(pmm_alloc_contig(900), 0);
    pmm_free_contig(pa, 150);
    CHECK_EQ(pmm_free_pages(), 899);
}

static void test_random_alloc_free(void)
{
    setup();
    uint64_t held[NPAGES];
    size_t nheld = 0;
    for (int round = 0; round < 20000; round++) {
        if (nheld && (ktap_rand() % 3 == 0 || nheld == 899)) {
            size_t k = ktap_rand() % nheld;
            pmm_free(held[k]);
            held[k] = held[--nheld];
        } else {
            uint64_t pa = pmm_alloc();
            CHECK(pa != 0);
            for (size_t k = 0; k < nheld && pa; k++)
                if (held[k] == pa) {
                    CHECK(!"page handed out twice");
                    break;
                }
            held[nheld++] = pa;
        }
        if (pmm_free_pages() + nheld != 899) {
            CHECK_EQ(pmm_free_pages() + nheld, 899);
            break;
        }
    }
    while (nheld)
        pmm_free(held[--nheld]);
    CHECK_EQ(pmm_free_pages(), 899);
}

static const struct ktap_case cases[] = {
    KTAP_CASE(test_counts_after_setup),
    KTAP_CASE(test_partial_pages_are_not_free),
    KTAP_CASE(test_alloc_everything_unique),
    KTAP_CASE(test_contig_skips_holes),
    KTAP_CASE(test_random_alloc_free),
};

int main(void)
{
    return KTAP_RUN(cases);
}
