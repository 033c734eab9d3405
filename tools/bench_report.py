#!/usr/bin/env python3
"""bench_report.py: turns `make bench`'s results.csv into report.md and PNG plots.

It reads figures and writes the report (docs/DESIGN.md 10: every figure as a ratio
to `fixed` from the same run, the LKML objections answered, the targets of issues 10
and 12 checked); it runs no benchmark. The plots are drawn by gnuplot from data files and
scripts left in <out>/plots/, so they can be re-drawn by hand. A bench or metric
this file does not know still appears, in "Other figures" at the end.

Usage: bench_report.py [--csv build/bench/results.csv] [--out build/bench]
       bench_report.py [--csv build/bench/results.csv] --check build/bench
--check verifies the CSV, that report.md names every strategy and bench in it,
and that every plot is a PNG; it draws nothing.
Python 3 standard library only, plus the gnuplot program.
Exit 0 done, 1 malformed CSV or a --check problem, 2 setup error (no CSV, no gnuplot).
The CSV's last column, `restart`, is the boot's kstack_restart (on, off, or `-`: Linux, or a
CSV from before the column, which has 8 columns and is read as well). Every section but
"IPC and restart" shows the default boots only (restart on or `-`).
"""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys
import time

HEADER = ["bench", "strategy", "cpus", "threads", "metric", "value", "unit", "accel", "restart"]
OLD_HEADER = HEADER[:8]     # before issue 12: no restart column
RESTART = ("on", "off", "-")
STRATEGIES = ("fixed", "eager", "fault", "lazy", "linux")
OURS = ("fixed", "eager", "fault", "lazy")
# Primary first: icount is deterministic; tcg and kvm depend on the host's load.
ACCELS = ("icount", "tcg", "kvm")
TIME_UNIT = {"icount": "icount-tsc", "tcg": "tcg-tsc", "kvm": "cycles"}
UNITS = set(TIME_UNIT.values()) | {"KiB", "pages", "count", "pm"}
NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
VALUE_RE = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")
COUNT_RE = re.compile(r"^[0-9]+$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Benches timed per operation (metrics median and min), in table order.
TIME_BENCHES = (
    ("null_syscall", "null syscall round trip (getpid)"),
    ("syscall_stack_1k", "a syscall using 1 KiB of kernel stack"),
    ("syscall_stack_4k", "... 4 KiB"),
    ("syscall_stack_8k", "... 8 KiB"),
    ("syscall_stack_12k", "... 12 KiB"),
    ("yield_alone", "yield with no other thread runnable"),
    ("yield_pingpong", "switch between two threads on one CPU"),
    ("futex_pingpong", "futex ping-pong, a wake and a wait each way (one CPU: wake-to-run)"),
    ("ipc_roundtrip", "IPC round trip between two processes: ipc_call and the server's "
                      "ipc_reply_wait, registers only"),
    ("ipc_roundtrip_thread", "... the server a thread of the same process"),
    ("ipc_roundtrip_buf64", "... between two processes, 64 bytes each way"),
    ("thread_create_join", "thread create plus join"),
    ("spawn_wait", "process spawn plus wait"),
    ("demand_fault", "a user demand page fault"),
    ("expand", "the strategy's expand (map lower pages)"),
    ("shrink", "the strategy's shrink (unmap them)"),
    ("growth_fault", "fault's growth fault on the IST stack"),
)
DEPTHS = ((0, "null_syscall"), (1, "syscall_stack_1k"), (4, "syscall_stack_4k"),
          (8, "syscall_stack_8k"), (12, "syscall_stack_12k"))
SCALING_BENCHES = ("null_syscall", "yield_alone", "thread_create_join")
SMP_BENCHES = ("thread_create_join", "yield_pingpong")
STRATEGY_OPS = ("expand", "shrink", "growth_fault")
HAZARD_METRICS = ("deep_sleeps", "bad_frames", "stale_reads", "migrations")
OOM_METRICS = ("expand_failed", "refused", "hog_pages", "switch_in_waits")
PLOTS = (
    ("memory_vs_threads", "resident kernel stack under the mixed load against thread count"),
    ("syscall_vs_depth", "cost of a syscall against the kernel stack it uses"),
    ("pages_used_hist", "stack pages used per kernel entry under the mixed load"),
    ("syscall_vs_threads", "cost of a null syscall against the number of threads"),
)
COLORS = {"fixed": "#222222", "eager": "#d62728", "fault": "#1f77b4",
          "lazy": "#2ca02c", "linux": "#ff7f0e"}

# Targets of issue 10.
EAGER_LIMIT, LAZY_LIMIT = 1.5, 1.02
FLAT_LIMIT = 1.5      # cost at the most threads / cost at threads=1
LINEAR_LIMIT = 2.0    # per_waiter at the largest N / at the smallest N
SMP_LIMIT = 2.0       # cost on 4 CPUs (2 in bench-quick) / cost on 1 CPU

# Targets of issue 12.
IPC_GETPIDS = 2.0     # ipc_roundtrip below this many of Linux's null_syscall (icount, 1 CPU)
RESTART_LIMIT = 1.05  # futex_pingpong with restart on at most this × with it off
SAVING_TARGET = 0.65  # mixed load at 3,000 threads: saving against fixed, eager and lazy, restart on
SAVING_THREADS = 3000
IPC_BENCHES = ("ipc_roundtrip", "ipc_roundtrip_thread", "ipc_roundtrip_buf64")


class Row:
    """One CSV row. restart_off: booted with kstack_restart=off; every other row (on, and `-`)
    is the default boot, looked up with restart_off=False."""
    __slots__ = ("bench", "strategy", "cpus", "threads", "metric", "value", "unit", "accel",
                 "restart", "restart_off")

    def __init__(self, fields):
        fields = list(fields) + ["-"] * (len(HEADER) - len(fields))
        (self.bench, self.strategy, cpus, threads, self.metric, value, self.unit,
         self.accel, self.restart) = fields
        self.cpus, self.threads, self.value = int(cpus), int(threads), float(value)
        self.restart_off = self.restart == "off"

    def key(self):
        return (self.bench, self.strategy, self.accel, self.cpus, self.threads, self.metric,
                self.restart_off)


def row_problem(f, header=HEADER):
    """What is wrong with one CSV row's fields, or None."""
    if len(f) != len(header):
        return f"{len(f)} fields, expected {len(header)}"
    bench, strategy, cpus, threads, metric, value, unit, accel = f[:8]
    if len(f) > 8 and f[8] not in RESTART:
        return f"restart {f[8]!r} is not one of {', '.join(RESTART)}"
    for name, v in (("bench", bench), ("metric", metric)):
        if not NAME_RE.match(v):
            return f"{name} {v!r} is not a name ([A-Za-z0-9_.-]+)"
    if strategy not in STRATEGIES:
        return f"unknown strategy {strategy!r} (expected one of {', '.join(STRATEGIES)})"
    if accel not in ACCELS:
        return f"unknown accel {accel!r} (expected one of {', '.join(ACCELS)})"
    if not COUNT_RE.match(cpus) or int(cpus) < 1:
        return f"cpus {cpus!r} is not a positive integer"
    if not COUNT_RE.match(threads):
        return f"threads {threads!r} is not a non-negative integer"
    if not VALUE_RE.match(value):
        return f"value {value!r} is not numeric (an integer or a decimal)"
    if unit not in UNITS:
        return f"unknown unit {unit!r} (expected one of {', '.join(sorted(UNITS))})"
    if unit in TIME_UNIT.values() and unit != TIME_UNIT[accel]:
        return f"time unit {unit} under accel {accel} (expected {TIME_UNIT[accel]})"
    return None


def read_csv(path):
    """(rows, problems): every problem found, each naming its line."""
    rows, problems, seen = [], [], {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                problems.append(f"{path}: empty file, expected the header "
                                f"{','.join(HEADER)!r} and rows")
                return rows, problems
            if header not in (HEADER, OLD_HEADER):
                problems.append(f"{path}:1: header is {','.join(header or [])!r}, "
                                f"expected exactly {','.join(HEADER)!r} "
                                f"(or, before the restart column, {','.join(OLD_HEADER)!r})")
                return rows, problems
            for fields in reader:
                line = reader.line_num
                if not fields:
                    continue  # a blank line
                why = row_problem(fields, header)
                if why:
                    problems.append(f"{path}:{line}: {why}: {','.join(fields)}")
                    continue
                row = Row(fields)
                if row.key() in seen:
                    problems.append(f"{path}:{line}: same bench, strategy, accel, cpus, "
                                    f"threads, metric and restart as line {seen[row.key()]}")
                    continue
                seen[row.key()] = line
                rows.append(row)
    except UnicodeDecodeError as e:
        problems.append(f"{path}: not UTF-8 text: {e}")
    except csv.Error as e:
        problems.append(f"{path}: {e}")
    return rows, problems


class Results:
    """The rows, looked up by key. Every row a section shows is marked used; the
    rest go to "Other figures", so nothing in the CSV is left out of the report."""

    def __init__(self, rows):
        self.rows = rows
        self.by_key = {r.key(): r for r in rows}
        self.used = set()
        # what the default boots' restart column says: on, or `-` in a CSV from before the column
        self.default_restart = "on" if any(r.restart == "on" for r in rows) else "-"
        self.default_label = ("restart on" if self.default_restart == "on" else
                              "default boot (restart not recorded)")

    def value(self, bench, strategy, accel, cpus, threads, metric, restart_off=False):
        row = self.by_key.get((bench, strategy, accel, cpus, threads, metric, restart_off))
        if row is None:
            return None
        self.used.add(row.key())
        return row.value

    def select(self, restart_off=False, **want):
        """Rows of the default boots (restart_off=True: of the kstack_restart=off boots; None: both)."""
        return [r for r in self.rows
                if (restart_off is None or r.restart_off == restart_off)
                and all(getattr(r, k) == v for k, v in want.items())]

    def accels(self, **want):
        present = {r.accel for r in self.select(**want)}
        return [a for a in ACCELS if a in present]

    def strategies(self, **want):
        present = {r.strategy for r in self.select(**want)}
        return [s for s in STRATEGIES if s in present]

    def groups(self, bench):
        """(accel, cpus, threads) the bench was run with, primary accel first."""
        keys = {(r.accel, r.cpus, r.threads) for r in self.select(bench=bench)}
        return sorted(keys, key=lambda k: (ACCELS.index(k[0]), k[1], k[2]))


# --- formatting ---------------------------------------------------------------

def num(v):
    if v is None:
        return "-"
    if v == int(v):
        return f"{int(v):,}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(r, digits=2):
    return "-" if r is None else f"{r:.{digits}f}×"


def div(a, b):
    return None if a is None or b is None or b == 0 else a / b


def cell(v, base, is_base=False):
    """`value (ratio×)` against base; the base's own cell is the value alone."""
    if v is None:
        return "-"
    r = None if is_base else div(v, base)
    return num(v) if r is None else f"{num(v)} ({ratio(r)})"


def kib1(v):
    """KiB per thread: one decimal, so a column lines up."""
    return "-" if v is None else f"{v:,.1f}"


def pct_pm(pm):
    return "-" if pm is None else f"{pm / 10:.1f}%"


def table(header, rows, numeric_from=1):
    align = ["---" if i < numeric_from else "--:" for i in range(len(header))]
    out = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return out


def poss(strategy):
    return "Linux's" if strategy == "linux" else f"{strategy}'s"


def listing(items):
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def count(n, what):
    """'1 bad frame', '3 bad frames'."""
    n = n or 0
    return f"{num(n)} {what}" + ("" if n == 1 else "s")


def cpus_label(cpus):
    return count(cpus, "CPU")


def threads_label(threads):
    return count(threads, "thread")


def lowest(values):
    """The strategies with the lowest value (several on a tie)."""
    present = {s: v for s, v in values.items() if v is not None}
    low = min(present.values(), default=None)
    return [s for s, v in present.items() if v == low]


# --- the machine --------------------------------------------------------------

def host_cpu():
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return model, os.cpu_count() or 0


# --- sections -----------------------------------------------------------------

def time_config(res, bench, accel, metric):
    """The CPU count of a time bench's row in the per-accel table: 1, unless the
    bench only runs on more (futex_pingpong); None when it did not run."""
    rows = res.select(bench=bench, accel=accel, metric=metric, threads=1)
    cpus = sorted({r.cpus for r in rows})
    if not cpus:
        return None
    return 1 if 1 in cpus else cpus[0]


def time_table(res, accel, metric):
    """A table of the time benches under one accel, or [] when there are none."""
    lines, missing, body, ran, linux_won = [], [], [], [], []
    for bench, _ in TIME_BENCHES:
        cpus = time_config(res, bench, accel, metric)
        if cpus is None:
            missing.append(f"`{bench}`")
            continue
        vals = {s: res.value(bench, s, accel, cpus, 1, metric) for s in STRATEGIES}
        if vals["linux"] is not None:
            ran.append(bench)
            if "linux" in lowest(vals):
                linux_won.append(f"`{bench}`")
        label = f"`{bench}`" + ("" if cpus == 1 else f" ({cpus_label(cpus)})")
        body.append([label] + [cell(vals[s], vals["fixed"], s == "fixed") for s in STRATEGIES]
                    + [", ".join(lowest(vals)) or "-"])
    if not body:
        return []
    lines += table(["bench"] + list(STRATEGIES) + ["lowest"], body)
    if ran:
        lines += ["", f"Linux ran {len(ran)} of these benches and is lowest on "
                  + (listing(linux_won) + "." if linux_won else "none of them.")]
    if missing:
        lines += ["", f"Not measured under {accel}: {', '.join(missing)}."]
    return lines


def section_header(res, csv_path):
    model, cores = host_cpu()
    try:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(csv_path)))
    except OSError:
        when = "unknown"
    accels = res.accels(restart_off=None)
    counts = {a: len(res.select(accel=a, restart_off=None)) for a in accels}
    off = {a: len(res.select(accel=a, restart_off=True)) for a in accels}
    strategies = res.strategies()
    lines = [
        "# Kernel stack strategies: benchmark report",
        "",
        f"Generated by `tools/bench_report.py` from `{csv_path}`; do not edit, re-run "
        "`make bench` (or the script) instead.",
        "",
        f"- Date: {when} (when the CSV was written)",
        f"- Machine: {model}, {cores} logical CPUs (the host QEMU ran on)",
        "- Accelerators: " + (", ".join(f"{a} ({counts[a]} rows"
                                        + (f", {off[a]} of them from `kstack_restart=off` boots"
                                           if off[a] else "") + ")" for a in accels)
                              or "none (the CSV has no rows)"),
        "- Strategies: " + (", ".join(strategies) or "none")
        + ("" if "linux" in strategies else
           " (no Linux figures in this run)"),
        "",
        "Units: an icount-tsc tick is one guest instruction under QEMU's `-icount shift=0` "
        "(deterministic and comparable across hosts, but not time); a tcg-tsc tick is "
        "plain TCG's TSC, not a hardware cycle; only `cycles`, from KVM, are real cycles. "
        "`linux` is Debian's Linux 6.1 kernel booted under the same QEMU settings. "
        "A ratio `(1.42×)` is to `fixed` (Linux's 16 KiB stacks, on our kernel) in the "
        "same run and configuration; `-` is a figure the run did not produce.",
        "",
    ]
    return lines


