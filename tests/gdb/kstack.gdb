# tests/gdb/kstack.gdb: the harness's gdb-kstack unit (tests/harness.py). The kernel boots with
# init=stackdemo testsys=1 kstat_every=300 on one CPU; the harness connects first (target remote).
# Stop in kstat_line_printed() (IRQs still off after a KSTAT line) once stackdemo's second phase runs
# (sleepers and deep callers: more than 90 user threads), then run every kstack command. The harness
# compares their output with the last KSTAT line on the serial console, the one printed at the stop.
set pagination off
set confirm off
source tools/gdb/kstack.py
# $blocked_user_threads(): for the condition below (right after phase 2 starts, its threads may
# all still wait on the run queue, and a blocked user thread is what ks-stack must walk).
python
class BlockedUserThreads(gdb.Function):
    """$blocked_user_threads(): user threads blocked in the kernel."""
    def __init__(self):
        super().__init__("blocked_user_threads")
    def invoke(self):
        return sum(1 for t in threads() if int(t["proc"]) and state_name(t) == "BLOCKED")
BlockedUserThreads()
end
# A hardware breakpoint: the kernel's pages are not mapped yet while QEMU waits at reset.
hbreak kstat_line_printed if k->user_threads > 90 && $blocked_user_threads() > 0
continue
echo \n=== ks-help\n
ks-help
echo \n=== ks-kstat\n
ks-kstat
echo \n=== ks-cache\n
ks-cache
echo \n=== ks-threads\n
ks-threads
# A user thread blocked in the kernel (a stackdemo sleeper or the main thread in sleep_ms): its
# context is the one switch_to() saved.
python
blocked = [t for t in threads() if int(t["proc"]) and state_name(t) == "BLOCKED"]
print(f"\n=== ks-stack blocked {int(blocked[0]['tid']) if blocked else 'none'}")
if blocked:
    gdb.execute(f"ks-stack {int(blocked[0]['tid'])}")
end
# The thread on the CPU: kstat_every's kernel thread, stopped at the breakpoint (gdb's registers).
echo \n=== ks-stack running\n
ks-stack
echo \n=== end\n
# QEMU quits: nothing runs (and prints another KSTAT line) after the stop.
kill
