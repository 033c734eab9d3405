/*
 * smap.c: stac and clac are #UD on a CPU without SMAP (QEMU's qemu64, older
 * hardware). Every site is recorded in .smap_sites; on such a CPU each
 * 3-byte instruction becomes the 3-byte NOP 0f 1f 00, as Linux's alternatives do.
 */
#include "arch/x86_64/smap.h"
#include "arch/x86_64/cpu.h"
#include "lib/string.h"
#include "mm/layout.h"
#include "mm/uaccess.h"
#include "mm/vmm.h"
#include "panic.h"
#include "printk.h"
#include "sched/sched.h"
#include "syscall.h"
#include "uapi/errno.h"

extern const uint64_t _smap_sites_start[], _smap_sites_end[];

int smap_sites, smap_patched;

static const uint8_t insn_clac[3] = { 0x0f, 0x01, 0xca };
static const uint8_t insn_stac[3] = { 0x0f, 0x01, 0xcb };
static const uint8_t insn_nop3[3] = { 0x0f, 0x1f, 0x00 };

void smap_patch_init(void)
{
    uint32_t a, b, c, d;
    cpuid(0, 0, &a, &b, &c, &d);
    bool has_smap = false;
    if (a >= 7) {
        cpuid(7, 0, &a, &b, &c, &d);
        has_smap = b & (1u << 20);
    }
    for (const uint64_t *s = _smap_sites_start; s < _smap_sites_end; s++) {
        const uint8_t *insn = (const uint8_t *)*s;
        KASSERT(memcmp(insn, insn_clac, 3) == 0 || memcmp(insn, insn_stac, 3) == 0);
        smap_sites++;
        if (has_smap)
            continue;
        /* Text is mapped read-only; the direct map (the boot tables have one too) is writable. */
        memcpy(phys_to_virt(virt_to_phys(insn)), insn_nop3, 3);
        smap_patched++;
    }
    /* Code written through another linear address: serialize before any patched site runs. */
    cpuid(0, 0, &a, &b, &c, &d);
    printk("smap: %s; %d stac/clac sites, %d patched to NOPs\n", has_smap ? "present" : "absent", smap_sites,
           smap_patched);
}

/*
 * testsys: yield `rounds` times from inside a syscall. Each time this thread
 * is switched back in, the kernel must run with AC clear and (with SMAP) a
 * plain read of the user byte at uaddr must fault: a thread that spins in
 * user mode with AC set (entrytests' smap_ac_spinner) must not open SMAP
 * for its interrupt handlers or for whoever runs after it. Returns the rounds
 * that broke either rule.
 */
long sys_test_smap(uint64_t uaddr, uint64_t rounds)
{
    uint8_t v;
    if (rounds > 100000)
        return -EINVAL;
    if (copy_from_user(&v, (const void *)uaddr, 1))   /* present, and readable with stac */
        return -EFAULT;
    long bad = 0;
    for (uint64_t i = 0; i < rounds; i++) {
        sched_yield();
        bool ac = read_rflags() & RFLAGS_AC;
        bool read = cpu_has_smap && probe_read_u8((const void *)uaddr, &v) == -1;
        if (ac || read)
            bad++;
    }
    return bad;
}