def section_main(res):
    lines = ["## Main table: cost per operation (icount, 1 CPU, median)", ""]
    body = time_table(res, "icount", "median")
    if body:
        lines += ["Median of the batches, icount-tsc per operation, one thread, one CPU.", ""]
        lines += body
        lines += ["", "Rows: " + "; ".join(f"`{b}` {what}" for b, what in TIME_BENCHES) + "."]
    else:
        lines += ["No icount figures in this run: see the secondary tables."]
    lines.append("")
    for accel in ("tcg", "kvm"):
        body = time_table(res, accel, "median")
        lines += [f"## Secondary: cost per operation under {accel} (median)", ""]
        if not body:
            lines += [f"No {accel} figures in this run"
                      + (" (`ACCEL=kvm` adds them where KVM works)." if accel == "kvm" else "."),
                      ""]
            continue
        unit = TIME_UNIT[accel]
        what = ("real cycles" if accel == "kvm" else
                "TCG's TSC: depends on the host and its load; not hardware cycles")
        lines += [f"Secondary: {unit} per operation ({what}). 1 CPU unless the row says.", ""]
        lines += body + [""]
    return lines


def section_memory(res):
    lines = ["## Memory under load", ""]
    groups = sorted({(r.accel, r.cpus) for r in res.select(bench="mixed_load")},
                    key=lambda k: (ACCELS.index(k[0]), k[1]))
    if not groups:
        lines += ["`mixed_load` was not measured in this run.", ""]
    for accel, cpus in groups:
        rows = res.select(bench="mixed_load", accel=accel, cpus=cpus, restart_off=None)
        servers = any(r.metric == "ipc_served" for r in rows)
        lines += [f"`mixed_load` ({accel}, {cpus_label(cpus)}): a third of the threads spin in "
                  "user mode, a third loop on syscalls at mixed depths"
                  + (", with an IPC call every 8th round, a third are IPC servers blocked in "
                     "`ipc_recv` (one endpoint per 100), which answer those calls"
                     if servers else ", a third sleep in the kernel on futexes")
                  + ". `kstack_restart=off` rows are the same load booted with it off; "
                  "the ratio is to fixed with the same setting.", ""]
        body = []
        for t in sorted({r.threads for r in rows}):
            for off in (False, True):
                for s in res.strategies(bench="mixed_load", accel=accel, cpus=cpus, threads=t,
                                        restart_off=off):
                    get = lambda m: res.value("mixed_load", s, accel, cpus, t, m, off)
                    fixed_kib = res.value("mixed_load", "fixed", accel, cpus, t, "resident_kib", off)
                    kib = get("resident_kib")
                    body.append([f"{t:,}", s, "off" if off else res.default_restart,
                                 cell(kib, fixed_kib, s == "fixed"),
                                 kib1(get("kib_per_thread")), pct_pm(get("saving_pm")),
                                 num(get("cache_pages"))] + ([num(get("ipc_served"))] if servers else []))
        lines += table(["threads", "strategy", "restart", "resident KiB", "KiB per thread",
                        "saving vs fixed", "cache pages"] + (["IPC calls served"] if servers else []),
                       body, numeric_from=3)
        lines.append("")

    for accel, cpus, threads in res.groups("pages_used_hist"):
        metrics = hist_metrics(res, accel, cpus, threads)
        lines += [f"`pages_used_hist` ({accel}, {cpus_label(cpus)}, {threads:,} threads): "
                  "kernel entries that used n stack pages, from the mixed load (`fixed` "
                  "takes no samples).", ""]
        body = []
        for s in res.strategies(bench="pages_used_hist", accel=accel, cpus=cpus,
                                threads=threads):
            counts = [res.value("pages_used_hist", s, accel, cpus, threads, m) for m in metrics]
            total = sum(c for c in counts if c is not None)
            one = div(counts[0] if metrics and metrics[0] == "p1" else None, total)
            body.append([s] + [num(c) for c in counts] + [num(total),
                        "-" if one is None else f"{100 * one:.1f}%"])
        lines += table(["strategy"] + metrics + ["entries", "used 1 page"], body)
        lines.append("")

    lines += sleepers_lines(res)
    return lines


