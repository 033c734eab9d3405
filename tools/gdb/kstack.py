# kstack.py: gdb commands that understand the kernel's data structures, after
# Linux's scripts/gdb. Loaded by tools/gdb/kstack.gdb (make debug) and by
# tests/gdb/kstack.gdb (the harness's gdb-kstack unit). gdb's own Python: it
# reads the kernel's memory through the stub and never writes it.
import json

import gdb

# Constants the kernel keeps in #defines, which gdb cannot see (the kernel is
# built with -g, not -g3). Mirrored here; the harness's gdb-kstack unit checks
# the cache watermarks against kernel/stack/cache.h, and ks-kstat's equality
# with the kernel's KSTAT line checks the rest.
PAGE_SIZE = 4096                    # mm/layout.h
DIRECT_MAP_BASE = 0xffff800000000000  # mm/layout.h: phys_to_virt()
PTE_P, PTE_A, PTE_PS = 1 << 0, 1 << 5, 1 << 7   # mm/vmm.h
PTE_ADDR = 0x000ffffffffff000       # mm/vmm.h
KSTACK_SLOT_SIZE = 64 * 1024        # stack/kstack.h
KSTACK_PAGES = 4                    # stack/kstack.h: THREAD_SIZE / PAGE_SIZE
KSTACK_ENSURE_PAGES = 8             # stack/strategy.h: the 16 KiB stack and the ensure area below it
KSTACK_CACHE_LOW = 8                # stack/cache.h: refill below this ...
KSTACK_CACHE_HIGH = 48              # ... drain above this ...
KSTACK_CACHE_TARGET = 24            # ... to this
# switch.asm: a switched-out stack from its saved RSP up: rflags, r15, r14,
# r13, r12, rbx, rbp, return address.
SWITCH_RBP, SWITCH_RET = 6 * 8, 7 * 8
BACKTRACE_MAX = 32


# ---------------------------------------------------------------- memory and symbols

def ev(expr):
    return gdb.parse_and_eval(expr)


def static(file, name):
    """A file-scope static: 'file'::name, so a name used in several files is the right one."""
    return ev(f"'{file}'::{name}")


def read_u64s(addr, n):
    data = bytes(gdb.selected_inferior().read_memory(addr, 8 * n))
    return [int.from_bytes(data[8 * i:8 * i + 8], "little") for i in range(n)]


def ncpus():
    return int(ev("ncpus"))


def strategy_name():
    return ev("kstack_ops")["name"].string()


def state_name(t):
    return str(t["state"]).removeprefix("THREAD_")


def threads():
    """Every thread of the kernel's list (thread.c's all_threads; idle threads are not on it)."""
    t = static("thread.c", "all_threads")
    while int(t) != 0:
        yield t
        t = t["all_next"]


def find_thread(tid):
    for t in threads():
        if int(t["tid"]) == tid:
            return t
    return None


def counted(t):
    """What kstack_fill_kstat() counts: not dead, and with a slot."""
    return state_name(t) != "DEAD" and int(t["kstack_base"]) != 0


def page_va(base, i):
    """kstack_page_va(): page i of a slot, counted from the top."""
    return base + KSTACK_SLOT_SIZE - (i + 1) * PAGE_SIZE


def symbolize(pc, is_return=True):
    """`func at file:line` for a code address; a return address is looked up at pc - 1, the call."""
    look = pc - 1 if is_return and pc else pc
    name, where = None, ""
    try:
        block = gdb.block_for_pc(look)
        while block is not None and block.function is None:
            block = block.superblock
        if block is not None:
            name = block.function.print_name
        sal = gdb.find_pc_line(look)
        if sal.symtab is not None and sal.line:
            where = f" at {sal.symtab.filename}:{sal.line}"
    except RuntimeError:
        pass
    if name is None:
        # Assembly (switch.asm, isr.asm) has lines but no function blocks: the ELF symbol.
        text = gdb.execute(f"info symbol {look:#x}", to_string=True).strip()
        name = text.split(" in section")[0].replace(" + ", "+") if not text.startswith("No symbol") else "??"
    return f"{name}{where}"


