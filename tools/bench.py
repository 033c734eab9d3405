#!/usr/bin/env python3
"""make bench: boot the kernel once per strategy and plan, and Linux, collect the BENCH lines into
build/bench/results.csv, then write build/bench/report.md and the plots (tools/bench_report.py).

  python3 tools/bench.py [--quick] [--jobs N] [--no-linux] [--strategies LIST] [--out DIR]

The boots (docs/DESIGN.md section 10), for each of fixed, eager, fault and lazy:
  micro, 1 CPU, -icount shift=0   the primary table: the guest TSC counts instructions (icount-tsc),
                                  the IPC round trips among them
  micro, 1 CPU, plain TCG         the secondary table, and the 1-CPU side of the SMP comparison
  load,  4 CPUs, plain TCG        memory under a mixed load, and the 4-CPU costs
  micro, icount, kstack_restart=off   what restartable blocking costs    (full runs only)
  load,  4 CPUs, kstack_restart=off   what it saves under the mixed load (full runs only)
  ipc2, 2 CPUs, icount, ipc_handoff=on and =off   IPC round trips on 2 CPUs (full runs only)
  kstacksmp safe and unsafe       the TLB hazard test's figures          (full runs only)
  oomtests, 64 MiB                the exhaustion test's figures          (full runs only)
and with ACCEL=kvm (where /dev/kvm works) micro once more under KVM, in real cycles. Linux (Debian's
linux-image-amd64, tools/linux_peer.py) runs its own microbenchmarks on the same QEMU settings.
--quick: small counts, the micro and load plans only (make test checks the pipeline with it).
Each of our rows carries the boot's kstack_restart (the guest reads it from kstat) in the column
`restart`; Linux's rows have `-` there.
Python 3 standard library only.
"""
import argparse
import concurrent.futures
import csv
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STRATEGIES = ["fixed", "eager", "fault", "lazy"]
HEADER = ["bench", "strategy", "cpus", "threads", "metric", "value", "unit", "accel", "restart"]
TIME_UNIT = {"icount": "icount-tsc", "tcg": "tcg-tsc", "kvm": "cycles"}
BENCH_RE = re.compile(r"^BENCH (\{.*\})\s*$", re.M)
EXIT_OK = 33                # isa-debug-exit: the kernel's "all passed" (0x10 << 1 | 1)


class Boot:
    """One QEMU boot of our kernel: what it runs, on which accelerator, and how to read its log."""
    def __init__(self, name, cmdline, accel, smp, mem="4G", timeout=900, parse="bench", strategy=None):
        self.name, self.cmdline, self.accel, self.smp, self.mem = name, cmdline, accel, smp, mem
        self.timeout, self.parse, self.strategy = timeout, parse, strategy


def plan(quick, accel_env, strategies=STRATEGIES):
    boots = []
    suffix = "-quick" if quick else ""
    for s in strategies:
        base = f"testsys=1 kstack={s}"
        boots.append(Boot(f"{s} micro icount smp1", f"init=bench initarg=micro{suffix} {base}", "icount", 1))
        if not quick:
            boots.append(Boot(f"{s} micro tcg smp1", f"init=bench initarg=micro{suffix} {base}", "tcg", 1))
        boots.append(Boot(f"{s} load tcg smp{2 if quick else 4}", f"init=bench initarg=load{suffix} {base}",
                          "tcg", 2 if quick else 4))
        if accel_env == "kvm":
            boots.append(Boot(f"{s} micro kvm smp1", f"init=bench initarg=micro{suffix} {base}", "kvm", 1))
        if not quick:
            boots.append(Boot(f"{s} micro icount smp1 restart=off",
                              f"init=bench initarg=micro {base} kstack_restart=off", "icount", 1))
            boots.append(Boot(f"{s} load tcg smp4 restart=off", f"init=bench initarg=load {base} kstack_restart=off",
                              "tcg", 4))
            for handoff in ("on", "off"):
                boots.append(Boot(f"{s} ipc2 icount smp2 handoff={handoff}",
                                  f"init=bench initarg=ipc2 {base} ipc_handoff={handoff}", "icount", 2))
            for tlb in ("safe", "unsafe"):
                boots.append(Boot(f"{s} hazard {tlb}", f"init=kstacksmp kstack_tlb_check=1 kstack_tlb={tlb} {base}",
                                  "tcg", 4, mem="512M", timeout=300, parse=f"hazard_{tlb}", strategy=s))
            boots.append(Boot(f"{s} oom 64M", f"init=oomtests {base}", "tcg", 4, mem="64M", timeout=300,
                              parse="oom", strategy=s))
    return boots


