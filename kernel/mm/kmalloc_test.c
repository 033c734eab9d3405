/* kmalloc_test.c: in-kernel tests of the kernel heap (suite kmalloc). */
#include "ktest.h"
#include "lib/string.h"
#include "mm/kmalloc.h"
#include "mm/layout.h"

KTEST(kmalloc, small_objects_are_aligned_and_disjoint)
{
    enum { N = 64 };
    uint8_t *p[N];
    for (int i = 0; i < N; i++) {
        size_t size = 1 + (size_t)i * 29;
        p[i] = kmalloc(size);
        KREQUIRE(t, p[i]);
        KEXPECT_EQ(t, (uintptr_t)p[i] % 16, 0);
        memset(p[i], i, size);
    }
    for (int i = 0; i < N; i++) {
        size_t size = 1 + (size_t)i * 29;
        for (size_t k = 0; k < size; k++)
            if (p[i][k] != (uint8_t)i) {
                KEXPECT_EQ(t, p[i][k], i);
                break;
            }
    }
    for (int i = N - 1; i >= 0; i--)
        kfree(p[i]);
}

KTEST(kmalloc, large_allocations_are_whole_pages)
{
    size_t before = kmalloc_in_use();
    uint8_t *p = kmalloc(100 * 1024);
    KREQUIRE(t, p);
    KEXPECT(t, kmalloc_in_use() >= before + 100 * 1024);
    memset(p, 0x5a, 100 * 1024);
    KEXPECT_EQ(t, p[100 * 1024 - 1], 0x5a);
    kfree(p);
    KEXPECT_EQ(t, kmalloc_in_use(), before);
}

KTEST(kmalloc, kzalloc_zeroes)
{
    uint8_t *p = kmalloc(500);
    KREQUIRE(t, p);
    memset(p, 0xff, 500);
    kfree(p);
    uint8_t *q = kzalloc(500);      /* likely the same object again */
    KREQUIRE(t, q);
    int nonzero = 0;
    for (int i = 0; i < 500; i++)
        nonzero += q[i] != 0;
    KEXPECT_EQ(t, nonzero, 0);
    kfree(q);
}

KTEST(kmalloc, churn_keeps_contents)
{
    enum { N = 256 };
    uint32_t *p[N] = { 0 };
    uint32_t seed = 12345;
    for (int round = 0; round < 4000; round++) {
        seed = seed * 1103515245 + 12345;
        int i = (seed >> 8) % N;
        if (p[i]) {
            size_t words = p[i][0];
            for (size_t k = 1; k < words; k++)
                if (p[i][k] != (uint32_t)(uintptr_t)&p[i] + k) {
                    KEXPECT_EQ(t, p[i][k], (uint32_t)(uintptr_t)&p[i] + k);
                    return;
                }
            kfree(p[i]);
            p[i] = NULL;
        } else {
            size_t words = 2 + (seed >> 20) % 700;
            p[i] = kmalloc(words * 4);
            KREQUIRE(t, p[i]);
            p[i][0] = (uint32_t)words;
            for (size_t k = 1; k < words; k++)
                p[i][k] = (uint32_t)(uintptr_t)&p[i] + k;
        }
    }
    for (int i = 0; i < N; i++)
        kfree(p[i]);
}