def hist_metrics(res, accel, cpus, threads):
    ms = {r.metric for r in res.select(bench="pages_used_hist", accel=accel, cpus=cpus,
                                       threads=threads)}
    return sorted((m for m in ms if re.match(r"^p[0-9]+$", m)), key=lambda m: int(m[1:]))


def sleepers_lines(res):
    lines = []
    for accel, cpus, threads in res.groups("sleepers_kernel_stack"):
        lines += [f"`sleepers_kernel_stack` ({accel}, {cpus_label(cpus)}): kernel stack held "
                  f"with {threads:,} threads asleep in the kernel (Linux: `KernelStack` in "
                  "`/proc/meminfo`, which also counts its kernel threads).", ""]
        kib = {s: res.value("sleepers_kernel_stack", s, accel, cpus, threads, "kib")
               for s in STRATEGIES}
        per = {s: res.value("sleepers_kernel_stack", s, accel, cpus, threads, "kib_per_thread")
               for s in STRATEGIES}
        body = [[s, cell(kib[s], kib["fixed"], s == "fixed"), kib1(per[s]),
                 ratio(None if s == "linux" else div(kib[s], kib["linux"]))]
                for s in STRATEGIES if kib[s] is not None or per[s] is not None]
        kib_off = {s: res.value("sleepers_kernel_stack", s, accel, cpus, threads, "kib", True)
                   for s in OURS}
        for s in OURS:
            per_off = res.value("sleepers_kernel_stack", s, accel, cpus, threads, "kib_per_thread", True)
            if kib_off[s] is not None or per_off is not None:
                body.append([f"{s}, `kstack_restart=off`", cell(kib_off[s], kib_off["fixed"], s == "fixed"),
                             kib1(per_off), ratio(div(kib_off[s], kib["linux"]))])
        lines += table(["strategy", "KiB", "KiB per thread", "vs Linux"], body)
        lines.append("")
        if kib["linux"] is not None:
            ours = [f"{s} {num(kib[s])} ({ratio(div(kib[s], kib['linux']))})"
                    for s in OURS if kib[s] is not None]
            lines += [f"Linux holds {num(kib['linux'])} KiB for these sleepers; "
                      + (f"ours: {listing(ours)} of Linux's figure." if ours else
                         f"ours were not measured on {cpus_label(cpus)} under {accel}."), ""]
        else:
            lines += ["No Linux figure in this run to set ours against.", ""]
    return lines


def scaling(res, bench, accel):
    """{strategy: {threads: median}} at 1 CPU, or None without threads > 1."""
    rows = res.select(bench=bench, accel=accel, cpus=1, metric="median")
    if not any(r.threads > 1 for r in rows):
        return None
    out = {}
    for s in res.strategies(bench=bench, accel=accel, cpus=1, metric="median"):
        out[s] = {r.threads: res.value(bench, s, accel, 1, r.threads, "median")
                  for r in rows if r.strategy == s}
    return out


def growth(points):
    """Cost at the most threads over cost at threads=1."""
    if 1 not in points or len(points) < 2:
        return None
    return div(points[max(points)], points[1])


def futex_wake(res, accel):
    """(cpus, {strategy: {N: (per_waiter, total)}}) or None."""
    rows = res.select(bench="futex_wake_n", accel=accel)
    if not rows:
        return None
    cpus = min(r.cpus for r in rows)
    out = {}
    for s in res.strategies(bench="futex_wake_n", accel=accel, cpus=cpus):
        ns = sorted({r.threads for r in rows if r.strategy == s and r.cpus == cpus})
        out[s] = {n: (res.value("futex_wake_n", s, accel, cpus, n, "per_waiter"),
                      res.value("futex_wake_n", s, accel, cpus, n, "total")) for n in ns}
    return cpus, out


def linear_ratio(points):
    per = {n: pw for n, (pw, _) in points.items() if pw is not None}
    if len(per) < 2:
        return None
    return div(per[max(per)], per[min(per)])


def smp_accel(res, bench):
    """The accel with this bench at 1 CPU and at more; plain TCG preferred."""
    for accel in ("tcg", "kvm", "icount"):
        cpus = {r.cpus for r in res.select(bench=bench, accel=accel, threads=1,
                                           metric="median")}
        if 1 in cpus and len(cpus) > 1:
            return accel, max(cpus)
    return None, None