def qemu_accel(accel):
    if accel == "icount":
        return ["-accel", "tcg,thread=single", "-icount", "shift=0"]
    return ["-accel", accel]


def run_boot(boot, out):
    """Boot, wait, and return (rows, seconds, error or None)."""
    safe = re.sub(r"[^\w.-]+", "-", boot.name)
    iso, log = os.path.join(out, "iso", safe + ".iso"), os.path.join(out, "logs", safe + ".log")
    os.makedirs(os.path.dirname(iso), exist_ok=True)
    os.makedirs(os.path.dirname(log), exist_ok=True)
    start = time.monotonic()
    mk = subprocess.run(["sh", "tools/mkiso.sh", iso, boot.cmdline], capture_output=True, text=True)
    if mk.returncode != 0:
        return [], 0.0, f"mkiso failed: {mk.stderr.strip()[-200:]}"
    cmd = ["qemu-system-x86_64", *qemu_accel(boot.accel), "-cpu", "max", "-m", boot.mem, "-smp", str(boot.smp),
           "-display", "none", "-serial", f"file:{log}", "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", iso]
    try:
        status = subprocess.run(cmd, capture_output=True, timeout=boot.timeout).returncode
    except subprocess.TimeoutExpired:
        status = None
    took = time.monotonic() - start
    text = open(log, errors="replace").read() if os.path.exists(log) else ""
    rows, err = parse(boot, text)
    if status is None:
        err = f"timed out after {boot.timeout}s"
    elif err is None and boot.parse == "bench" and status != EXIT_OK:
        err = f"QEMU exit status {status}"
    if err:
        err += f" (log: {log})"
    return rows, took, err


def restart_of(text):
    """kstack_restart of a boot that prints no BENCH lines: the kernel says so at boot only when it is given."""
    return "off" if "(kstack_restart=off)" in text else "on"


def parse(boot, text):
    """CSV rows from a boot's serial log, and an error or None."""
    rows = []
    if boot.parse == "bench":
        for m in BENCH_RE.finditer(text):
            r = json.loads(m[1])
            unit = TIME_UNIT[boot.accel] if r["unit"] == "tsc" else r["unit"]
            rows.append([r["bench"], r["strategy"], r["cpus"], r["threads"], r["metric"], r["value"], unit, boot.accel,
                         r.get("restart", "-")])
        errors = re.findall(r"^BENCH-ERROR (.*)$", text, re.M)
        if errors:
            return rows, "; ".join(errors[:3])
        if "BENCH-DONE" not in text:
            return rows, "no BENCH-DONE line"
        return rows, None
    if boot.parse.startswith("hazard"):
        m = re.search(r"# hazard: (\d+) deep sleeps, (\d+) bad frames, (\d+) stale stack translations caught, "
                      r"(\d+) migrations", text)
        if not m:
            return rows, "no '# hazard:' line"
        for metric, value in zip(("deep_sleeps", "bad_frames", "stale_reads", "migrations"), m.groups()):
            rows.append([f"tlb_{boot.parse}", boot.strategy, boot.smp, 1, metric, int(value), "count", boot.accel,
                         restart_of(text)])
        return rows, None
    if boot.parse == "oom":
        hog = re.search(r"# hog: held (\d+) pages, .*?; (\d+) sleeps of its threads in the kernel, (\d+) refused", text)
        held = re.search(r"# memory held at zero: (\d+) stack expansions failed, \d+ cache takes found it empty, "
                         r"(\d+) switch-ins waited", text)
        if not hog or not held:
            return rows, "no '# hog:' or '# memory held at zero:' line"
        for metric, value in (("hog_pages", hog[1]), ("refused", hog[3]), ("expand_failed", held[1]),
                              ("switch_in_waits", held[2])):
            rows.append(["oom_hold", boot.strategy, boot.smp, 1, metric, int(value), "count", boot.accel,
                         restart_of(text)])
        return rows, None
    raise ValueError(boot.parse)


