#!/usr/bin/env python3
"""stack_budget.py: the top page's budget (docs/DESIGN.md 12), checked at build time.

A user thread at rest has only the top 4 KiB page of its kernel stack. Every
entry from user mode runs on it until the strategy's on_entry has mapped the lower
pages, and every exit runs on it again after its on_exit took them back
(schedule() included). This tool adds up, for each such path, struct pt_regs
plus the frames of the worst call chain, and fails when the sum passes 4096.

Frames come from GCC's -fstack-usage (.su files next to the objects, return
address included); the call graph from the direct calls in
`objdump -d build/kernel.pass1.elf`, so a callee someone adds is counted with
no change here. What the graph cannot see is declared below, each with why:
the roots, the asm frames, edges known to run on an expanded stack, and the
indirect calls. Anything else unknown on a path fails the check.

Usage: stack_budget.py [--elf build/kernel.pass1.elf] [--build build]
                       [--ptregs kernel/arch/x86_64/ptregs.h] [--objdump objdump] [-v]
Python 3 standard library only. Exit 0 within budget, 1 over it or unsure, 2 setup error.
"""
import argparse
import os
import re
import subprocess
import sys

PAGE = 4096

# The paths that run on the top page alone. A root is a chain of direct calls:
# the frames of all but the last function are counted as they are (the caller
# is suspended in that call), and the last one with its worst callee chain.
ROOTS = [
    # SYSCALL: the stub pushes pt_regs on the slot top and calls syscall_entry(),
    # whose first call maps the lower pages (or, on failure, must not need them).
    ("syscall entry, before the expansion", ["syscall_entry", "enter_from_user_mode"], False),
    # ... then balances the CPU's page cache, with IRQs on, expanded or not.
    ("syscall entry, the cache balance", ["syscall_entry", "entry_balance_stack_cache"], True),
    # ... and whose last call gives them back, then may schedule() away and back.
    # A dying thread ends from here too: with no page to be had for
    # kstack_ensure(), process_thread_exit() runs on the top page (IRQs on).
    ("syscall exit, after the shrink", ["syscall_entry", "exit_to_user_mode"], True),
    # exit and thread_exit run when the expansion failed: a process that holds
    # all of memory must still be able to end (syscall.c: runs_on_top_page()).
    ("exit without the expansion", ["syscall_entry", "call_exit"], True),
    ("thread_exit without the expansion", ["syscall_entry", "call_thread_exit"], True),
    # Interrupts and exceptions from user mode: isr.asm's pt_regs (the CPU's
    # frame inside it), then trap_dispatch(), the same calls.
    ("interrupt/exception entry from user mode", ["trap_dispatch", "enter_from_user_mode"], False),
    ("interrupt/exception entry, the cache balance", ["trap_dispatch", "entry_balance_stack_cache"], True),
    ("interrupt/exception exit to user mode", ["trap_dispatch", "exit_to_user_mode"], True),
    # With the expansion failed, an interrupt's handler runs on the top page
    # (IRQs off), and so does a user exception, which then ends the process
    # (entry.c: user_exception(); its demand-fault path, counted here too, runs
    # only when expanded).
    ("interrupt handler without the expansion", ["trap_dispatch", "irq_dispatch"], False),
    ("user exception without the expansion", ["trap_dispatch", "user_exception"], True),
    # A new user thread: switch_to() "returns" into it below a pt_regs built by
    # process.c, with only the top page mapped.
    ("a new user thread's first exit", ["user_thread_first_entry"], True),
    # bad_iret.c: a fault on the iretq to user mode, after the shrink: pt_regs
    # rebuilt at the slot top, then the kill and the exit path, IRQs on at the end.
    ("a fault on the return to user mode", ["trap_bad_iret"], True),
]

# Where a root runs with IRQs on (the third field above), an interrupt from
# kernel mode may come at its deepest point: its pt_regs go on this stack, the
# handler runs on the CPU's IRQ stack, then irq_exit_kernel() runs back here
# and may preempt. That is counted on top of the root's worst chain.
IRQ_RETURN = "irq_exit_kernel"

# Calls on a root's path that run on a stack made big enough first: not followed.
# None today: every path above may run without the lower pages.
EXPANDED_EDGES = {
}