def section_scaling(res):
    lines = ["## Scaling", "",
             "### Cost against the number of threads", "",
             "Median per operation with that many other threads asleep (1 CPU); the last "
             f"column is the cost at the most threads over the cost at one (target: at most "
             f"{FLAT_LIMIT}×).", ""]
    for bench in SCALING_BENCHES:
        shown = False
        for accel in ACCELS:
            data = scaling(res, bench, accel)
            if data is None:
                continue
            shown = True
            ts = sorted({t for pts in data.values() for t in pts})
            lines += [f"`{bench}` ({TIME_UNIT[accel]}):", ""]
            body = [[s] + [num(data[s].get(t)) for t in ts] + [ratio(growth(data[s]))]
                    for s in data]
            lines += table(["strategy"] + [threads_label(t) for t in ts] + ["most / 1"], body)
            lines.append("")
        if not shown:
            lines += [f"`{bench}`: not measured with more than one thread.", ""]

    lines += ["### `futex_wake_n`: waking N waiters", ""]
    shown = False
    for accel in ACCELS:
        fw = futex_wake(res, accel)
        if fw is None:
            continue
        shown = True
        cpus, data = fw
        ns = sorted({n for pts in data.values() for n in pts})
        lines += [f"Per waiter ({TIME_UNIT[accel]}, {cpus_label(cpus)}); linear in N means the "
                  f"cost per waiter stays roughly constant (target: the largest N at most "
                  f"{LINEAR_LIMIT}× the smallest).", ""]
        body = []
        for s, pts in data.items():
            r = linear_ratio(pts)
            verdict = "-" if r is None else ("linear" if r <= LINEAR_LIMIT else
                                            f"not linear: grows {ratio(r, 1)}")
            body.append([s] + [num(pts.get(n, (None, None))[0]) for n in ns]
                        + [ratio(r), verdict])
        lines += table(["strategy"] + [f"N={n:,}" for n in ns] + ["largest / smallest",
                                                                  "verdict"], body)
        lines += ["", "Total for all N waiters:", ""]
        lines += table(["strategy"] + [f"N={n:,}" for n in ns],
                       [[s] + [num(pts.get(n, (None, None))[1]) for n in ns]
                        for s, pts in data.items()])
        lines.append("")
    if not shown:
        lines += ["`futex_wake_n` was not measured in this run.", ""]

    lines += ["### Several CPUs", ""]
    body = []
    for bench in SMP_BENCHES:
        accel, many = smp_accel(res, bench)
        if accel is None:
            continue
        for s in res.strategies(bench=bench, accel=accel, cpus=many, threads=1):
            one = res.value(bench, s, accel, 1, 1, "median")
            more = res.value(bench, s, accel, many, 1, "median")
            r = div(more, one)
            body.append([f"`{bench}`", s, accel, num(one), cpus_label(many), num(more),
                         ratio(r), "-" if r is None else ("yes" if r <= SMP_LIMIT else "no")])
    if body:
        lines += [f"Median per operation on several CPUs against one (target: within "
                  f"{SMP_LIMIT}×).", ""]
        lines += table(["bench", "strategy", "accel", "1 CPU", "on", "more CPUs", "ratio",
                        f"within {SMP_LIMIT}×"], body, numeric_from=3)
    else:
        lines += ["`thread_create_join` and `yield_pingpong` were not measured on more "
                  "than one CPU."]
    lines.append("")
    return lines


# --- the objections -----------------------------------------------------------

def primary(res, bench, **want):
    accels = res.accels(bench=bench, **want)
    return accels[0] if accels else None


def objection_tlb(res):
    lines = ['### "Every entry and exit pays for TLB flushes" (Gleixner)', ""]
    accel = primary(res, "null_syscall", cpus=1, threads=1, metric="median")
    if accel is None:
        return lines + ["Not measured: no `null_syscall` in this run.", ""]
    unit = TIME_UNIT[accel]
    v = lambda b, s: res.value(b, s, accel, 1, 1, "median")
    fixed = v("null_syscall", "fixed")
    said = []
    for s in ("eager", "lazy"):
        mine = v("null_syscall", s)
        r = div(mine, fixed)
        if r is None:
            continue
        more = f"{num(abs(mine - fixed))} {'more' if mine >= fixed else 'less'} per round trip"
        if not said:
            said.append(f"{poss(s)} null syscall costs {ratio(r)} fixed's ({num(mine)} against "
                        f"{num(fixed)} {unit}: {more})")
        else:
            said.append(f"{poss(s)} {ratio(r)} ({num(mine)}: {more})")
    if said:
        lines.append(f"Under {accel}, " + "; ".join(said) + ".")
    else:
        lines.append("eager's and lazy's null syscall, or fixed's, were not measured.")
    for s in ("eager", "lazy"):
        depths = []
        for depth, bench in DEPTHS[1:]:
            r = div(v(bench, s), v(bench, "fixed"))
            if r is not None:
                depths.append(f"{ratio(r)} at {depth} KiB")
        if depths:
            depths[0] = depths[0].replace(" at", " fixed's at", 1)
            lines.append(f"Under {s} a syscall that uses kernel stack costs {listing(depths)}.")
    lines.append("")

    body = []
    for s in OURS:
        cells = []
        for op in STRATEGY_OPS:
            a = primary(res, op, strategy=s)
            cells += [num(res.value(op, s, a, 1, 1, m) if a else None)
                      for m in ("median", "invlpg")]
        if any(c != "-" for c in cells):
            body.append([s] + cells)
    if not body:
        return lines + ["`expand`, `shrink` and `growth_fault` were not measured.", ""]
    lines += [f"The strategies' own operations: median cost ({unit} where measured under "
              f"{accel}) and `invlpg` per operation.", ""]
    lines += table(["strategy", "expand", "invlpg", "shrink", "invlpg", "growth fault",
                    "invlpg"], body)
    lines.append("")
    when = {"eager": "on every entry and exit from user mode",
            "fault": "only in a syscall that grew its stack",
            "lazy": "only around a switch-out that gave pages back, never in a syscall loop"}
    for s in OURS:
        ops = []
        for op in STRATEGY_OPS:
            a = primary(res, op, strategy=s, metric="invlpg")
            inv = res.value(op, s, a, 1, 1, "invlpg") if a else None
            if inv is not None:
                ops.append(f"{num(inv)}{' invlpg' if not ops else ''} per "
                           f"{op.replace('_', ' ')}")
        if ops:
            lines.append(f"{s} issues {listing(ops)}, {when.get(s, '')}.")
    return lines + [""]


def objection_sleepers(res):
    lines = ['### "Sleeping threads keep their whole stack" (Gerst)', ""]
    groups = sorted({(r.accel, r.cpus) for r in res.select(bench="mixed_load")},
                    key=lambda k: (ACCELS.index(k[0]), k[1]))
    if not groups:
        lines += ["`mixed_load` was not measured in this run."]
    else:
        accel, cpus = groups[0]
        t = max(r.threads for r in res.select(bench="mixed_load", accel=accel, cpus=cpus))
        kib = {s: res.value("mixed_load", s, accel, cpus, t, "resident_kib") for s in OURS}
        per = {s: res.value("mixed_load", s, accel, cpus, t, "kib_per_thread") for s in OURS}
        pm = {s: res.value("mixed_load", s, accel, cpus, t, "saving_pm") for s in OURS}
        parts = []
        for s in OURS:
            if kib[s] is None:
                continue
            extra = "" if s == "fixed" else f", saving {pct_pm(pm[s])}"
            parts.append(f"{s} {num(kib[s])} KiB ({kib1(per[s])} KiB per thread{extra})")
        lines.append(f"With {t:,} threads in the mixed load (a third of them asleep in the "
                     f"kernel; {accel}, {cpus_label(cpus)}) the threads' kernel stacks take "
                     f"{listing(parts)}. 75% is the ceiling: one page of four per thread.")
        best = [s for s in OURS if s != "fixed" and pm[s] is not None]
        if best:
            top = max(best, key=lambda s: pm[s])
            lines.append(f"Under load {top} saves the most ({pct_pm(pm[top])} against fixed); "
                         "the tables under Memory give every thread count.")
    sl = [g for g in res.groups("sleepers_kernel_stack")]
    if sl:
        # Linux and ours come from different boots (accelerator, CPUs): take each strategy's own.
        threads = sl[0][2]
        kib = {}
        for s in STRATEGIES:
            kib[s] = next((v for a, c, t in sl if t == threads
                           for v in [res.value("sleepers_kernel_stack", s, a, c, t, "kib")] if v is not None), None)
        ours = [f"{s} {num(kib[s])} KiB" for s in OURS if kib[s] is not None]
        linux = ("" if kib["linux"] is None else
                 f"Linux holds {num(kib['linux'])} KiB; ")
        lines.append(f"With {threads:,} threads asleep in the kernel and nothing else: "
                     f"{linux}{listing(ours)}.")
    return lines + [""]