class PageTables:
    """vmm_pte(kernel_pml4, va, false) in Python, each table read once per command."""

    def __init__(self):
        self.pml4 = int(ev("(unsigned long)kernel_pml4"))
        self.tables = {}

    def entry(self, table, index):
        if table not in self.tables:
            self.tables[table] = read_u64s(table, 512)
        return self.tables[table][index]

    def pte(self, va):
        """The PTE of va (without PTE_P when nothing is mapped there), or None when no page table covers it."""
        table = self.pml4
        for level in (3, 2, 1):
            e = self.entry(table, (va >> (12 + 9 * level)) & 511)
            if not e & PTE_P or e & PTE_PS:
                return None
            table = (e & PTE_ADDR) + DIRECT_MAP_BASE
        return self.entry(table, (va >> 12) & 511)


def slot_ptes(t):
    """PTEs of pages 0..KSTACK_ENSURE_PAGES-1 of t's slot, read through t->kstack_ptes
    (page i's PTE is kstack_ptes[-i]); None when the thread has no slot or no PTE pointer."""
    ptes = int(t["kstack_ptes"])
    if not int(t["kstack_base"]) or not ptes:
        return None
    return list(reversed(read_u64s(ptes - 8 * (KSTACK_ENSURE_PAGES - 1), KSTACK_ENSURE_PAGES)))


def mask_of(ptes):
    return sum(1 << i for i, pte in enumerate(ptes) if pte & PTE_P)


# ---------------------------------------------------------------- CPUs and their gdb threads

def gdb_thread_of_cpu(cpu):
    """The gdb thread (QEMU vCPU) that is kernel CPU `cpu`: the one whose GS base (or, in
    user mode, KERNEL_GS_BASE) is &cpus[cpu]; else QEMU's numbering (vCPU i is thread i + 1)."""
    want = int(ev(f"(unsigned long)&cpus[{cpu}]"))
    inferior = gdb.selected_inferior()
    selected = gdb.selected_thread()
    found = None
    try:
        for th in inferior.threads():
            th.switch()
            try:
                bases = [int(ev(f"(unsigned long)${r}")) for r in ("gs_base", "k_gs_base")]
            except gdb.error:
                bases = []
            if want in bases:
                found = th
                break
    finally:
        if selected is not None:
            selected.switch()
    if found is None:
        found = next((th for th in inferior.threads() if th.num == cpu + 1), None)
    return found


def cpu_of_selected_thread():
    """The kernel CPU gdb's selected thread is, by its GS base (None if it is no kernel CPU)."""
    bases = []
    for r in ("gs_base", "k_gs_base"):
        try:
            bases.append(int(ev(f"(unsigned long)${r}")))
        except gdb.error:
            pass
    for i in range(ncpus()):
        if int(ev(f"(unsigned long)&cpus[{i}]")) in bases:
            return i
    th = gdb.selected_thread()
    return th.num - 1 if th is not None and th.num - 1 < ncpus() else None


# ---------------------------------------------------------------- commands