# Functions written in assembly (no .su): bytes they push, return address included.
ASM_FRAMES = {
    # switch.asm: RFLAGS, 6 callee-saved registers, the return address. What runs
    # after the switch runs on the next thread's stack; coming back, the
    # frame is the same.
    "switch_to": 8 * 8,
    # isr.asm: user_thread_first_entry() ends in isr_return_to(regs), which
    # moves RSP up to the pt_regs and jumps to the common return (.ret, .iret
    # are NASM local labels, symbols of their own): nothing below the caller.
    "isr_return_to": 0,
    "isr_common.ret": 0,
    "isr_common.iret": 0,
}

# Recursion that a function bounds itself: calling it again while it runs costs
# its own frame plus the named callee's chain, and no more.
NESTED_CALLS = {
    # panic() -> printk -> spin_lock -> panic() (a lock held too long): the
    # inner panic() sees `panicking` set and goes straight to halt_forever().
    "panic": "halt_forever",
}

# Indirect calls on a root's path, by the function that makes them: what they can reach,
# counted as direct calls.
INDIRECT_CALLS = {
    "syscall_entry": {
        "why": "dispatch() through syscall_table[]: without the expansion only exit and thread_exit run",
        "targets": ["call_exit", "call_thread_exit"],
    },
    # strategy.c: kstack_ops->on_entry / on_exit, one pair per strategy file,
    # found by their names (strategy.h asks for them): a new strategy needs no entry here.
    "kstack_enter": {"why": "kstack_ops->on_entry", "targets_re": r"kstack_\w+_on_entry"},
    "kstack_exit": {"why": "kstack_ops->on_exit", "targets_re": r"kstack_\w+_on_exit"},
    "kstack_thread_exit": {"why": "kstack_ops->on_exit", "targets_re": r"kstack_\w+_on_exit"},
    "kstack_switch_in_ready": {"why": "kstack_ops->on_switch_in", "targets_re": r"kstack_\w+_on_switch_in"},
    "kstack_switch_out": {"why": "kstack_ops->on_switch_out", "targets_re": r"kstack_\w+_on_switch_out"},
    # sched/restart.c: a syscall that keeps something across a restart names its own cancel hook,
    # <subsystem>_restart_cancel (restart.h asks for the name).
    "restart_cancel": {"why": "thread->restart.cancel", "targets_re": r"\w+_restart_cancel"},
    "restart_block": {"why": "thread->restart.complete", "targets_re": r"\w+_restart_complete"},
    "irq_dispatch": {
        "why": "irq_handlers[] (irq.c) holds these, and the tests' handlers registered with irq_register()",
        "targets": ["irq_timer", "irq_resched", "tlb_shootdown_irq", "smp_stop_irq", "apic_error_irq",
                    "test_ipi", "record_control_registers"],
    },
}

SU_LINE = re.compile(r"^(.*):(\d+):(\d+):(\S+)\t(\d+)\t(\S+)$")
FUNC_LINE = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN_LINE = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
TARGET = re.compile(r"^[0-9a-f]+ <([^>+]+)(\+0x[0-9a-f]+)?>$")


def fail(msg, code=1):
    print(f"stack budget: {msg}", file=sys.stderr)
    sys.exit(code)


def base_name(name):
    """GCC clones: the ELF says pick_cpu.isra.0, the .su file pick_cpu.isra."""
    return re.sub(r"\.\d+(?=\.|$)", "", name)


def read_su(build):
    """{function: (bytes, qualifier, where)} from every .su under build/ but user/ and host/.
    A static name defined in several files gets its largest frame (we cannot tell them apart)."""
    frames, objects = {}, 0
    for root, dirs, files in os.walk(build):
        dirs[:] = [d for d in dirs if os.path.join(root, d) not in
                   (os.path.join(build, "user"), os.path.join(build, "host"), os.path.join(build, "test"))]
        for f in files:
            if f.endswith(".o") and not os.path.exists(os.path.join(root, f[:-2] + ".su")):
                src = os.path.relpath(os.path.join(root, f[:-2]), build)
                if os.path.exists(src + ".c"):
                    fail(f"{os.path.join(root, f)} has no .su file next to it (built without "
                         f"-fstack-usage?): remove it or run make clean", 2)
            if not f.endswith(".su"):
                continue
            objects += 1
            with open(os.path.join(root, f)) as fh:
                for line in fh:
                    m = SU_LINE.match(line.rstrip("\n"))
                    if not m:
                        continue
                    name, size, qual = m[4], int(m[5]), m[6]
                    where = f"{m[1]}:{m[2]}"
                    for key in {name, base_name(name)}:
                        if key not in frames or frames[key][0] < size or qual == "dynamic":
                            frames[key] = (size, qual, where)
    if not objects:
        fail(f"no .su files under {build}/: is the kernel built with -fstack-usage?", 2)
    return frames