def objection_ist(res):
    lines = ['### "#DF and IST are fragile" (Lutomirski, Anvin)', ""]
    accel = primary(res, "demand_fault", strategy="fault", cpus=1, threads=1, metric="median")
    if accel is None:
        lines.append("`demand_fault` under fault was not measured.")
    else:
        unit = TIME_UNIT[accel]
        mine = res.value("demand_fault", "fault", accel, 1, 1, "median")
        fixed = res.value("demand_fault", "fixed", accel, 1, 1, "median")
        linux = res.value("demand_fault", "linux", accel, 1, 1, "median")
        if fixed is not None:
            lines.append(f"Under fault every #PF enters through its own IST stack: a user demand "
                         f"fault costs {num(mine)} {unit} against fixed's {num(fixed)} "
                         f"({ratio(div(mine, fixed))}, {num(mine - fixed)} added to every user "
                         f"fault, {accel}).")
        else:
            lines.append(f"A user demand fault under fault costs {num(mine)} {unit} ({accel}); "
                         "fixed's was not measured.")
        if linux is not None:
            lines.append(f"Linux's costs {num(linux)} on the same clock.")
    accel = primary(res, "growth_fault", strategy="fault", cpus=1, threads=1)
    if accel is not None:
        cost = res.value("growth_fault", "fault", accel, 1, 1, "median")
        inv = res.value("growth_fault", "fault", accel, 1, 1, "invlpg")
        lines.append(f"A growth fault (a stack page mapped from the per-CPU reserve on the IST "
                     f"stack) costs {num(cost)} {TIME_UNIT[accel]} with {num(inv)} invlpg.")
        d4 = [res.value("syscall_stack_4k", s, accel, 1, 1, "median") for s in ("fault", "fixed")]
        if None not in d4:
            lines.append(f"A syscall 4 KiB deep, which grows the stack once, costs "
                         f"{ratio(div(*d4))} fixed's under fault.")
    lines.append("The nested-fault, context-switch and copy_from_user races are covered by the "
                 "tests under `kstack=fault` (docs/DESIGN.md 5.2), not measured here.")
    return lines + [""]


def objection_hazard(res):
    lines = ['### "Other CPUs hold stale TLB entries" (Wilcox, Stevens)', ""]
    any_rows = False
    for mode in ("safe", "unsafe"):
        bench = f"tlb_hazard_{mode}"
        for accel, cpus, threads in res.groups(bench):
            any_rows = True
            body, bad = [], []
            total = {m: 0 for m in HAZARD_METRICS}
            for s in res.strategies(bench=bench, accel=accel, cpus=cpus, threads=threads):
                vals = {m: res.value(bench, s, accel, cpus, threads, m) for m in HAZARD_METRICS}
                body.append([s] + [num(vals[m]) for m in HAZARD_METRICS])
                for m in HAZARD_METRICS:
                    total[m] += vals[m] or 0
                if (vals["stale_reads"] or 0) + (vals["bad_frames"] or 0) > 0:
                    bad.append(f"{s} {count(vals['stale_reads'], 'stale read')} and "
                               f"{count(vals['bad_frames'], 'bad frame')}")
            lines += [f"`{bench}`: booted with `kstack_tlb={mode}` ({accel}, "
                      f"{cpus_label(cpus)}):", ""]
            lines += table(["strategy"] + list(HAZARD_METRICS), body)
            lines.append("")
            over = (f"over {num(total['deep_sleeps'])} deep sleeps and "
                    f"{num(total['migrations'])} migrations")
            if bad:
                lines.append(f"With `{mode}`: {listing(bad)}, {over}.")
            else:
                lines.append(f"With `{mode}`: no stale read and no bad frame under any strategy "
                             f"{over}.")
            if mode == "unsafe" and not bad:
                lines.append("The unsafe mode caught nothing either: this run did not provoke "
                             "the hazard, so the safe figures prove less than they seem.")
            lines.append("")
    if not any_rows:
        lines += ["`tlb_hazard_safe` and `tlb_hazard_unsafe` were not measured.", ""]
    return lines


def objection_oom(res):
    lines = ['### "Memory at expansion cannot be guaranteed" (Gleixner, Hansen, 2026)', ""]
    groups = res.groups("oom_hold")
    if not groups:
        return lines + ["`oom_hold` was not measured.", ""]
    for accel, cpus, threads in groups:
        body, said = [], []
        for s in res.strategies(bench="oom_hold", accel=accel, cpus=cpus, threads=threads):
            v = {m: res.value("oom_hold", s, accel, cpus, threads, m) for m in OOM_METRICS}
            body.append([s] + [num(v[m]) for m in OOM_METRICS])
            said.append(f"{s} {count(v['expand_failed'], 'failed expansion')}, "
                        f"{count(v['refused'], 'refused entry').replace('entrys', 'entries')}"
                        f" and {count(v['switch_in_waits'], 'put-off switch-in')}")
        lines += [f"`oom_hold` ({accel}, {cpus_label(cpus)}): a hog holds free memory at zero "
                  "while threads enter the kernel and sleep in it.", ""]
        lines += table(["strategy"] + list(OOM_METRICS), body) + [""]
        lines += ["While the hog held its pages: " + "; ".join(said) + ". A refused entry "
                  "fails its syscall with -ENOMEM before dispatch, and the thread goes on; a "
                  "put-off switch-in waits until the idle thread has refilled the cache "
                  "(docs/DESIGN.md 5.1 and 12).", ""]
    return lines


# --- the targets --------------------------------------------------------------

def target(head, where, ratios, limit, strict=False, of=""):
    """One line of the targets list: holds when every ratio is within the limit."""
    ratios = {s: r for s, r in ratios.items() if r is not None}
    if not ratios:
        return f"{head}: not measured"
    over = [s for s, r in ratios.items() if (r >= limit if strict else r > limit)]
    figures = ", ".join(f"{s} {ratio(r, 3)}" for s, r in ratios.items())
    verdict = "**holds**" if not over else "**does not hold**" + (
        f" for {', '.join(over)}" if len(ratios) > 1 else "")
    return f"{head}: {verdict}; {figures}{of} ({where})"


def section_targets(res):
    items = []
    med = lambda b, s, a, cpus=1, t=1: res.value(b, s, a, cpus, t, "median")

    fixed = med("null_syscall", "fixed", "icount")
    for s, limit in (("eager", EAGER_LIMIT), ("lazy", LAZY_LIMIT)):
        items.append(target(f"{poss(s)} null syscall at most {limit}× fixed's", "icount",
                            {s: div(med("null_syscall", s, "icount"), fixed)}, limit))
    linux = med("null_syscall", "linux", "icount")
    items.append(target("fixed's null syscall below Linux's getpid", "icount",
                        {"fixed": div(fixed, linux)}, 1.0, strict=True,
                        of="" if None in (fixed, linux) else
                        f" Linux's, {num(fixed)} against {num(linux)}"))

    a = primary(res, "thread_create_join", strategy="linux", cpus=1, threads=1,
                metric="median") or "icount"
    linux = med("thread_create_join", "linux", a)
    items.append(target("thread create plus join no slower than Linux's", a,
                        {s: div(med("thread_create_join", s, a), linux) for s in OURS}, 1.0,
                        of=" of Linux's"))

    for bench in SCALING_BENCHES:
        accel = next((a for a in ACCELS if scaling(res, bench, a)), None)
        data = scaling(res, bench, accel) if accel else {}
        items.append(target(f"`{bench}` flat in the number of threads (the most threads "
                            f"at most {FLAT_LIMIT}× one)", accel,
                            {s: growth(p) for s, p in data.items() if s in OURS}, FLAT_LIMIT))

    accel = next((a for a in ACCELS if futex_wake(res, a)), None)
    data = futex_wake(res, accel)[1] if accel else {}
    items.append(target(f"`futex_wake_n` linear in N (per waiter, the largest N at most "
                        f"{LINEAR_LIMIT}× the smallest)", accel,
                        {s: linear_ratio(p) for s, p in data.items() if s in OURS},
                        LINEAR_LIMIT))

    for bench in SMP_BENCHES:
        accel, many = smp_accel(res, bench)
        where = f"{accel}, {cpus_label(many)} against 1" if accel else None
        ratios = {} if accel is None else {
            s: div(med(bench, s, accel, many), med(bench, s, accel, 1))
            for s in res.strategies(bench=bench, accel=accel, cpus=many) if s in OURS}
        items.append(target(f"`{bench}` on {cpus_label(many or 4)} within {SMP_LIMIT}× of "
                            "1 CPU, per operation", where, ratios, SMP_LIMIT))
    return ["## Targets (issue 10)", "",
            "Computed from this CSV; a ratio is shown to three places so that one just over "
            "its limit is not rounded under it.", ""] + [f"- {i}" for i in items] + [""]