def linux_rows(quick, log):
    """Linux's BENCH rows, under icount (1 CPU) and plain TCG (1 and 4 CPUs); [] with a message if unavailable."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import linux_peer
    except ImportError as e:
        log(f"bench: linux: tools/linux_peer.py not usable ({e}): no Linux column")
        return []
    rows = []
    try:
        linux_peer.prepare()
    except SystemExit:
        log("bench: linux: no kernel image (see the message above): no Linux column")
        return []
    mode = "quick" if quick else "full"
    for accel, smp in ((("icount", 1),) if quick else (("icount", 1), ("tcg", 1), ("tcg", 4))):
        start = time.monotonic()
        try:
            lines = linux_peer.run(mode=mode, icount=(accel == "icount"), smp=smp)
        except Exception as e:   # a failed peer boot must not cost the rest of the report
            log(f"bench: linux {accel} smp{smp}: FAILED: {e}")
            continue
        for r in lines:
            unit = TIME_UNIT[accel] if r["unit"] == "tsc" else r["unit"]
            rows.append([r["bench"], "linux", r["cpus"], r["threads"], r["metric"], r["value"], unit, accel, "-"])
        log(f"bench: linux {accel} smp{smp}: {len(lines)} results in {time.monotonic() - start:.1f}s")
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small counts, micro and load plans only")
    ap.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 2), help="boots at once (default 2)")
    ap.add_argument("--no-linux", action="store_true", help="leave the Linux peer out")
    ap.add_argument("--out", default="build/bench", help="output directory (default build/bench)")
    ap.add_argument("--strategies", default=",".join(STRATEGIES),
                    help="comma-separated strategies to boot (default all: " + ",".join(STRATEGIES) + ")")
    args = ap.parse_args()
    strategies = args.strategies.split(",")
    unknown = [s for s in strategies if s not in STRATEGIES]
    if unknown or not strategies:
        ap.error(f"unknown strategy {', '.join(unknown)} (expected some of {', '.join(STRATEGIES)})")
    os.chdir(ROOT)
    accel_env = os.environ.get("ACCEL", "tcg")
    if accel_env == "kvm" and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        print("bench: ACCEL=kvm but /dev/kvm is not usable here: the KVM table is left out", file=sys.stderr)
        accel_env = "tcg"
    if not os.path.exists("build/kernel.elf"):
        print("bench: build/kernel.elf missing: run `make` first (make bench does)", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    boots = plan(args.quick, accel_env, strategies)
    rows, failures, t0 = [], [], time.monotonic()

    def log(msg):
        print(msg, flush=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(args.jobs, 1)) as pool:
        futures = {pool.submit(run_boot, b, args.out): b for b in boots}
        linux = None if args.no_linux else pool.submit(linux_rows, args.quick, log)
        done = 0
        for f in concurrent.futures.as_completed(futures):
            b, done = futures[f], done + 1
            got, took, err = f.result()
            rows += got
            log(f"bench: [{done}/{len(boots)}] {b.name}: {len(got)} results in {took:.1f}s"
                + (f": FAILED: {err}" if err else ""))
            if err:
                failures.append(f"{b.name}: {err}")
        if linux:
            rows += linux.result()
    csv_path = os.path.join(args.out, "results.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        w.writerows(sorted(rows, key=lambda r: (r[7], r[0], STRATEGIES.index(r[1]) if r[1] in STRATEGIES else 9,
                                                r[2], r[3], r[4], r[8])))
    log(f"bench: {len(rows)} results in {csv_path} ({time.monotonic() - t0:.0f}s)")
    rep = subprocess.run([sys.executable, "tools/bench_report.py", "--csv", csv_path, "--out", args.out])
    if rep.returncode != 0:
        failures.append("tools/bench_report.py failed")
    for msg in failures:
        print(f"bench: FAILED: {msg}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