def read_calls(objdump, elf):
    """{function: {"calls": {callee: first call address}, "indirect": [addresses]}} from the disassembly.
    A jump to another function's first byte counts as a call: a .cold part runs in its
    parent's frame (its frame is 0, so this is exact), and a tail call (rare with
    -fno-optimize-sibling-calls) is over-counted, never under. A jump into another
    function's middle is a .cold part going back to its parent: not a call. An indirect
    jmp is a switch's jump table inside the function (an indirect tail call would need
    sibling calls)."""
    try:
        out = subprocess.run([objdump, "-d", "--no-show-raw-insn", elf], check=True,
                             capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        fail(f"{objdump} -d {elf} failed: {e}", 2)
    funcs, name, cur = {}, None, None
    for line in out.splitlines():
        if m := FUNC_LINE.match(line):
            name = m[2]
            cur = funcs.setdefault(name, {"calls": {}, "indirect": []})
            continue
        m = INSN_LINE.match(line)
        if not m or cur is None or not m[2].startswith(("call", "j")):
            continue
        addr, op, arg = m[1], m[2], m[3].strip()
        if arg.startswith("*"):
            if op.startswith("call"):
                cur["indirect"].append(addr)
            continue
        t = TARGET.match(arg)
        if not t or t[1] == name:
            continue                                        # a branch inside the function
        if op.startswith("call") or t[2] is None:
            cur["calls"].setdefault(t[1], addr)
    return funcs


def ptregs_size(path):
    """sizeof(struct pt_regs), from the _Static_assert that pins it in ptregs.h."""
    try:
        text = open(path).read()
    except OSError as e:
        fail(f"cannot read {path}: {e}", 2)
    m = re.search(r"_Static_assert\(sizeof\(struct pt_regs\) == (\d+) \* 8", text)
    if not m:
        fail(f"{path}: no _Static_assert(sizeof(struct pt_regs) == N * 8, ...) to read the size from", 2)
    return int(m[1]) * 8


class Budget:
    def __init__(self, frames, funcs):
        self.frames, self.funcs = frames, funcs
        self.memo = {}
        self.problems = []

    def frame(self, fn, caller):
        if fn in ASM_FRAMES:
            return ASM_FRAMES[fn]
        if fn.endswith(".cold") or ".cold." in fn:
            return 0                                        # runs in its parent's frame
        for key in (fn, base_name(fn)):
            if key in self.frames:
                size, qual, where = self.frames[key]
                if qual == "dynamic":
                    self.problems.append(f"{fn} ({where}) has an unbounded frame (alloca or a VLA); "
                                         f"reached from {caller}")
                return size
        self.problems.append(f"no stack size known for {fn} (called from {caller}): not C built with "
                             f"-fstack-usage; declare it in ASM_FRAMES in {sys.argv[0]}")
        return 0

    def indirect_targets(self, fn):
        """What fn's declared indirect calls reach: named targets, and functions matching targets_re."""
        decl = INDIRECT_CALLS.get(fn, {})
        found = list(decl.get("targets", []))
        if "targets_re" in decl:
            matched = [f for f in self.funcs if re.fullmatch(decl["targets_re"], base_name(f))]
            if not matched:
                self.problems.append(f"{fn}: no function matches {decl['targets_re']} (INDIRECT_CALLS)")
            found += matched
        return found

    def worst(self, fn, caller, path=()):
        """(bytes, [chain], cut) of fn's frame plus its deepest callee chain; cut: a
        NESTED_CALLS re-entry was priced below, so the result depends on the path."""
        if fn in self.memo:
            return self.memo[fn]
        again = fn in path
        if again and fn in NESTED_CALLS:
            b, c, _ = self.worst(NESTED_CALLS[fn], fn, path + (fn,))
            return self.frame(fn, caller) + b, [fn] + c, True
        if again:
            cycle = path[path.index(fn):]
            # Through a NESTED_CALLS function the cycle runs once more at most: the
            # second time round, that function stops it.
            if path.count(fn) > 1 or not any(g in NESTED_CALLS for g in cycle):
                self.problems.append(f"recursion on the top page: {' -> '.join(cycle + (fn,))}: "
                                     f"its depth has no bound")
                return 0, [fn], True
        info = self.funcs.get(fn)
        if info is None:
            self.problems.append(f"{fn} (called from {caller}) is not in the disassembly")
            return self.frame(fn, caller), [fn], False
        if info["indirect"] and fn not in INDIRECT_CALLS:
            self.problems.append(f"{fn} makes an indirect call (at {', '.join(info['indirect'])}) on the top "
                                 f"page; say what it can reach in INDIRECT_CALLS in {sys.argv[0]}")
        callees = set(info["calls"]) | set(self.indirect_targets(fn))
        best, chain, cut = 0, [], False
        for callee in sorted(callees):
            if (fn, callee) in EXPANDED_EDGES:
                continue
            b, c, k = self.worst(callee, fn, path + (fn,))
            cut |= k
            if b > best:
                best, chain = b, c
        cut |= again
        result = (self.frame(fn, caller) + best, [fn] + chain, cut)
        if not cut:
            self.memo[fn] = result
        return result

    def root(self, chain):
        """(bytes, [(function, frame)]) of a declared root."""
        for caller, callee in zip(chain, chain[1:]):
            if caller not in self.funcs:
                self.problems.append(f"root function {caller} is not in the kernel any more: update ROOTS")
                return 0, []
            if callee not in self.funcs[caller]["calls"] and \
                    callee not in INDIRECT_CALLS.get(caller, {}).get("targets", []):
                self.problems.append(f"{caller} no longer calls {callee} directly: update ROOTS in {sys.argv[0]}")
                return 0, []
        if chain[-1] not in self.funcs:
            self.problems.append(f"root function {chain[-1]} is not in the kernel any more: update ROOTS")
            return 0, []
        held = sum(self.frame(f, "a root") for f in chain[:-1])
        b, c, _ = self.worst(chain[-1], chain[-2] if len(chain) > 1 else "the entry stub")
        full = chain[:-1] + c
        return held + b, [(f, self.frame(f, "")) for f in full]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--elf", default="build/kernel.pass1.elf")
    ap.add_argument("--build", default="build")
    ap.add_argument("--ptregs", default="kernel/arch/x86_64/ptregs.h")
    ap.add_argument("--objdump", default="objdump")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every root's chain")
    args = ap.parse_args()

    regs = ptregs_size(args.ptregs)
    budget = Budget(read_su(args.build), read_calls(args.objdump, args.elf))
    nested, nested_chain, _ = budget.worst(IRQ_RETURN, "an interrupt from kernel mode")
    results = []
    for what, chain, irqs_on in ROOTS:
        used, full = budget.root(chain)
        if irqs_on:
            used += regs + nested
            full = full + [("(interrupt: pt_regs)", regs)] + [(f, budget.frame(f, "")) for f in nested_chain]
        results.append((what, used, full))
    for p in dict.fromkeys(budget.problems):
        print(f"stack budget: {p}", file=sys.stderr)

    over = False
    worst = max(results, key=lambda r: r[1])
    for what, used, chain in results:
        total = regs + used
        line = " > ".join(f"{f} {n}" for f, n in chain)
        if total > PAGE:
            over = True
            print(f"stack budget: OVER: {what}: pt_regs {regs} + {used} = {total} bytes of the {PAGE}-byte "
                  f"top page: {line}", file=sys.stderr)
        elif args.verbose:
            print(f"stack budget: {what}: pt_regs {regs} + {used} = {total} of {PAGE} bytes: {line}")
    if over:
        fail("a path that runs on the top page alone would overrun it: make those frames smaller, "
             "or move the work to after the expansion / before the shrink")
    if budget.problems:
        fail("cannot bound the top page's use (see above)")
    print(f"stack budget: worst: {worst[0]}: {regs + worst[1]} of {PAGE} bytes ({PAGE - regs - worst[1]} to spare)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