# --- IPC and restart (issue 12) ----------------------------------------------

def met(ok):
    return "not measured" if ok is None else ("**MET**" if ok else "**NOT MET**")


def pct(frac):
    return "-" if frac is None else f"{100 * frac:.1f}%"


def ipc_one_cpu(res, linux):
    """The IPC round trips on 1 CPU under icount, restart on and off; the target's figures."""
    lines = ["### IPC round trip, 1 CPU (icount)", ""]
    med = lambda b, s, off=False: res.value(b, s, "icount", 1, 1, "median", off)
    if not any(med("ipc_roundtrip", s, off) is not None for s in OURS for off in (False, True)):
        return lines + ["`ipc_roundtrip` was not measured under icount on 1 CPU.", ""], {}
    body, verdicts = [], {}
    fixed = {off: med("ipc_roundtrip", "fixed", off) for off in (False, True)}
    for s in OURS:
        on, off = med("ipc_roundtrip", s), med("ipc_roundtrip", s, True)
        if on is None and off is None:
            continue
        handoffs = res.value("ipc_roundtrip", s, "icount", 1, 1, "handoffs")
        to_linux = div(on, None if linux is None else IPC_GETPIDS * linux)
        verdicts[s] = (on, to_linux)
        body.append([s, cell(on, fixed[False], s == "fixed"), cell(off, fixed[True], s == "fixed"),
                     ratio(div(on, off), 3), num(handoffs), ratio(to_linux)])
    lines += [f"`ipc_roundtrip`: one `ipc_call` and the server's `ipc_reply_wait` between two "
              f"processes, registers only; median icount-tsc per round trip, ratio to fixed "
              f"with the same `kstack_restart`. Linux's `null_syscall` (getpid) in this run: "
              f"{num(linux)}" + ("" if linux is None else f", twice that {num(IPC_GETPIDS * linux)}")
              + ".", ""]
    lines += table(["strategy", res.default_label, "restart off", "on / off", "handoffs per round trip",
                    f"on / ({num(IPC_GETPIDS)} × Linux getpid)"], body)
    lines.append("")
    body = []
    for bench in IPC_BENCHES[1:]:
        vals = {(s, off): med(bench, s, off) for s in OURS for off in (False, True)}
        for s in OURS:
            if vals[(s, False)] is None and vals[(s, True)] is None:
                continue
            body.append([f"`{bench}`", s, cell(vals[(s, False)], vals[("fixed", False)], s == "fixed"),
                         cell(vals[(s, True)], vals[("fixed", True)], s == "fixed"),
                         ratio(div(vals[(s, False)], vals[(s, True)]), 3),
                         num(res.value(bench, s, "icount", 1, 1, "handoffs"))])
    if body:
        lines += ["The server a thread of the caller's process (`ipc_roundtrip_thread`), and a "
                  "server process with 64 bytes each way (`ipc_roundtrip_buf64`):", ""]
        lines += table(["bench", "strategy", res.default_label, "restart off", "on / off",
                        "handoffs per round trip"], body, numeric_from=2)
        lines.append("")
    return lines, verdicts


def ipc_two_cpus(res):
    """The 2-CPU boots (plan ipc2), ipc_handoff on and off."""
    lines = ["### IPC round trip, 2 CPUs (icount), `ipc_handoff` on and off", ""]
    body, crossed, samples = [], 0, 0
    for bench in IPC_BENCHES:
        off_bench = bench + "_nohandoff"
        for s in OURS:
            get = lambda b, m: res.value(b, s, "icount", 2, 1, m)
            on, off = get(bench, "median"), get(off_bench, "median")
            if on is None and off is None:
                continue
            other = (get(bench, "server_other_cpu"), get(off_bench, "server_other_cpu"))
            if other[1] is not None:
                samples += 1
                crossed += other[1] > 0
            body.append([f"`{bench}`", s, num(on), num(off), ratio(div(off, on), 3),
                         f"{num(get(bench, 'handoffs'))} / {num(get(off_bench, 'handoffs'))}",
                         f"{num(other[0])} / {num(other[1])}",
                         f"{num(get(bench, 'migrations'))} / {num(get(off_bench, 'migrations'))}"])
    if not body:
        return lines + ["Plan `ipc2` was not booted in this run (full runs only).", ""]
    lines += ["Plan `ipc2`, booted with `ipc_handoff=on` (the bench names as on 1 CPU) and "
              "`ipc_handoff=off` (`..._nohandoff`): median icount-tsc per round trip. "
              "`server on other CPU` samples, once after the batches, whether the server last ran "
              "on another CPU than the caller (1) or not (0); handoffs and migrations are kstat's "
              "counts per round trip. Cells with two figures are handoff on / off.", ""]
    lines += table(["bench", "strategy", "handoff on", "handoff off", "off / on",
                    "handoffs per round trip", "server on other CPU", "migrations per round trip"],
                   body, numeric_from=2)
    lines.append("")
    if samples:
        if crossed == 0:
            lines += [f"With `ipc_handoff=off` the server was on the caller's CPU in all {samples} "
                      "samples, with no migrations: the round trip goes through the run queues but "
                      "not across CPUs (the caller's CPU, idle once the caller blocks, takes the "
                      "woken server from the other CPU's queue before that CPU runs it).", ""]
        else:
            lines += [f"With `ipc_handoff=off` the server was on the other CPU in {crossed} of "
                      f"{samples} samples.", ""]
    return lines


def restart_costs(res):
    """futex_pingpong and every time bench, restart on against off (icount, 1 CPU)."""
    lines = ["### Restart on and off (icount, 1 CPU)", ""]
    med = lambda b, s, off: res.value(b, s, "icount", 1, 1, "median", off)
    verdicts = {}
    body = []
    for s in OURS:
        on, off = med("futex_pingpong", s, False), med("futex_pingpong", s, True)
        if off is None:
            continue
        verdicts[s] = div(on, off)
        ok = None if verdicts[s] is None else verdicts[s] <= RESTART_LIMIT
        body.append([s, num(off), num(on), ratio(verdicts[s], 3), met(ok)])
    if not body:
        return lines + ["No `kstack_restart=off` boot in this run (full runs only): nothing to "
                        "compare.", ""], verdicts
    lines += [f"`futex_pingpong` (wake-to-run on one CPU: two waits and two wakes per round trip), "
              f"median icount-tsc; target: restart adds at most {pct(RESTART_LIMIT - 1)}.", ""]
    lines += table(["strategy", "restart off", "restart on", "on / off",
                    f"at most {RESTART_LIMIT}×"], body)
    lines += ["", "Every bench of the micro plan, restart on over off (1.000× is no cost):", ""]
    body = []
    for bench, _ in TIME_BENCHES:
        ratios = [div(med(bench, s, False), med(bench, s, True)) for s in OURS]
        if any(r is not None for r in ratios):
            body.append([f"`{bench}`"] + [ratio(r, 3) for r in ratios])
    lines += table(["bench"] + list(OURS), body)
    return lines + [""], verdicts


def load_savings(res):
    """The mixed load at SAVING_THREADS (or the most measured): saving against fixed's boot."""
    lines = ["### Mixed load: memory with restart on and off", ""]
    rows = res.select(bench="mixed_load", metric="resident_kib", restart_off=None)
    if not rows:
        return lines + ["`mixed_load` was not measured in this run.", ""], {}, None
    accel, cpus = sorted({(r.accel, r.cpus) for r in rows},
                         key=lambda k: (ACCELS.index(k[0]), k[1]))[0]
    counts = {r.threads for r in rows if r.accel == accel and r.cpus == cpus}
    t = SAVING_THREADS if SAVING_THREADS in counts else max(counts)
    kib = {(s, off): res.value("mixed_load", s, accel, cpus, t, "resident_kib", off)
           for s in OURS for off in (False, True)}
    saving = {k: (None if v is None else
                  (lambda f: None if not f else 1 - v / f)(kib[("fixed", k[1])])) for k, v in kib.items()}
    body = [[s, num(kib[(s, False)]), pct(saving[(s, False)]), num(kib[(s, True)]),
             pct(saving[(s, True)])] for s in OURS
            if kib[(s, False)] is not None or kib[(s, True)] is not None]
    lines += [f"`mixed_load` with {t:,} threads ({accel}, {cpus_label(cpus)}): resident kernel "
              "stack in KiB, and the saving against fixed booted with the same `kstack_restart` "
              "in this run (1 - ours / fixed's).", ""]
    lines += table(["strategy", res.default_label, "saving", "restart off", "saving"], body)
    return lines + [""], saving, (accel, cpus, t)


