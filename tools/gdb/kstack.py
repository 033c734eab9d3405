# kstack.py: gdb commands that understand the kernel's data structures, after
# Linux's scripts/gdb. Loaded by tools/gdb/kstack.gdb (make debug).
import gdb


class KsHelp(gdb.Command):
    """List the kstack gdb commands."""

    def __init__(self):
        super().__init__("ks-help", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        for name, doc in sorted(COMMANDS.items()):
            print(f"  {name:12} {doc}")


class KsCpus(gdb.Command):
    """Show each online CPU: id, APIC id, current thread."""

    def __init__(self):
        super().__init__("ks-cpus", gdb.COMMAND_USER)

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
        super().__init__("ks-irq", gdb.COMMAND_USER)

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
        super().__init__("ks-sym", gdb.COMMAND_USER)

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


class KsThreads(gdb.Command):
    """List every thread: tid, name, state, CPU, process, stack slot, mapped stack pages."""

    def __init__(self):
        super().__init__("ks-threads", gdb.COMMAND_USER)

    def invoke(self, arg, from_tty):
        t = gdb.parse_and_eval("all_threads")
        print(f"{'tid':>5} {'name':24} {'state':16} {'cpu':>3} {'pid':>4} {'slot':18} mapped   hw")
        while int(t) != 0:
            proc = t["proc"]
            pid = int(proc["pid"]) if int(proc) != 0 else 0
            print(f"{int(t['tid']):>5} {t['name'].string():24} {str(t['state']):16} {int(t['cpu']):>3} "
                  f"{pid:>4} {int(t['kstack_base']):#018x} {int(t['kstack_mapped']):#010b} "
                  f"{int(t['kstack_high_water']):>2}")
            t = t["all_next"]


COMMANDS = {"ks-threads": KsThreads.__doc__.splitlines()[0],"ks-help": KsHelp.__doc__.splitlines()[0],
            "ks-cpus": KsCpus.__doc__.splitlines()[0],
            "ks-irq": KsIrq.__doc__.splitlines()[0],
            "ks-sym": KsSym.__doc__.splitlines()[0]}
KsHelp()
KsCpus()
KsIrq()
KsSym()
KsThreads()