class KsHelp(gdb.Command):
    """List the kstack gdb commands."""

    def __init__(self):
        self.name = "ks-help"
        super().__init__(self.name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        for name, doc in sorted(COMMANDS.items()):
            print(f"  {name:12} {doc}")


class KsCpus(gdb.Command):
    """Show each online CPU: id, APIC id, current thread."""

    def __init__(self):
        self.name = "ks-cpus"
        super().__init__(self.name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        n = int(gdb.parse_and_eval("ncpus"))
        for i in range(n):
            c = gdb.parse_and_eval(f"cpus[{i}]")
            cur = c["current"]
            print(f"cpu {i}: apic {int(c['apic_id'])} online {int(c['online'])} "
                  f"current {cur} irq_count {int(c['irq_count'])} ticks {int(c['timer_ticks'])}")


class KsIrq(gdb.Command):
    """Show interrupt, IPI and TLB-shootdown counts per CPU, and the APIC timer setup."""

    def __init__(self):
        self.name = "ks-irq"
        super().__init__(self.name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        mode = "x2APIC" if int(gdb.parse_and_eval("apic_x2apic")) else "xAPIC"
        tsc = int(gdb.parse_and_eval("tsc_hz"))
        print(f"{mode}, timer {int(gdb.parse_and_eval('apic_timer_hz'))} Hz, tsc {tsc / 1e6:.3f} MHz, "
              f"APs started in {int(gdb.parse_and_eval('smp_bringup_us')) / 1000:.3f} ms")
        fields = ["irq_count", "timer_ticks", "ipis_received", "tlb_shootdowns", "tlb_shootdown_ipis",
                  "irq_spurious", "irq_unexpected", "apic_errors"]
        print("cpu apic " + " ".join(fields))
        for i in range(int(gdb.parse_and_eval("ncpus"))):
            c = gdb.parse_and_eval(f"cpus[{i}]")
            print(f"{i:3} {int(c['apic_id']):4} " + " ".join(f"{int(c[f]):{len(f)}}" for f in fields))


class KsSym(gdb.Command):
    """ks-sym ADDR: the kernel's own symbolization of ADDR (as in its oops reports)."""

    def __init__(self):
        self.name = "ks-sym"
        super().__init__(self.name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        addr = int(gdb.parse_and_eval(arg))
        count = int(gdb.parse_and_eval("ksyms_count"))
        table = gdb.parse_and_eval("ksyms_table")
        lo, hi = 0, count
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if int(table[mid]["addr"]) <= addr:
                lo = mid
            else:
                hi = mid
        if count == 0 or int(table[lo]["addr"]) > addr:
            print(hex(addr))
            return
        print(f"{table[lo]['name'].string()}+{addr - int(table[lo]['addr']):#x}")


def strategy_line():
    ops = ev("kstack_ops")
    flags = [f"{int(ops['pages_at_rest'])} page(s) at rest"]
    flags += [what for field, what in (("uses_cache", "per-CPU cache"), ("keeps_pages", "keeps pages across exits"),
                                        ("grows_on_fault", "#PF on its IST stack")) if int(ops[field])]
    return f"strategy {ops['name'].string()} ({str(ev('kstack_strategy'))}): " + ", ".join(flags)


class KsThreads(gdb.Command):
    """List every thread: tid, name, state, CPU, process, stack slot, resident stack pages, high-water mark."""

    def __init__(self):
        self.name = "ks-threads"
        super().__init__(self.name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        print(strategy_line())
        print(f"{'tid':>5} {'name':20} {'state':8} {'cpu':>3} {'pid':>4} {'slot':18} {'res':>3} "
              f"{'ptes':10} {'mapped':10} {'hw':>2}")
        nuser = nkernel = resident = 0
        disagree = []
        for t in threads():
            proc = t["proc"]
            pid = int(proc["pid"]) if int(proc) != 0 else 0
            ptes = slot_ptes(t)
            mapped = int(t["kstack_mapped"])
            if ptes is None:
                res, pmask, mark = 0, 0, " "
            else:
                pmask = mask_of(ptes)
                res = bin(pmask).count("1")
                mark = " " if pmask == mapped else "!"
                if pmask != mapped:
                    disagree.append(int(t["tid"]))
            print(f"{int(t['tid']):>5} {t['name'].string()[:20]:20} {state_name(t):8} {int(t['cpu']):>3} "
                  f"{pid:>4} {int(t['kstack_base']):#018x} {res:>3} {pmask:#010b}{mark}{mapped:#010b} "
                  f"{int(t['kstack_high_water']):>2}")
            if counted(t):
                nuser += pid != 0
                nkernel += pid == 0
                resident += res
        print(f"total: {nuser + nkernel} threads ({nuser} user, {nkernel} kernel), {resident} resident stack pages "
              f"(fixed would hold {(nuser + nkernel) * KSTACK_PAGES}); dead threads not counted")
        print("res and ptes: from the slot's PTEs (kstack_ptes[-i]); mapped: the thread's kstack_mapped bits"
              + (f"; they disagree (!) for tids {disagree}" if disagree else "; they agree"))


def walk(rbp, base, ptes):
    """Return addresses up the frame-pointer chain from rbp, and why the walk stopped."""
    top = base + KSTACK_SLOT_SIZE
    rets, prev = [], 0
    while len(rets) < BACKTRACE_MAX:
        if rbp == 0:
            return rets, "end of the frame chain (a zero frame pointer)"
        if rbp & 7 or not base <= rbp < top - 8:
            return rets, f"frame pointer {rbp:#x} is outside the slot"
        if rbp <= prev:
            return rets, f"frame pointer {rbp:#x} does not move up the stack"
        for addr in (rbp, rbp + 8):
            page = (top - 1 - addr) // PAGE_SIZE
            if page >= KSTACK_ENSURE_PAGES or not ptes[page] & PTE_P:
                return rets, f"frame pointer {rbp:#x} is in page {page} of the slot, which is not mapped"
        prev = rbp
        rbp, ret = read_u64s(rbp, 2)
        if ret == 0:
            return rets, "end of the frame chain (a zero return address)"
        rets.append(ret)
    return rets, f"stopped after {BACKTRACE_MAX} frames"


class KsStack(gdb.Command):
    """ks-stack [TID]: a thread's stack slot, its pages and frames, and its backtrace (default: the thread on gdb's CPU)."""

    def __init__(self):
        self.name = "ks-stack"
        super().__init__(self.name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        arg = arg.strip()
        if arg:
            t = find_thread(int(ev(arg)))
            if t is None:
                raise gdb.GdbError(f"ks-stack: no thread {arg} on the thread list (ks-threads lists them)")
        else:
            cpu = cpu_of_selected_thread()
            if cpu is None:
                raise gdb.GdbError("ks-stack: gdb's selected thread is no kernel CPU; name a tid")
            t = ev(f"cpus[{cpu}].current")
            if int(t) == 0:
                raise gdb.GdbError(f"ks-stack: cpu {cpu} has no current thread yet (its scheduler has not started)")
        base = int(t["kstack_base"])
        proc = t["proc"]
        who = f"user, pid {int(proc['pid'])}" if int(proc) else "kernel"
        print(f"thread {int(t['tid'])} ({t['name'].string()}, {who}): {state_name(t)}, "
              f"{'on' if int(t['on_cpu']) else 'last on'} cpu {int(t['cpu'])}")
        if not base:
            print("no stack slot (the boot CPU's idle thread runs on the boot stack in .bss)")
            return
        top = base + KSTACK_SLOT_SIZE
        print(f"slot {base:#x}-{top:#x}: stack {top - KSTACK_PAGES * PAGE_SIZE:#x}-{top:#x}, ensure area "
              f"{top - KSTACK_ENSURE_PAGES * PAGE_SIZE:#x}-{top - KSTACK_PAGES * PAGE_SIZE:#x}, guard below")
        ptes = slot_ptes(t)
        walked = PageTables()
        if ptes is None:
            ptes = [walked.pte(page_va(base, i)) or 0 for i in range(KSTACK_ENSURE_PAGES)]
        mapped = int(t["kstack_mapped"])
        for i in range(KSTACK_ENSURE_PAGES):
            pte, other = ptes[i], walked.pte(page_va(base, i)) or 0
            if i >= KSTACK_PAGES and not pte & PTE_P and not mapped & (1 << i):
                continue            # the ensure area: only the pages kstack_ensure() mapped
            state = f"mapped   frame {pte & PTE_ADDR:#012x}" + (" accessed" if pte & PTE_A else "") \
                if pte & PTE_P else "not mapped"
            notes = [] if bool(pte & PTE_P) == bool(mapped & (1 << i)) else ["kstack_mapped says otherwise"]
            if other != pte:
                notes.append(f"page walk from kernel_pml4 finds {other:#x}")
            print(f"  page {i} {page_va(base, i):#x}: {state}" + (f" ({'; '.join(notes)})" if notes else ""))
        pmask = mask_of(ptes)
        print(f"resident: {bin(pmask).count('1')} pages (ptes {pmask:#010b}, kstack_mapped {mapped:#010b}, "
              f"at rest {int(t['kstack_at_rest']):#010b}, high water {int(t['kstack_high_water'])})")
        if state_name(t) == "RUNNING" and int(t["on_cpu"]):
            self.running(t, base, ptes)
        else:
            self.saved(t, base, ptes)

    @staticmethod
    def saved(t, base, ptes):
        rsp = int(t["saved_rsp"])
        top = base + KSTACK_SLOT_SIZE
        page = (top - 1 - rsp) // PAGE_SIZE
        print(f"saved RSP {rsp:#x} (page {page}, {top - rsp} bytes below the slot top), left by switch_to")
        if not base <= rsp <= top - SWITCH_RET - 8 or page >= KSTACK_ENSURE_PAGES or not ptes[page] & PTE_P \
                or not ptes[(top - 1 - (rsp + SWITCH_RET)) // PAGE_SIZE] & PTE_P:
            print("backtrace: the saved context is not on a mapped page of the slot")
            return
        rbp, ret = read_u64s(rsp + SWITCH_RBP, 2)
        print("backtrace (frame pointers from the saved context):")
        print(f"  #0  switch_to: rflags, r15-r12, rbx at {rsp:#x}, rbp {rbp:#x}")
        print(f"  #1  {ret:#018x} in {symbolize(ret)}")
        rets, why = walk(rbp, base, ptes)
        for n, pc in enumerate(rets, 2):
            print(f"  #{n:<2} {pc:#018x} in {symbolize(pc)}")
        print(f"  ({why})")

    @staticmethod
    def running(t, base, ptes):
        cpu = int(t["cpu"])
        th = gdb_thread_of_cpu(cpu)
        if th is None:
            print(f"running on cpu {cpu}: gdb has no thread for that CPU, so no registers")
            return
        selected = gdb.selected_thread()
        try:
            th.switch()
            rsp, rip, cs = (int(ev(f"(unsigned long)${r}")) for r in ("rsp", "rip", "cs"))
            print(f"running on cpu {cpu} (gdb thread {th.num}): rip {rip:#x}, rsp {rsp:#x}")
            if cs & 3:
                print("  in user mode: no kernel frames (its stack holds only what it keeps at rest)")
                return
            top = base + KSTACK_SLOT_SIZE
            if not base <= rsp < top:
                print("  RSP is outside the thread's slot (an IRQ or IST stack): frames as gdb unwinds them")
            print("backtrace (gdb's unwinder on that CPU's registers):")
            frame, n = gdb.newest_frame(), 0
            while frame is not None and n < BACKTRACE_MAX:
                pc = frame.pc()
                if pc == 0:
                    print("  (end of the frame chain (a zero return address))")
                    break
                print(f"  #{n:<2} {pc:#018x} in {symbolize(pc, is_return=n > 0)}")
                try:
                    frame = frame.older()
                except gdb.error as e:
                    print(f"  (unwinding stopped: {e})")
                    break
                n += 1
        finally:
            if selected is not None:
                selected.switch()


class KsCache(gdb.Command):
    """Show each CPU's stack page cache: level, watermarks, take/give/refill/drain/empty, fault reserve."""

    def __init__(self):
        self.name = "ks-cache"
        super().__init__(self.name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        caches = ev("kstack_caches")
        cap = caches[0]["page"].type.range()[1] + 1      # KSTACK_CACHE_CAP, from the array's type
        try:
            reserves = static("fault.c", "reserves")
        except gdb.error:
            reserves = None
        print(strategy_line())
        print(f"watermarks: low {KSTACK_CACHE_LOW} high {KSTACK_CACHE_HIGH} target {KSTACK_CACHE_TARGET} cap {cap} "
              f"(stack/cache.h; low/high/target mirrored in tools/gdb/kstack.py)")
        fields = ["take", "give", "refill", "drain", "empty"]
        print(f"{'cpu':>5} {'count':>5} {'at_exit':>7} " + " ".join(f"{f:>10}" for f in fields) + f" {'reserve':>7}")
        total = dict.fromkeys(["count", "reserve", *fields], 0)
        for i in range(ncpus()):
            c = caches[i]
            row = {f: int(c[f]) for f in ["count", *fields]}
            row["reserve"] = int(reserves[i]["count"]) if reserves is not None else 0
            level = row["count"]
            note = " below low" if level < KSTACK_CACHE_LOW else " above high" if level > KSTACK_CACHE_HIGH else ""
            print(f"{i:>5} {level:>5} {int(c['count_at_exit']):>7} " + " ".join(f"{row[f]:>10}" for f in fields)
                  + f" {row['reserve']:>7}{note}")
            for k in total:
                total[k] += row[k]
        print(f"{'total':>5} {total['count']:>5} {'':>7} " + " ".join(f"{total[f]:>10}" for f in fields)
              + f" {total['reserve']:>7}")
        print(f"conservation: refill + give + empty - take - drain = "
              f"{total['refill'] + total['give'] + total['empty'] - total['take'] - total['drain']}, "
              f"cached {total['count']}")


def kstat_from_memory():
    """kstack_fill_kstat() and kstack_print_kstat() in Python: the same numbers, the same keys, in the same order."""
    tables = PageTables()
    nuser = nkernel = resident = 0
    for t in threads():
        if not counted(t):
            continue
        if int(t["proc"]):
            nuser += 1
        else:
            nkernel += 1
        base = int(t["kstack_base"])
        resident += sum(1 for i in range(KSTACK_ENSURE_PAGES) if (tables.pte(page_va(base, i)) or 0) & PTE_P)
    n = ncpus()
    caches, stats, cpus = ev("kstack_caches"), ev("kstack_stats"), ev("cpus")
    hist_len = stats[0]["pages_used_hist"].type.range()[1] + 1
    sums = {k: 0 for k in ["count", "take", "give", "refill", "drain", "empty", "expands", "shrinks",
                           "expand_failed", "faults", "switch_in_waits", "switch_faults", "invlpgs",
                           "irqs_resent", "restarts", "restart_refused", "nmis"]}
    hist = [0] * hist_len
    for i in range(n):
        for k in ["count", "take", "give", "refill", "drain", "empty"]:
            sums[k] += int(caches[i][k])
        for k in ["expands", "shrinks", "expand_failed", "faults", "switch_in_waits", "switch_faults", "invlpgs",
                  "irqs_resent", "restarts", "restart_refused"]:
            sums[k] += int(stats[i][k])
        sums["nmis"] += int(cpus[i]["nmis"])
        for h in range(hist_len):
            hist[h] += int(stats[i]["pages_used_hist"][h])
    reserves = static("fault.c", "reserves")
    return {
        "why": "gdb", "strategy": strategy_name(), "cpus": n, "user_threads": nuser, "kernel_threads": nkernel,
        "resident_stack_pages": resident, "fixed_equivalent_pages": (nuser + nkernel) * KSTACK_PAGES,
        "cache_pages": sums["count"], "expands": sums["expands"], "shrinks": sums["shrinks"], "faults": sums["faults"],
        "expand_failed": sums["expand_failed"], "cache_take": sums["take"], "cache_give": sums["give"],
        "cache_refill": sums["refill"], "cache_drain": sums["drain"], "cache_empty": sums["empty"],
        "tlb_invalidations": int(ev("kstack_tlb_invalidations")), "tlb_stale_reads": int(ev("kstack_tlb_stale_reads")),
        "migrations": int(static("sched.c", "total_migrations")), "free_pages": int(static("pmm.c", "nfree")),
        "threads_max": int(ev("process_threads_max")), "threads_max_process": int(ev("process_threads_max_per_process")),
        "nmis": sums["nmis"], "reserve_pages": sum(int(reserves[i]["count"]) for i in range(n)),
        "switch_in_waits": sums["switch_in_waits"], "switch_faults": sums["switch_faults"],
        "stack_invlpgs": sums["invlpgs"], "irqs_resent": sums["irqs_resent"], "restarts": sums["restarts"],
        "restart_refused": sums["restart_refused"], "check_rounds": int(ev("kstack_check_rounds")),
        "pages_used_hist": hist,
    }


class KsKstat(gdb.Command):
    """Print the kernel's KSTAT numbers computed from memory, as one `KSTAT-GDB {json}` line."""

    def __init__(self):
        self.name = "ks-kstat"
        super().__init__(self.name, gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        print("KSTAT-GDB " + json.dumps(kstat_from_memory(), separators=(",", ":")))


# name -> (class, first line of its docstring): ks-help's list.
COMMANDS = {}
for cls in (KsHelp, KsCpus, KsIrq, KsSym, KsThreads, KsStack, KsCache, KsKstat):
    COMMANDS[cls().name] = cls.__doc__.splitlines()[0]