def section_ipc_restart(res):
    lines = ["## IPC and restart (issue 12)", "",
             "Synchronous IPC (`ipc_call`, `ipc_reply_wait`) and restartable blocking "
             "(`kstack_restart`, docs/DESIGN.md 13.1), each measured with the option on (the "
             "default boots) and off (boots of their own, full runs only).", ""]
    linux = res.value("null_syscall", "linux", "icount", 1, 1, "median")
    part, ipc = ipc_one_cpu(res, linux)
    lines += part
    lines += ipc_two_cpus(res)
    part, futex = restart_costs(res)
    lines += part
    part, saving, where = load_savings(res)
    lines += part

    items = []
    figures = [f"{s} {num(on)} ({ratio(r, 3)} of {num(IPC_GETPIDS)} × Linux's): "
               f"{met(None if r is None else r < 1)}" for s, (on, r) in ipc.items() if on is not None]
    items.append(f"`ipc_roundtrip` below {num(IPC_GETPIDS)} × Linux's `null_syscall` (icount, 1 CPU, "
                 f"{res.default_label}; Linux {num(linux)}): "
                 + ("; ".join(figures) if figures and linux is not None else "not measured"))
    figures = [f"{s} {ratio(r, 3)}: {met(None if r is None else r <= RESTART_LIMIT)}"
               for s, r in futex.items()]
    items.append(f"restart adds at most {pct(RESTART_LIMIT - 1)} to `futex_pingpong` (on / off, "
                 "icount, 1 CPU): " + ("; ".join(figures) if figures else "not measured"))
    figures = []
    for s in ("eager", "lazy"):
        v = saving.get((s, False))
        figures.append(f"{s} {pct(v)}: {met(None if v is None else v >= SAVING_TARGET)}")
    where = "" if where is None else f"; {where[0]}, {cpus_label(where[1])}, {where[2]:,} threads"
    items.append(f"mixed load saves at least {pct(SAVING_TARGET)} against fixed under eager and lazy, "
                 f"{res.default_label}{where}: " + "; ".join(figures))
    lines += ["### Targets (issue 12)", ""] + [f"- {i}" for i in items] + [""]
    return lines


# --- the plots ----------------------------------------------------------------

def gnuplot_terminal(gnuplot):
    probe = subprocess.run([gnuplot, "-e", "set terminal pngcairo"], capture_output=True,
                           text=True)
    if probe.returncode == 0 and not probe.stderr.strip():
        return "pngcairo size 960,560 noenhanced font ',11'"
    return "png size 960,560 noenhanced"


def plot_script(name, terminal, csv_path, title, xlabel, ylabel, body):
    return "\n".join([
        f"# Generated by tools/bench_report.py from {csv_path}.",
        f"# Re-draw: run `gnuplot {name}.gp` in this directory (it writes ../{name}.png).",
        f"set terminal {terminal}",
        f"set output '../{name}.png'",
        f"set title \"{title}\"",
        f"set xlabel \"{xlabel}\"",
        f"set ylabel \"{ylabel}\"",
        "set grid",
        "set key outside right top",
        "set datafile missing '?'",
        *body, ""])


def style(s, i):
    return f"lc rgb '{COLORS.get(s, '#888888')}' lw 2 pt {i + 5} ps 1.2"


def write_dat(path, header, rows):
    with open(path, "w") as f:
        f.write("# " + " ".join(header) + "\n")
        for row in rows:
            f.write(" ".join("?" if v is None else (f"{v:g}" if isinstance(v, float) else str(v))
                             for v in row) + "\n")


def no_data(what):
    """A plot that says what is missing: make test checks every plot exists."""
    return ("no data", "", ["unset key", "unset tics",
                            f"set label 1 \"no {what} in this run\" at graph 0.5,0.5 center",
                            "set xrange [0:1]", "set yrange [0:1]", "plot NaN notitle"])


def lines_plot(plots_dir, dat, xs, series, xcol_label, log_x, extra=()):
    """Writes the data file, one column per strategy; returns the commands drawing it."""
    strategies = [s for s in STRATEGIES if s in series]
    write_dat(os.path.join(plots_dir, dat), [xcol_label] + strategies,
              [[x] + [series[s].get(x) for s in strategies] for x in xs])
    body = list(extra)
    if log_x and xs and xs[0] > 0:
        # a margin either side, in proportion, so the end points are not on the frame
        body += ["set logscale x", f"set xrange [{xs[0] / 1.5:g}:{xs[-1] * 1.5:g}]"]
    body.append("set yrange [0:*]")
    parts = [f"'{dat}' using 1:{i + 2} with linespoints {style(s, i)} title '{s}'"
             for i, s in enumerate(strategies)]
    return body + ["plot " + ", \\\n     ".join(parts)]


def plot_memory(res, plots_dir):
    groups = sorted({(r.accel, r.cpus) for r in res.select(bench="mixed_load",
                                                           metric="resident_kib")},
                    key=lambda k: (ACCELS.index(k[0]), k[1]))
    if not groups:
        return no_data("mixed_load")
    accel, cpus = groups[0]
    rows = res.select(bench="mixed_load", metric="resident_kib", accel=accel, cpus=cpus)
    series = {}
    for r in rows:
        series.setdefault(r.strategy, {})[r.threads] = r.value
    xs = sorted({r.threads for r in rows})
    return (f"{accel}, {cpus_label(cpus)}", "resident kernel stack (KiB)",
            lines_plot(plots_dir, "memory_vs_threads.dat", xs, series, "threads", True))


def plot_depth(res, plots_dir):
    accel = primary(res, "null_syscall", cpus=1, threads=1, metric="median")
    if accel is None:
        return no_data("null_syscall")
    series = {}
    for depth, bench in DEPTHS:
        for s in STRATEGIES:
            v = res.value(bench, s, accel, 1, 1, "median")
            if v is not None:
                series.setdefault(s, {})[depth] = v
    return (f"{accel}, 1 CPU", f"median {TIME_UNIT[accel]} per syscall",
            lines_plot(plots_dir, "syscall_vs_depth.dat", [d for d, _ in DEPTHS], series,
                       "depth_kib", False,
                       extra=["set xtics (" + ", ".join(f"'{d}' {d}" for d, _ in DEPTHS) + ")",
                              "set xrange [-0.5:12.5]"]))


def plot_threads(res, plots_dir):
    accel = next((a for a in ACCELS if scaling(res, "null_syscall", a)), None)
    if accel is None:
        return no_data("null_syscall with more than one thread")
    series = scaling(res, "null_syscall", accel)
    xs = sorted({t for p in series.values() for t in p})
    return (f"{accel}, 1 CPU", f"median {TIME_UNIT[accel]} per null syscall",
            lines_plot(plots_dir, "syscall_vs_threads.dat", xs, series, "threads", True))


def plot_hist(res, plots_dir):
    groups = res.groups("pages_used_hist")
    if not groups:
        return no_data("pages_used_hist")
    accel = groups[0][0]
    _, cpus, threads = max(g for g in groups if g[0] == accel)
    metrics = hist_metrics(res, accel, cpus, threads)
    shares = {}
    for s in res.strategies(bench="pages_used_hist", accel=accel, cpus=cpus, threads=threads):
        counts = [res.value("pages_used_hist", s, accel, cpus, threads, m) or 0 for m in metrics]
        if sum(counts) > 0:  # fixed takes no samples
            shares[s] = [100.0 * c / sum(counts) for c in counts]
    if not shares:
        return no_data("pages_used_hist samples")
    strategies = [s for s in STRATEGIES if s in shares]
    write_dat(os.path.join(plots_dir, "pages_used_hist.dat"), ["pages"] + strategies,
              [[m[1:]] + [round(shares[s][i], 3) for s in strategies]
               for i, m in enumerate(metrics)])
    parts = [f"'pages_used_hist.dat' using {i + 2}" + (":xtic(1)" if i == 0 else "")
             + f" lc rgb '{COLORS.get(s, '#888888')}' title '{s}'"
             for i, s in enumerate(strategies)]
    body = ["set style data histogram", "set style histogram cluster gap 1",
            "set style fill solid 0.85 border -1", "set boxwidth 0.9", "set yrange [0:*]",
            "set grid noxtics", "plot " + ", \\\n     ".join(parts)]
    return (f"{accel}, {cpus_label(cpus)}, {threads:,} threads",
            "share of the sampled entries (%)", body)


