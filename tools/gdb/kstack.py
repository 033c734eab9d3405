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


COMMANDS = {"ks-help": KsHelp.__doc__.splitlines()[0],
            "ks-cpus": KsCpus.__doc__.splitlines()[0],
            "ks-sym": KsSym.__doc__.splitlines()[0]}
KsHelp()
KsCpus()
KsSym()