def draw_plots(res, out, csv_path):
    """Writes <out>/plots/*.dat and *.gp and runs gnuplot on each; returns errors."""
    gnuplot = shutil.which("gnuplot")
    if gnuplot is None:
        return ["gnuplot not found: install Debian's gnuplot-nox (tools/setup.sh does)"]
    plots_dir = os.path.join(out, "plots")
    os.makedirs(plots_dir, exist_ok=True)
    terminal = gnuplot_terminal(gnuplot)
    builders = {
        "memory_vs_threads": (plot_memory, "threads (log)",
                              "Resident kernel stack under the mixed load"),
        "syscall_vs_depth": (plot_depth, "kernel stack used by the syscall (KiB)",
                             "Cost of a syscall against its stack depth"),
        "pages_used_hist": (plot_hist, "stack pages used by one kernel entry",
                            "Pages-used histogram, mixed load"),
        "syscall_vs_threads": (plot_threads, "other threads asleep (log)",
                               "Null syscall against the number of threads"),
    }
    errors = []
    for name, _ in PLOTS:
        build, xlabel, title = builders[name]
        dat = os.path.join(plots_dir, name + ".dat")
        if os.path.exists(dat):  # a plot with no data this time writes none
            os.remove(dat)
        config, ylabel, body = build(res, plots_dir)
        gp = os.path.join(plots_dir, name + ".gp")
        with open(gp, "w") as f:
            f.write(plot_script(name, terminal, csv_path, f"{title} ({config})", xlabel,
                                ylabel, body))
        png = os.path.join(out, name + ".png")
        if os.path.exists(png):
            os.remove(png)
        run = subprocess.run([gnuplot, name + ".gp"], cwd=plots_dir, capture_output=True,
                             text=True)
        if run.returncode != 0 or not os.path.exists(png):
            errors.append(f"gnuplot failed on {gp}: {run.stderr.strip() or 'no PNG written'}")
    return errors


def section_plots():
    lines = ["## Plots", "",
             "The data files and gnuplot scripts are in `plots/` next to this report; "
             "re-draw one with `cd plots && gnuplot <name>.gp`.", ""]
    for name, what in PLOTS:
        lines += [f"![{what}]({name}.png)", "", f"*{what}* (`{name}.png`)", ""]
    return lines


# --- the rest -----------------------------------------------------------------

def section_minimums(res):
    lines = ["## Appendix: minimum per operation", "",
             "The fastest batch, per operation, one thread; same layout as the medians.", ""]
    shown = False
    for accel in ACCELS:
        body = time_table(res, accel, "min")
        if body:
            shown = True
            lines += [f"{accel} ({TIME_UNIT[accel]}):", ""] + body + [""]
    return lines if shown else []


def section_other(res):
    left = [r for r in res.rows if r.key() not in res.used]
    if not left:
        return []
    lines = ["## Other figures", "",
             "Every row of the CSV that no section above shows, so that a new bench or metric "
             "appears without a change to tools/bench_report.py.", ""]
    keys = {}
    for r in left:
        keys.setdefault((r.bench, r.accel, r.cpus, r.threads, r.metric, r.unit, r.restart_off),
                        {})[r.strategy] = r.value
    body = []
    order = lambda k: (k[0], ACCELS.index(k[1]), k[2], k[3], k[4], k[5], k[6])
    for k in sorted(keys, key=order):
        vals = keys[k]
        fixed = vals.get("fixed")
        if fixed is None:  # the fixed row may have been shown elsewhere
            fixed = res.by_key.get((k[0], "fixed", k[1], k[2], k[3], k[4], k[6]))
            fixed = fixed.value if fixed is not None else None
        body.append([f"`{k[0]}`", k[1], k[2], f"{k[3]:,}", k[4], k[5], "off" if k[6] else "default"]
                    + [cell(vals.get(s), fixed, s == "fixed") for s in STRATEGIES])
    lines += table(["bench", "accel", "cpus", "threads", "metric", "unit", "kstack_restart"]
                   + list(STRATEGIES), body, numeric_from=7)
    return lines + [""]


def build_report(res, csv_path):
    lines = section_header(res, csv_path)
    lines += section_main(res)
    lines += section_memory(res)
    lines += section_scaling(res)
    lines += ["## The LKML objections, answered with this run's figures", ""]
    lines += objection_tlb(res)
    lines += objection_sleepers(res)
    lines += objection_ist(res)
    lines += objection_hazard(res)
    lines += objection_oom(res)
    lines += section_targets(res)
    lines += section_ipc_restart(res)
    lines += section_plots()
    lines += section_minimums(res)
    lines += section_other(res)  # last: it shows what the others did not use
    return "\n".join(lines).rstrip() + "\n"


def report(csv_path, out):
    rows, problems = read_csv(csv_path)
    if problems:
        for p in problems[:20]:
            print(f"bench_report: {p}", file=sys.stderr)
        if len(problems) > 20:
            print(f"bench_report: ... and {len(problems) - 20} more", file=sys.stderr)
        print(f"bench_report: {csv_path} is malformed: no report written", file=sys.stderr)
        return 1
    os.makedirs(out, exist_ok=True)
    res = Results(rows)
    errors = draw_plots(res, out, csv_path)  # first: the plots mark the rows they use too
    text = build_report(res, csv_path)
    path = os.path.join(out, "report.md")
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)
    for e in errors:
        print(f"bench_report: {e}", file=sys.stderr)
    if errors:
        print(f"bench_report: wrote {path}, but not every plot", file=sys.stderr)
        return 2
    print(f"bench_report: wrote {path} and {len(PLOTS)} plots from {len(rows)} rows")
    return 0


def check(csv_path, out):
    rows, problems = read_csv(csv_path)
    if not problems and not rows:
        problems.append(f"{csv_path} has the header and no rows: the benchmark reported nothing")
    path = os.path.join(out, "report.md")
    text = None
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if os.path.getmtime(path) < os.path.getmtime(csv_path):
            problems.append(f"{path} is older than {csv_path}: the report was not regenerated")
    except OSError as e:
        problems.append(f"{path}: {e.strerror}")
    if text is not None:
        for what, names in (("strategy", sorted({r.strategy for r in rows})),
                            ("bench", sorted({r.bench for r in rows}))):
            for name in names:
                if not re.search(r"(?<![A-Za-z0-9_])" + re.escape(name) + r"(?![A-Za-z0-9_])",
                                 text):
                    problems.append(f"{path} does not mention {what} {name}")
    pngs = [name + ".png" for name, _ in PLOTS]
    if text is not None:
        pngs += [p for p in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", text) if p not in pngs]
    for png in pngs:
        p = os.path.join(out, png)
        try:
            with open(p, "rb") as f:
                if f.read(len(PNG_SIGNATURE)) != PNG_SIGNATURE:
                    problems.append(f"{p} is not a PNG (no PNG signature)")
        except OSError as e:
            problems.append(f"{p}: {e.strerror}")
    for p in problems:
        print(f"bench_report: check: {p}")
    if problems:
        print(f"bench_report: check failed: {count(len(problems), 'problem')}")
        return 1
    print(f"bench_report: check passed: {len(rows)} rows, report.md and {len(pngs)} plots")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--csv", default="build/bench/results.csv")
    ap.add_argument("--out", default="build/bench", help="where report.md and the PNGs go")
    ap.add_argument("--check", metavar="OUT", help="verify the CSV and OUT's report and plots")
    args = ap.parse_args()
    if not os.path.isfile(args.csv):
        print(f"bench_report: {args.csv}: no such file (run `make bench` first)",
              file=sys.stderr)
        return 1 if args.check is not None else 2
    if args.check is not None:
        return check(args.csv, args.check)
    return report(args.csv, args.out)


if __name__ == "__main__":
    sys.exit(main())
