#!/usr/bin/env python3
"""Test harness: host unit tests (ASan/UBSan), one QEMU boot per row of tests/suites.conf
with KTAP parsed from the serial log, and two gdb-stub units (gdb: kmain; gdb-kstack: the
kernel's gdb commands against its KSTAT line). Python 3 standard library only.

Usage (from the repo root, after `make`): python3 tests/harness.py [--suite NAME] [--jobs N] [--selftest]
Prints one `PASS|FAIL|SKIP <name>` line per test, then `N passed, N failed[, N skipped]`.
Exit status: 0 all passed, 1 some test failed, 2 usage or setup error. ACCEL=kvm selects KVM.
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import traceback

CONF = "tests/suites.conf"
TIMES = "build/test/times.txt"
COMPARE_CONF = "tests/compare.conf"
KERNEL_ELF, DEFAULT_ISO, MKISO = "build/kernel.elf", "build/kstack.iso", "tools/mkiso.sh"
GDB_SCRIPT = "tests/gdb/kmain.gdb"
# The gdb-kstack unit: the kernel's gdb commands (tools/gdb/kstack.py) against its own KSTAT line.
GDB_KSTACK_SCRIPT, CACHE_H = "tests/gdb/kstack.gdb", "kernel/stack/cache.h"
GDB_KSTACK_CMDLINE = "init=stackdemo testsys=1 kstat_every=300"
OVMF_BIOS = "/usr/share/ovmf/OVMF.fd"
OVMF_PFLASH = ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_CODE_4M.fd")
HOST_CFLAGS = ("-std=gnu11 -g -O1 -fsanitize=address,undefined -fno-omit-frame-pointer "
               "-Wall -Wextra -Werror -Ikernel -Itests/host -DHOST_TEST").split()
HOST_TIMEOUT_S, GDB_TIMEOUT_S, TAIL = 60, 120, 30
# isa-debug-exit: QEMU exits with (value << 1) | 1; 0 with -no-reboot means a reset.
EXIT_OK = 33
EXIT_REASONS = {35: "kernel reported failing tests: exit 0x11",
                37: "kernel panic: exit 0x12", 0: "triple fault or reset"}

# ---------------------------------------------------------------- KTAP parsing

VERSION_RE = re.compile(r"K?TAP version \d+$")
SUBTEST_RE = re.compile(r"# Subtest: (\S+)")
PLAN_RE = re.compile(r"1\.\.(\d+)\s*$")
RESULT_RE = re.compile(r"(not ok|ok) (\d+)\b(?: -)? ?([^#]*?)\s*(?:#\s*(.*))?$")


class Doc:
    """One KTAP document: the top level, or a (sub)test's nested output."""
    def __init__(self, depth, name=None):
        self.depth, self.name, self.plan = depth, name, None
        self.results, self.children, self.closing = [], [], None


class Result:
    """One `ok`/`not ok` line; status is PASS, FAIL or SKIP (TODO counts as SKIP)."""
    def __init__(self, match):
        self.name = re.sub(r"\s+", "_", match[3]) or "test" + match[2]
        directive = (match[4] or "").strip()
        self.child = None           # the Doc of a subtest this line closes
        if re.match(r"(SKIP|TODO)\b", directive, re.I):
            self.status, self.reason = "SKIP", directive[4:].strip(" :") or directive.lower()
        else:
            self.status, self.reason = ("PASS" if match[1] == "ok" else "FAIL"), ""


def parse_ktap(text):
    """Parse KTAP (version 1, 4-space indent per level) out of text that may hold other
    lines too; returns the list of top-level Docs (several if KTAP restarts)."""
    roots, stack = [], []           # stack[d] is the open Doc at depth d

    def doc_at(depth, name=None):   # the open Doc at depth, created if its parent exists
        nonlocal stack
        if len(stack) > depth:
            return stack[depth]
        if len(stack) < depth:
            return None             # no parent: stray indented line
        doc = Doc(depth, name)
        (stack[depth - 1].children if depth else roots).append(doc)
        stack = stack + [doc]
        return doc

    for raw in text.splitlines():
        line = raw.rstrip().expandtabs(4)
        body = line.lstrip(" ")
        depth = (len(line) - len(body)) // 4
        if VERSION_RE.match(body):
            stack = stack[:depth] if len(stack) >= depth else stack
            doc_at(depth)
        elif m := SUBTEST_RE.match(body):
            doc = stack[depth] if len(stack) > depth else None
            if doc is None or doc.name or doc.results:
                stack = stack[:depth]
                doc = doc_at(depth)
            if doc is not None:
                doc.name = m[1]
        elif (m := PLAN_RE.match(body)) and (doc := doc_at(depth)) is not None:
            doc.plan = int(m[1])
        elif (m := RESULT_RE.match(body)) and (doc := doc_at(depth)) is not None:
            result = Result(m)
            if len(stack) > depth + 1:      # this line closes the nested subtest
                child = stack[depth + 1]
                child.closing, child.name, result.child = result, child.name or result.name, child
            doc.results.append(result)
            stack = stack[:depth + 1]
    return roots


def plan_check(suite, doc, what="results"):
    """A FAIL outcome if doc reported fewer or more results than its plan."""
    if doc.plan is None or doc.plan == len(doc.results):
        return []
    n = doc.plan - len(doc.results)
    what = what[:-1] if n == 1 else what
    text = f"(missing {n} {what})" if n > 0 else f"(plan 1..{doc.plan}, {len(doc.results)} results)"
    return [(suite, text, "FAIL", "")]


def ktap_outcomes(roots):
    """Flatten parsed KTAP into (suite, test, status, reason) tuples. A top level without
    subtests is a flat list of tests (suite None); otherwise each subtest is a suite."""
    out = []
    for root in roots:
        if not root.children:
            out += [(None, r.name, r.status, r.reason) for r in root.results]
            out += plan_check(None, root)
            continue
        unclosed = [c for c in root.children if c.closing is None]   # cut short by a crash
        for r, child in [(r, r.child) for r in root.results] + [(None, c) for c in unclosed]:
            if child is None:       # a suite result without nested output, e.g. skipped
                out.append((r.name, "(suite)", r.status, r.reason))
                continue
            suite = child.name or "unnamed"
            out += [(suite, t.name, t.status, t.reason) for t in child.results]
            out += plan_check(suite, child)
            if r and r.status != "PASS" and not any(t.status == r.status for t in child.results):
                out.append((suite, "(suite)", r.status, r.reason))
        out += plan_check(None, root, "suites")
    return out


def result_name(label, suite, test):
    """`label.test` when the boot is named for the suite, else `label/suite.test`."""
    base = label.split("[", 1)[0]
    if suite is None or suite in (base, base.removeprefix("host-")):
        return f"{label}.{test}"
    return f"{label}/{suite}.{test}"


# ---------------------------------------------------------------- reporting

class Report:
    """The lines one unit (host test, boot, gdb test) prints, in order."""
    def __init__(self):
        self.lines = []             # (status or "INFO", text)

    def add(self, status, name, reason=""):
        self.lines.append((status, f"{status} {name}" + (f" ({reason})" if reason else "")))

    def info(self, text):
        self.lines += [("INFO", "    " + line) for line in text.rstrip().splitlines()]

    def failed(self):
        return any(status == "FAIL" for status, _ in self.lines)

    def tests(self):
        return sum(status != "INFO" for status, _ in self.lines)


def report_ktap(rep, label, text, ran=(), expected=None):
    """Add the KTAP results in text to rep; tests expected in suites that ran but absent
    from the output fail (or skip, when their whole suite was skipped)."""
    roots = parse_ktap(text)
    seen, skipped = {}, set()
    for suite, test, status, reason in ktap_outcomes(roots):
        rep.add(status, result_name(label, suite, test), reason)
        seen.setdefault(suite, set()).add(test)
        if test == "(suite)" and status == "SKIP":
            skipped.add(suite)
    for suite in ran:
        for test in (expected or {}).get(suite, []):
            if test not in seen.get(suite, ()):
                rep.add(*(("SKIP", result_name(label, suite, test), "suite skipped") if suite in skipped
                          else ("FAIL", result_name(label, suite, test), "missing from output")))
    if ran and not roots:
        rep.add("FAIL", f"{label}.(ktap)", "no KTAP output")


def tail(text, n=TAIL):
    """The last n non-blank lines of text, without terminal escapes (firmware draws menus)."""
    text = re.sub(r"\x1b\[[0-9;=?:]*[A-Za-z]|[^\x20-\x7e\n\t]", "", text)
    return "\n".join([line for line in text.splitlines() if line.strip()][-n:])


def read_text(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# ---------------------------------------------------------------- host unit tests

def host_label(src):
    return "host-" + os.path.basename(src)[:-2].removeprefix("test_")


def host_sources(src):
    """Kernel sources named on `// host-test-sources:` lines of a host test."""
    found = re.findall(r"^\s*//\s*host-test-sources:(.*)$", read_text(src), re.M)
    return [path for line in found for path in line.split()]


def run_host_test(src):
    """Compile a host test with ASan/UBSan, run it, report its KTAP and how it exited."""
    rep, label = Report(), host_label(src)
    exe = os.path.join("build/host", os.path.basename(src)[:-2])
    os.makedirs("build/host", exist_ok=True)
    cmd = [os.environ.get("HOST_CC", "cc"), *HOST_CFLAGS, "-o", exe, src, *host_sources(src)]
    cc = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if cc.returncode != 0:
        rep.add("FAIL", f"{label}.(compile)", f"compiler exit status {cc.returncode}")
        rep.info(" ".join(cmd) + "\n" + tail(cc.stdout + cc.stderr, 60))
        return rep
    env = dict(os.environ, UBSAN_OPTIONS=os.environ.get("UBSAN_OPTIONS", "print_stacktrace=1"))
    try:
        run = subprocess.run([exe], capture_output=True, text=True, errors="replace",
                             timeout=HOST_TIMEOUT_S, env=env, stdin=subprocess.DEVNULL)
        out, err, why = run.stdout, run.stderr, run.returncode and f"exit status {run.returncode}"
    except subprocess.TimeoutExpired as e:
        out, err, why = _text(e.stdout), _text(e.stderr), f"hang: killed after {HOST_TIMEOUT_S}s"
    report_ktap(rep, label, out)
    if not why and re.search(r"runtime error|AddressSanitizer|LeakSanitizer", err):
        why = "sanitizer report"
    if why:
        rep.add("FAIL", f"{label}.(exit)", why)
        rep.info(f"{exe} stderr:\n" + tail(err, 60))
    elif rep.tests() == 0:
        rep.add("FAIL", f"{label}.(ktap)", "no KTAP output")
    return rep


def _text(data):
    return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")


# ---------------------------------------------------------------- QEMU boots

# The optional sixth field of a row: space-separated key=value.
#   cpu=<model>    QEMU -cpu (default max; qemu64 has neither SMAP nor SMEP)
#   mem=<size>     guest memory (default 512M)
#   nmi=<marker>   once the serial log shows <marker>, inject NMIs through QEMU's monitor
#   panic=<text>   the boot must end in a kernel panic whose message contains <text> ('+' for a
#                  space); KTAP is not checked then (the panic cuts it short): one result, <label>.panic
ROW_OPTIONS = {"cpu": r"[\w.+-]+", "mem": r"\d+[MG]", "nmi": r"\S+", "panic": r"\S+", "figures": r"\w+"}
FIGURE_RE = re.compile(r"^(\w+): FIGURE (\w+)=(-?\d+)\s*$", re.M)
FIGURES = {}            # row label -> {name: int}, from rows with figures=<program> (filled as they finish)
EXIT_PANIC = 37
PANIC_RE = re.compile(r"KERNEL PANIC on cpu \d+: (.*)")
NMI_COUNT, NMI_INTERVAL_S = 5, 0.2


class Row:
    """One row of tests/suites.conf."""
    def __init__(self, label, cmdline, smp, firmware, timeout, opts=None):
        self.label, self.cmdline, self.smp, self.firmware, self.timeout = \
            label, cmdline, smp, firmware, timeout
        self.opts = opts or {}
        self.safe = re.sub(r"[^\w.-]+", "-", label).strip("-")


def parse_options(field):
    """{key: value} from a row's options field; an error message for a bad one."""
    opts = {}
    for word in field.split():
        key, eq, value = word.partition("=")
        if not eq or key not in ROW_OPTIONS or not re.fullmatch(ROW_OPTIONS[key], value):
            return None, f"bad option '{word}' (known: {', '.join(sorted(ROW_OPTIONS))})"
        opts[key] = value
    return opts, None


def read_conf(path=CONF):
    """Parse `label | cmdline | smp | firmware | timeout_s [| options]` rows; exit 2 on a bad row."""
    rows = []
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        f = [field.strip() for field in line.split("|")]
        err, opts = None, {}
        if len(f) == 6:
            opts, err = parse_options(f[5])
        if err:
            err = f"{err} in the options field"
        elif len(f) not in (5, 6):
            err = f"expected 5 or 6 '|'-separated fields, found {len(f)}"
        elif not re.fullmatch(r"[\w.\-\[\],=+]+", f[0]):
            err = f"bad label '{f[0]}' (no spaces or '/')"
        elif not f[2].isdigit() or int(f[2]) < 1:
            err = f"smp must be a positive integer, not '{f[2]}'"
        elif f[3] not in ("bios", "uefi"):
            err = f"firmware must be bios or uefi, not '{f[3]}'"
        elif not f[4].isdigit() or int(f[4]) < 1:
            err = f"timeout must be a positive number of seconds, not '{f[4]}'"
        elif any(r.label == f[0] for r in rows):
            err = f"duplicate label '{f[0]}'"
        if err:
            print(f"harness: {path}:{n}: {err}", file=sys.stderr)
            sys.exit(2)
        rows.append(Row(f[0], f[1], int(f[2]), f[3], int(f[4]), opts))
    return rows


def expected_tests():
    """{suite: [test, ...]} from the KTEST(suite, name) uses in kernel/**/*.c."""
    expected = {}
    for path in sorted(glob.glob("kernel/**/*.c", recursive=True)):
        for line in read_text(path).splitlines():
            if line.lstrip().startswith(("#", "//", "/*", "*")):
                continue            # the macro's definition, comments
            for m in re.finditer(r"KTEST\(\s*(\w+)\s*,\s*(\w+)\s*\)", line):
                tests = expected.setdefault(m[1], [])
                if m[2] not in tests:
                    tests.append(m[2])
    return expected


def suites_run(cmdline, expected):
    """Suites a boot runs, from `ktest=all` or `ktest=a,b` on its command line."""
    names = [v for w in cmdline.split() if w.startswith("ktest=") for v in w[6:].split(",") if v]
    return sorted(expected) if "all" in names else names


def qemu_cmd(iso, log, smp=1, firmware="bios", cpu="max", mem="512M"):
    cmd = ["qemu-system-x86_64", "-accel", os.environ.get("ACCEL", "tcg"), "-cpu", cpu,
           "-m", mem, "-smp", str(smp), "-display", "none", "-serial", f"file:{log}",
           "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-cdrom", iso]
    if firmware == "uefi":
        if os.path.exists(OVMF_BIOS):
            cmd += ["-bios", OVMF_BIOS]
        else:
            code = next(p for p in OVMF_PFLASH if os.path.exists(p))
            cmd += ["-drive", f"if=pflash,format=raw,readonly=on,file={code}"]
    return cmd


def send_nmis(proc, log, marker, monitor, deadline):
    """Wait for `marker` in the serial log, then inject NMIs through the monitor socket."""
    while time.monotonic() < deadline and proc.poll() is None:
        if marker in read_text(log):
            break
        time.sleep(0.05)
    else:
        return
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(monitor)
            s.settimeout(2)
            for _ in range(NMI_COUNT):
                s.sendall(b"nmi\n")
                time.sleep(NMI_INTERVAL_S)
    except OSError:
        pass            # QEMU gone: the boot's own result says what happened


def run_qemu(cmd, timeout, log=None, nmi=None):
    """Run QEMU; returns (exit status or None on timeout, its own stdout+stderr).
    With nmi=<marker>, NMIs are injected once the serial log `log` shows the marker."""
    monitor = None
    if nmi:
        monitor = log + ".mon"
        if os.path.exists(monitor):
            os.remove(monitor)
        cmd = cmd + ["-monitor", f"unix:{monitor},server=on,wait=off"]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    if nmi:
        threading.Thread(target=send_nmis, args=(proc, log, nmi, monitor, time.monotonic() + timeout),
                         daemon=True).start()
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        proc.kill()
        return None, proc.communicate()[0]


def panic_outcome(text, status, want):
    """(PASS or FAIL, reason) for a row that must end in a panic whose message contains want."""
    want = want.replace("+", " ")
    m = PANIC_RE.search(text)
    if m and want in m[1] and status == EXIT_PANIC:
        return "PASS", ""
    if m:
        return "FAIL", f"panicked with '{m[1].strip()}', expected a message containing '{want}'" + \
            ("" if status == EXIT_PANIC else f" and exit status {EXIT_PANIC}, got {status}")
    got = "a hang" if status is None else EXIT_REASONS.get(status, f"exit status {status}")
    return "FAIL", f"no kernel panic (expected one containing '{want}'), got {got}"


def make_iso(rep, label, iso, cmdline):
    """tools/mkiso.sh: an ISO booting with cmdline; False (and a FAIL in rep) if it failed."""
    os.makedirs(os.path.dirname(iso), exist_ok=True)
    mkiso = [MKISO] if os.access(MKISO, os.X_OK) else ["sh", MKISO]
    mk = subprocess.run([*mkiso, iso, cmdline], capture_output=True, text=True,
                        errors="replace", stdin=subprocess.DEVNULL)
    if mk.returncode != 0:
        rep.add("FAIL", f"{label}.(boot)", f"{MKISO} failed with status {mk.returncode}")
        rep.info(tail(mk.stdout + mk.stderr))
    return mk.returncode == 0


def run_boot(row, expected):
    """Build an ISO with the row's command line, boot it, check exit status and KTAP."""
    rep = Report()
    iso, log = f"build/test/{row.safe}.iso", f"build/test/{row.safe}.log"
    if not make_iso(rep, row.label, iso, row.cmdline):
        return rep
    if os.path.exists(log):
        os.remove(log)
    start = time.monotonic()
    cmd = qemu_cmd(iso, log, row.smp, row.firmware, row.opts.get("cpu", "max"), row.opts.get("mem", "512M"))
    status, qemu_out = run_qemu(cmd, row.timeout, log, row.opts.get("nmi"))
    text = read_text(log)
    if "panic" in row.opts:
        outcome, why = panic_outcome(text, status, row.opts["panic"])
        rep.add(outcome, f"{row.label}.panic", why)
        if outcome == "FAIL":
            rep.info(f"cmdline: {row.cmdline}; serial log: {log}; last {TAIL} lines:")
            rep.info(tail(text) or "(empty log)")
        return rep
    if "figures" in row.opts:
        return figures_outcome(rep, row, text, status, log)
    ran = suites_run(row.cmdline, expected)
    report_ktap(rep, row.label, text, ran, expected)
    # A user-space suite (init=<program>, no ktest=) has nothing to grep for: it must at least print KTAP.
    if not ran and re.search(r"(^|\s)init=", row.cmdline) and not parse_ktap(text):
        rep.add("FAIL", f"{row.label}.(ktap)", "no KTAP output from the init program")
    if status is None:
        why = f"hang: killed after {row.timeout}s"
    elif status != EXIT_OK:
        why = EXIT_REASONS.get(status, f"unexpected QEMU exit status {status}")
        why += f"; after {time.monotonic() - start:.1f}s"
    else:
        why = None
    if why:
        rep.add("FAIL", f"{row.label}.(boot)", why)
    elif rep.tests() == 0:
        rep.add("PASS", f"{row.label}.(boot)")
    if rep.failed():
        rep.info(f"cmdline: {row.cmdline}; serial log: {log}; last {TAIL} lines:")
        rep.info(tail(text) or "(empty log)")
        if why and qemu_out.strip():
            rep.info("QEMU said:\n" + tail(qemu_out, 10))
    return rep


def figures_outcome(rep, row, text, status, log):
    """A row that measures (figures=<program>): a clean exit and `<program>: FIGURE name=value` lines."""
    found = {m[2]: int(m[3]) for m in FIGURE_RE.finditer(text) if m[1] == row.opts["figures"]}
    why = "" if status == EXIT_OK else \
        "hang" if status is None else EXIT_REASONS.get(status, f"exit status {status}")
    if not found:
        why = (why + "; " if why else "") + f"no '{row.opts['figures']}: FIGURE' lines"
    if not why:
        FIGURES[row.label] = found
    rep.add("FAIL" if why else "PASS", f"{row.label}.figures", why)
    if why:
        rep.info(f"cmdline: {row.cmdline}; serial log: {log}; last {TAIL} lines:")
        rep.info(tail(text) or "(empty log)")
    return rep


COMPARE_RE = re.compile(r"^\s*([\w.\-\[\],=+]+)\.(\w+)\s*(>=|<=|>|<|==)\s*([\w.\-\[\],=+]+)\.(\w+)\s*$")


def read_compares(path=COMPARE_CONF):
    """`label.figure OP label.figure` lines; exit 2 on a bad one."""
    out = []
    if not os.path.exists(path):
        return out
    for n, line in enumerate(read_text(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        m = COMPARE_RE.match(line)
        if not m:
            print(f"harness: {path}:{n}: expected 'label.figure OP label.figure' (OP one of > >= < <= ==)",
                  file=sys.stderr)
            sys.exit(2)
        out.append(m.groups())
    return out


def run_compares(compares, labels):
    """Each comparison whose two rows ran in this invocation: PASS or FAIL, with both values."""
    rep = Report()
    ops = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
           "<=": lambda a, b: a <= b, "==": lambda a, b: a == b}
    for la, fa, op, lb, fb in compares:
        if la not in labels or lb not in labels:
            continue
        name = f"compare.{la}.{fa}{op}{lb}.{fb}"
        a, b = FIGURES.get(la, {}).get(fa), FIGURES.get(lb, {}).get(fb)
        if a is None or b is None:
            rep.add("FAIL", name, f"no figure: {la}.{fa}={a}, {lb}.{fb}={b}")
        else:
            ok = ops[op](a, b)
            rep.add("PASS" if ok else "FAIL", name, "" if ok else f"{a} {op} {b} is false")
            rep.info(f"    # {la}.{fa} = {a}, {lb}.{fb} = {b}")
    return rep


# ---------------------------------------------------------------- make bench's pipeline

BENCH_QUICK_OUT, BENCH_QUICK_TIMEOUT_S = "build/bench-quick", 480


def run_bench_quick():
    """make bench-quick's pipeline (tools/bench.py --quick) end to end: the CSV, report and plots well formed.
    The numbers are not checked here: speed and memory targets belong to `make bench`."""
    rep = Report()
    # Two strategies are enough to check the pipeline (fixed is every ratio's base); make bench boots all four.
    cmd = [sys.executable, "tools/bench.py", "--quick", "--jobs", "1", "--strategies", "fixed,eager",
           "--out", BENCH_QUICK_OUT]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=BENCH_QUICK_TIMEOUT_S,
                             stdin=subprocess.DEVNULL)
        out, ok = run.stdout + run.stderr, run.returncode == 0
        why = "" if ok else f"tools/bench.py --quick exited {run.returncode}"
    except subprocess.TimeoutExpired as e:
        out, ok, why = _text(e.stdout) + _text(e.stderr), False, f"timed out after {BENCH_QUICK_TIMEOUT_S}s"
    rep.add("PASS" if ok else "FAIL", "bench-quick.pipeline", why)
    if not ok:
        rep.info(tail(out))
    check = subprocess.run([sys.executable, "tools/bench_report.py", "--check", BENCH_QUICK_OUT,
                            "--csv", os.path.join(BENCH_QUICK_OUT, "results.csv")],
                           capture_output=True, text=True, errors="replace")
    rep.add("PASS" if check.returncode == 0 else "FAIL", "bench-quick.output_well_formed",
            "" if check.returncode == 0 else "tools/bench_report.py --check failed")
    if check.returncode != 0:
        rep.info(tail(check.stdout + check.stderr))
    return rep


# ---------------------------------------------------------------- shell test

SHELL_CMDLINE, SHELL_TIMEOUT_S = "testsys=1", 90
PROMPT = "\n$ "


class Console:
    """A QEMU boot with its serial line on pipes: type into the shell, wait for what it prints."""

    def __init__(self, iso, smp):
        cmd = qemu_cmd(iso, "/dev/null", smp)
        cmd[cmd.index("-serial") + 1] = "stdio"
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.out, self.pos, self.lock = bytearray(), 0, threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data = self.proc.stdout.read1(4096)
            if not data:
                return
            with self.lock:
                self.out.extend(data)

    def text(self, start=0):
        """What the console printed from byte start, CRs and all (latin-1: one character per byte)."""
        with self.lock:
            return self.out[start:].decode("latin-1")

    def type(self, keys):
        """Send keys (a str; control characters as themselves) one at a time, as a person types."""
        for ch in keys:
            self.proc.stdin.write(ch.encode("latin-1"))
            self.proc.stdin.flush()
            time.sleep(0.01)

    def expect(self, pattern, timeout=20):
        """Wait for pattern (CRs dropped) after the last match; returns (match, the text up to its end)."""
        deadline, rx = time.monotonic() + timeout, re.compile(pattern, re.M)
        while True:
            raw = self.text(self.pos)
            text = raw.replace("\r", "")
            m = rx.search(text)
            if m:
                end, kept = 0, 0            # the raw offset of the match's end
                while kept < m.end():
                    kept += raw[end] != "\r"
                    end += 1
                self.pos += end
                return m, text[:m.end()]
            if time.monotonic() > deadline or self.proc.poll() is not None:
                return None, text
            time.sleep(0.05)

    def command(self, line, timeout=20):
        """Type a line and return what the shell printed up to its next prompt (None on a timeout)."""
        self.type(line + "\r")
        m, text = self.expect(re.escape(PROMPT), timeout)
        return text if m else None

    def close(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None


def free_in_all(text):
    m = text and re.search(r"^free in all\s+(\d+)", text, re.M)
    return int(m[1]) if m else None


def shell_session(con, check):
    """The built-ins, line editing, ^C and jobs, in one boot; check(name, ok, why) records each."""
    m, _ = con.expect(re.escape(PROMPT), 60)
    if not check("prompt", m, "no '$ ' prompt after the greeting"):
        return
    out = con.command("help")
    check("help", out and "built-ins:" in out and re.search(r"programs.*\n.*\bstackdemo\b", out),
          "help lists no built-ins or programs")
    out = con.command("ps")
    check("ps", out and re.search(r"^\s*TID\s+PID\s+STATE\s+CPU\s+RES\s+HWM", out, re.M)
          and re.search(r"^\s*\d+\s+\d+\s+running\s+\d+\s+4\s+\d+.*\bsh\s*$", out, re.M)
          and re.search(r"^\s*\d+\s+1\s+blocked\s.*\binit\s+wait \(at rest\)$", out, re.M)
          and re.search(r"^\s*\d+\s+\d+\s+blocked\s+\d+\s+1\s.*\bnames\s+ipc-recv \(at rest\)$", out, re.M)
          and re.search(r"^\d+ threads \(\d+ user, \d+ kernel\), \d+ stack pages resident", out, re.M),
          "ps shows no header, no running sh with 4 resident pages, no init at rest in wait, no names at rest "
          "in ipc-recv with 1 page, or no summary")
    out = con.command("kstat")
    check("kstat", out and re.search(r"^strategy eager, 2 CPUs, 3 user threads", out, re.M)
          and re.search(r"^stacks:\s+\d+ pages resident", out, re.M), "kstat shows no strategy or stack line")
    out = con.command("free")
    before = free_in_all(out)
    check("free", before and before > 1000, "free shows no 'free in all' line")
    out = con.command("frex\x7fe")
    check("backspace", free_in_all(out), "'frex', backspace, 'e' did not run free")
    out = con.command("nonsense\x15kstat")
    check("ctrl_u", out and "strategy eager" in out and "nonsense" not in out.split("\n", 1)[-1],
          "^U did not erase the line")
    out = con.command("nosuchprogram")
    check("unknown_program", out and "nosuchprogram: no such program" in out, "no error for an unknown program")
    con.type("abc\x03")
    m, _ = con.expect(r"abc\^C\n\$ ", 10)
    out = con.command("kstat") if m else None
    check("ctrl_c_at_prompt", out and "strategy eager" in out, "^C at the prompt broke the next line")

    # A foreground program, ended by ^C: a real kill, every page back.
    con.type("stackdemo\r")
    m, _ = con.expect(r"^stackdemo:\s+\d+\s+\d+\s+\d+.*spinning$", 30)     # its first table line
    con.type("\x03")
    m2, out = con.expect(re.escape(PROMPT), 20) if m else (None, "")
    check("ctrl_c_kill", m2 and "sh: stackdemo interrupted (^C)" in out, "^C did not end stackdemo")
    after = None
    for _ in range(5):
        after = free_in_all(con.command("free"))
        if after == before:
            break
        time.sleep(0.5)
    check("ctrl_c_pages_back", before and after == before, f"free in all: {before} before, {after} after the kill")

    # Jobs: one in the background to its end, one killed.
    out = con.command("stackdemo 2 1 &")
    m = out and re.search(r"^\[(\d+)\] stackdemo$", out, re.M)
    done, _ = con.expect(rf"^\[{m[1]}\] done: exited with status 0$", 40) if m else (None, "")
    check("background", done, "a background stackdemo did not report its end")
    out = con.command("stackdemo &")
    m = out and re.search(r"^\[(\d+)\] stackdemo$", out, re.M)
    out = con.command("ps") if m else None
    shown = out and re.search(rf"^\s*\d+\s+{m[1]}\s+\w+.*stackdemo\b", out, re.M)
    out = con.command(f"kill {m[1]}") if m else None
    done, _ = con.expect(rf"^\[{m[1]}\] done: killed \(status 137\)$", 20) if m else (None, "")
    check("kill", shown and done, "ps did not show the job, or kill did not end it with status 137")

    # The live view: two frames, then ^C back to the prompt.
    con.command("")
    con.type("kstat -w 300\r")
    f1, _ = con.expect(r"kstat -w: strategy eager, 2 CPUs, frame 1 ", 20)
    f2, out = con.expect(r"kstat -w: strategy eager, 2 CPUs, frame 2 ", 20) if f1 else (None, "")
    check("live_view", f2 and re.search(r"^stack KiB\s+\d+\s+[#.]{40} of \d+ with fixed", out, re.M)
          and re.search(r"^\s+cpu1\s+\d+ [#.]{32}$", out, re.M)
          and re.search(r"^\s+1 page\s+\d+ [#.]{40}$", out, re.M),
          "no two frames with the stack bar, the per-CPU cache bars and the histogram")
    con.type("\x03")
    m, _ = con.expect(re.escape(PROMPT), 10)
    out = con.command("kstat") if m else None
    check("live_view_ctrl_c", out and "strategy eager" in out, "^C did not return from the live view to the prompt")

    con.type("\x04")
    m, _ = con.expect(r"^exit$", 10)
    status = con.close(20)
    check("ctrl_d_exits", m and status == EXIT_OK, f"^D did not end the shell and QEMU cleanly (status {status})")


def run_shell_test():
    """Boot to the shell (init's default program) and type into it through QEMU's serial pipe."""
    rep = Report()
    iso = "build/test/shell.iso"
    if not make_iso(rep, "shell", iso, SHELL_CMDLINE):
        return rep
    con = Console(iso, 2)

    def check(name, ok, why):
        rep.add("PASS" if ok else "FAIL", f"shell.{name}", "" if ok else why)
        return ok
    try:
        shell_session(con, check)
    finally:
        con.close(1)
        with open("build/test/shell.log", "w") as f:
            f.write(con.text().replace("\r", ""))
    halt = Console(iso, 1)
    try:
        m, _ = halt.expect(re.escape(PROMPT), 60)
        halt.type("halt\r") if m else None
        left, _ = halt.expect(r"init: leaving QEMU \(pass\)", 20) if m else (None, "")
        check("halt", left and halt.close(20) == EXIT_OK, "halt did not leave QEMU with status 33")
    finally:
        halt.close(1)
    if rep.failed():
        rep.info("console (last lines):\n" + tail(con.text().replace("\r", "")))
    return rep


# ---------------------------------------------------------------- gdb test

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def gdb_session(iso, log, smp, script):
    """Boot iso halted with QEMU's gdb stub, run gdb -batch with script against it, then stop QEMU.
    Returns (gdb's output, why it failed or "", QEMU's own output)."""
    port = free_port()
    qemu = subprocess.Popen(qemu_cmd(iso, log, smp) + ["-gdb", f"tcp:127.0.0.1:{port}", "-S"],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    gdb = ["gdb", "-batch", "-nx", "-ex", "set tcp connect-timeout 30",
           "-ex", f"target remote 127.0.0.1:{port}", "-x", script, KERNEL_ELF]
    try:
        run = subprocess.run(gdb, capture_output=True, text=True, errors="replace",
                             timeout=GDB_TIMEOUT_S, stdin=subprocess.DEVNULL)
        out, why = run.stdout + run.stderr, ""
    except subprocess.TimeoutExpired as e:
        out, why = _text(e.stdout) + _text(e.stderr), f"gdb timed out after {GDB_TIMEOUT_S}s"
    finally:
        qemu.kill()
        qemu_out = qemu.communicate()[0]
    return out, why, qemu_out


def gdb_failure_info(rep, out, log, qemu_out):
    """On a failure, what gdb, the serial log and QEMU said; returns rep."""
    if rep.failed():
        rep.info(f"gdb output (last {TAIL} lines):\n" + tail(out))
        rep.info(f"serial log {log}:\n" + (tail(read_text(log), 10) or "(empty)"))
        rep.info("QEMU said:\n" + (tail(qemu_out, 10) or "(nothing)"))
    return rep


def run_gdb_test():
    """Stop QEMU's gdb stub at kmain: expect a kmain frame and a kernel/main.c line."""
    rep, log = Report(), "build/test/gdb.log"
    os.makedirs("build/test", exist_ok=True)
    out, why, qemu_out = gdb_session(DEFAULT_ISO, log, 1, GDB_SCRIPT)
    checks = [("break_kmain", r"^#\d+\s+(0x[0-9a-f]+ in )?kmain\b", "no kmain frame"),
              ("source_line", r"kernel/main\.c:\d+", "no kernel/main.c:<line> reference")]
    for name, pattern, missing in checks:
        ok = re.search(pattern, out, re.M)
        rep.add("PASS" if ok else "FAIL", f"gdb.{name}", "" if ok else why or missing)
    return gdb_failure_info(rep, out, log, qemu_out)


def gdb_sections(out):
    """{name: text} of the `=== name` sections the gdb-kstack script echoes."""
    sections, name = {}, None
    for line in out.splitlines():
        if line.startswith("=== "):
            name = line[4:].strip()
            sections[name] = ""
        elif name is not None:
            sections[name] += line + "\n"
    return sections


THREAD_ROW_RE = re.compile(r"^\s*(\d+) (.{20}) (\w+)\s+(-?\d+)\s+(\d+) (0x[0-9a-f]+)\s+(\d+) (0b[01]+)([ !])(0b[01]+)\s+(\d+)$")


GDB_KSTACK_CHECKS = ("stop", "kstat_equal", "cache_total", "cache_watermarks", "threads_count", "threads_resident",
                     "threads_ptes_match_mapped_bits", "stack_pages", "stack_backtrace", "stack_running")


def gdb_kstack_checks(out, kstat_line, cache_h):
    """(name, ok, why) for each check of the gdb-kstack unit: gdb's output against the kernel's KSTAT line."""
    sec = gdb_sections(out)
    checks = []

    def check(name, ok, why):
        checks.append((name, bool(ok), "" if ok else why))

    stopped = re.search(r"Breakpoint \d+, kstat_line_printed", out) and "end" in sec
    check("stop", stopped, "gdb did not stop at kstat_line_printed and run the whole script")
    kernel = json.loads(kstat_line[kstat_line.index("{"):]) if kstat_line else None
    m = re.search(r"^KSTAT-GDB (\{.*\})$", sec.get("ks-kstat", ""), re.M)
    ours = json.loads(m[1]) if m else None
    if kernel is None or ours is None:
        why = "no KSTAT line on the console" if kernel is None else "no KSTAT-GDB line from ks-kstat"
        return checks + [(name, False, why) for name in GDB_KSTACK_CHECKS[1:]]
    keys = [k for k in dict.fromkeys([*kernel, *ours]) if k != "why"]
    wrong = [f"{k}: kernel {kernel.get(k, '(none)')}, gdb {ours.get(k, '(none)')}" for k in keys
             if kernel.get(k) != ours.get(k)]
    check("kstat_equal", not wrong, "; ".join(wrong))

    cache = sec.get("ks-cache", "")
    m = re.search(r"^total\s+(\d+)", cache, re.M)
    check("cache_total", m and int(m[1]) == kernel["cache_pages"],
          f"ks-cache total {m[1] if m else '(none)'}, KSTAT cache_pages {kernel['cache_pages']}")
    defined = {k: int(v) for k, v in re.findall(r"#define KSTACK_CACHE_(LOW|HIGH|TARGET|CAP)\s+(\d+)", cache_h)}
    m = re.search(r"watermarks: low (\d+) high (\d+) target (\d+) cap (\d+)", cache)
    shown = dict(zip(["LOW", "HIGH", "TARGET", "CAP"], map(int, m.groups()))) if m else {}
    check("cache_watermarks", len(defined) == 4 and shown == defined,
          f"ks-cache shows {shown or '(nothing)'}, {CACHE_H} defines {defined}")

    rows = {}
    for line in sec.get("ks-threads", "").splitlines():
        if r := THREAD_ROW_RE.match(line):
            rows[int(r[1])] = {"state": r[3], "res": int(r[7]), "ptes": r[8], "agree": r[9] == " ", "mapped": r[10]}
    live = [r for r in rows.values() if r["state"] != "DEAD"]
    want = kernel["user_threads"] + kernel["kernel_threads"]
    check("threads_count", len(live) == want, f"ks-threads lists {len(live)} live threads, KSTAT says {want}")
    res = sum(r["res"] for r in live)
    check("threads_resident", res == kernel["resident_stack_pages"],
          f"ks-threads' resident pages add up to {res}, KSTAT resident_stack_pages {kernel['resident_stack_pages']}")
    check("threads_ptes_match_mapped_bits", rows and all(r["agree"] for r in rows.values()),
          "no rows" if not rows else "PTEs and kstack_mapped disagree for tids " +
          str([tid for tid, r in rows.items() if not r["agree"]]))

    blocked = next((name for name in sec if name.startswith("ks-stack blocked")), "")
    tid = blocked.split()[-1] if blocked else "none"
    text, row = sec.get(blocked, ""), rows.get(int(tid)) if tid.isdigit() else None
    m = re.search(r"^resident: (\d+) pages \(ptes (0b[01]+)", text, re.M)
    pages = {int(p): st == "mapped" for p, st in re.findall(r"^\s+page (\d+) 0x[0-9a-f]+: (mapped|not mapped)", text, re.M)}
    consistent = row and m and int(m[1]) == row["res"] and m[2] == row["ptes"] and len(pages) >= 4 and \
        all(mapped == bool(int(row["ptes"], 2) >> p & 1) for p, mapped in pages.items())
    # ks-stack notes a page whose PTE, read through kstack_ptes, differs from a walk from kernel_pml4 or from kstack_mapped.
    notes = re.findall(r"^\s+page \d+ .*\((.*)\)$", text, re.M)
    check("stack_pages", consistent and not notes,
          "no blocked user thread in ks-threads" if row is None else
          f"ks-stack {tid}: {m[0] if m else 'no resident line'}, pages {pages}" +
          (f", notes {notes}" if notes else "") + f"; ks-threads: {row}")
    check("stack_backtrace", re.search(r"#\d+\s+0x[0-9a-f]+ in (schedule_locked|schedule|sched_block_locked)\b", text),
          f"no scheduler frame in the backtrace of blocked thread {tid}")
    running = sec.get("ks-stack running", "")
    check("stack_running", re.search(r"^running on cpu 0\b", running, re.M) and
          re.search(r"#\d+\s+0x[0-9a-f]+ in kstat_line_printed\b", running) and
          re.search(r"#\d+\s+0x[0-9a-f]+ in kstack_print_kstat\b", running),
          "ks-stack did not show the kstat_every thread running on cpu 0 in kstat_line_printed")
    assert [c[0] for c in checks] == list(GDB_KSTACK_CHECKS)
    return checks


def run_gdb_kstack_test():
    """The kernel's gdb commands on a live kernel: stackdemo on one CPU, stopped at kstat_line_printed()
    just after a KSTAT line (IRQs still off: nothing has changed since); each command against that line."""
    rep = Report()
    iso, log = "build/test/gdb-kstack.iso", "build/test/gdb-kstack.log"
    if not make_iso(rep, "gdb-kstack", iso, GDB_KSTACK_CMDLINE):
        return rep
    if os.path.exists(log):
        os.remove(log)
    out, why, qemu_out = gdb_session(iso, log, 1, GDB_KSTACK_SCRIPT)
    # The script kills QEMU at the stop, so the last KSTAT line is the one kstat_line_printed() followed.
    kstat = [line for line in read_text(log).splitlines() if line.startswith("KSTAT {")]
    for name, ok, reason in gdb_kstack_checks(out, kstat[-1] if kstat else "", read_text(CACHE_H)):
        rep.add("PASS" if ok else "FAIL", f"gdb-kstack.{name}", "" if ok else why or reason)
    return gdb_failure_info(rep, out, log, qemu_out)


# ---------------------------------------------------------------- selection and setup

def select(name, hosts, rows):
    """Units that --suite NAME picks: rows `NAME` or `NAME[...]`, `host`, `host-<x>`, and the named
    units (gdb, gdb-kstack, shell, bench-quick; gdb picks both gdb units). Returns (hosts, rows, [named unit, ...])."""
    if not name:
        return hosts, rows, list(NAMED_UNITS)
    picked = ([h for h in hosts if name in ("host", host_label(h))],
              [r for r in rows if r.label == name or r.label.startswith(name + "[")],
              [u for u in NAMED_UNITS if u == name or (name == "gdb" and u.startswith("gdb"))])
    if not any(picked):
        known = ["host", *map(host_label, hosts), *dict.fromkeys(
            n for r in rows for n in (r.label.split("[")[0], r.label)), *NAMED_UNITS]
        print(f"harness: unknown suite '{name}'; known: {' '.join(known)}", file=sys.stderr)
        sys.exit(2)
    return picked


def check_setup(hosts, rows, named):
    """Exit 2 with a clear message if a tool or build artifact the selected units need is missing."""
    accel = os.environ.get("ACCEL", "tcg")
    gdb = any(u.startswith("gdb") for u in named)
    bench, boots = "bench-quick" in named, bool(rows) or bool(named)
    problems = []
    if accel not in ("tcg", "kvm"):
        problems.append(f"ACCEL must be tcg or kvm, not '{accel}'")
    elif accel == "kvm" and boots and not os.access("/dev/kvm", os.R_OK | os.W_OK):
        problems.append("ACCEL=kvm but /dev/kvm is not usable: run with ACCEL=tcg")
    tools = ([os.environ.get("HOST_CC", "cc")] if hosts else []) + \
            (["qemu-system-x86_64"] if boots else []) + \
            (["grub-mkrescue", "xorriso"] if rows or bench or {"shell", "gdb-kstack"} & set(named) else []) + \
            (["gnuplot"] if bench else []) + \
            (["mformat"] if any(r.firmware == "uefi" for r in rows) else []) + \
            (["gdb"] if gdb else [])
    missing = [t for t in tools if not shutil.which(t)]
    if any(r.firmware == "uefi" for r in rows) and not any(
            os.path.exists(p) for p in (OVMF_BIOS, *OVMF_PFLASH)):
        missing.append("OVMF firmware")
    if missing:
        problems.append(f"missing {', '.join(missing)}: run tools/setup.sh (as root it installs them)")
    files = ([KERNEL_ELF, MKISO] if boots else []) + ([DEFAULT_ISO, GDB_SCRIPT] if "gdb" in named else []) + \
        ([GDB_KSTACK_SCRIPT, CACHE_H] if "gdb-kstack" in named else [])
    for path in dict.fromkeys(files):
        if not os.path.exists(path):
            problems.append(f"missing {path}" + (": run `make` first" if path.startswith("build/") else ""))
    for p in problems:
        print(f"harness: {p}", file=sys.stderr)
    if problems:
        sys.exit(2)


def run_units(units, jobs):
    """Run (name, fn) units on `jobs` threads, printing reports in the given order."""
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}

    times = {}

    def guarded(name, fn):
        start = time.monotonic()
        try:
            return fn()
        except Exception:   # a harness bug must show up as a failure, not a crash
            rep = Report()
            rep.add("FAIL", f"{name}.(harness)", "exception in the harness")
            rep.info(traceback.format_exc())
            return rep
        finally:
            times[name] = time.monotonic() - start

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        futures = [pool.submit(guarded, name, fn) for name, fn in units]
        for future in futures:
            for status, text in future.result().lines:
                counts[status] = counts.get(status, 0) + 1
                print(text, flush=True)
    # Each unit's wall time, longest first: what to look at when make test nears its 10 minutes.
    os.makedirs("build/test", exist_ok=True)
    with open(TIMES, "w") as f:
        for name, secs in sorted(times.items(), key=lambda kv: -kv[1]):
            f.write(f"{secs:7.1f} s  {name}\n")
    return counts


# Units that are not rows of suites.conf, by the name --suite selects them with.
NAMED_UNITS = {"bench-quick": run_bench_quick, "shell": run_shell_test, "gdb": run_gdb_test,
               "gdb-kstack": run_gdb_kstack_test}


# ---------------------------------------------------------------- selftest

SAMPLE_KERNEL = """\
SeaBIOS (version 1.16)
Booting from DVD/CD...
KTAP version 1
1..4
    KTAP version 1
    # Subtest: lib
    1..3
[    0.010] printk: noise between results
    ok 1 printk_formats
    not ok 2 memcpy_overlap
    # memcpy_overlap: expected 3, got 4
    ok 3 something # SKIP no fpu
ok 1 lib
ok 2 smp # SKIP needs 2 CPUs
    KTAP version 1
    # Subtest: pmm
    1..3
    ok 1 alloc_free
pmm: freed 12 pages
not ok 3 pmm
    KTAP version 1
    # Subtest: vmm
    1..2
    ok 1 map
PANIC: page fault at 0xdead
"""
SAMPLE_GDB_KSTACK = """\
Breakpoint 1, kstat_line_printed (k=k@entry=0xffff80000064d810) at kernel/stack/account.c:94
=== ks-kstat
KSTAT-GDB {"why":"gdb","cpus":1,"user_threads":1,"kernel_threads":1,"resident_stack_pages":5,"cache_pages":18}
=== ks-cache
watermarks: low 8 high 48 target 24 cap 64 (stack/cache.h)
total    18               4203       4104        114          0          3       0
=== ks-threads
    3 stackdemo            BLOCKED    0    1 0xffffc00000070000   1 0b00000001 0b00000001  1
    1 kstat_every          RUNNING    0    0 0xffffc00000050000   4 0b00001111 0b00001111  0
=== ks-stack blocked 3
  page 0 0xffffc0000007f000: mapped   frame 0x00005f2000 accessed
  page 1 0xffffc0000007e000: not mapped
  page 2 0xffffc0000007d000: not mapped
  page 3 0xffffc0000007c000: not mapped
resident: 1 pages (ptes 0b00000001, kstack_mapped 0b00000001, at rest 0b00000001, high water 1)
  #1  0xffffffff801145bc in schedule_locked at kernel/sched/sched.c:209
=== ks-stack running
running on cpu 0 (gdb thread 1): rip 0xffffffff80116c00, rsp 0xffffc0000005ff78
  #0  0xffffffff80116c00 in kstat_line_printed at kernel/stack/account.c:94
  #1  0xffffffff80116d85 in kstack_print_kstat at kernel/stack/account.c:137
=== end
"""
SAMPLE_HOST = "noise\r\nKTAP version 1\r\n1..3\r\nok 1 a\r\nnot ok 2 b\r\nok 3 c # skip: later\r\n"


def selftest():
    """Check the KTAP parser and naming on embedded samples; exit 1 on the first mismatch."""
    expected = {"lib": ["printk_formats", "memcpy_overlap", "something"], "smp": ["ipi"],
                "pmm": ["alloc_free", "free_twice"], "vmm": ["map", "unmap"], "wx": ["text_ro"]}
    rep = Report()
    report_ktap(rep, "all", SAMPLE_KERNEL, suites_run("kstack=eager ktest=all", expected), expected)
    checks = [(rep, {
        "PASS all/lib.printk_formats", "FAIL all/lib.memcpy_overlap", "SKIP all/lib.something (no fpu)",
        "SKIP all/smp.(suite) (needs 2 CPUs)", "SKIP all/smp.ipi (suite skipped)",
        "PASS all/pmm.alloc_free", "FAIL all/pmm.(missing 2 results)", "FAIL all/pmm.(suite)",
        "FAIL all/pmm.free_twice (missing from output)", "PASS all/vmm.map",
        "FAIL all/vmm.(missing 1 result)", "FAIL all/vmm.unmap (missing from output)",
        "FAIL all.(missing 1 suite)", "FAIL all/wx.text_ro (missing from output)"})]
    rep = Report()
    report_ktap(rep, "host-demo", SAMPLE_HOST)
    checks.append((rep, {"PASS host-demo.a", "FAIL host-demo.b", "SKIP host-demo.c (later)"}))
    rep = Report()
    report_ktap(rep, "lib", "boot noise only\n", ["lib"], expected)
    checks.append((rep, {"FAIL lib.printk_formats (missing from output)", "FAIL lib.(ktap) (no KTAP output)",
                         "FAIL lib.memcpy_overlap (missing from output)",
                         "FAIL lib.something (missing from output)"}))
    for rep, want in checks:
        got = {text for status, text in rep.lines}
        if got != want:
            print(f"selftest FAILED:\n  unexpected: {sorted(got - want)}\n  missing: {sorted(want - got)}")
            return 1
    names = [result_name("kstack[eager,smp4]", "kstack", "expand"), result_name("uefi", "lib", "x"),
             result_name("lib", "lib", "x"), result_name("host-string", None, "memcmp")]
    assert names == ["kstack[eager,smp4].expand", "uefi/lib.x", "lib.x", "host-string.memcmp"], names
    assert suites_run("ktest=lib,pmm hz=100", {}) == ["lib", "pmm"]
    assert parse_options("cpu=qemu64 mem=64M nmi=NMI-NOW") == ({"cpu": "qemu64", "mem": "64M", "nmi": "NMI-NOW"}, None)
    assert parse_options("cpu=max smp=4")[1] and parse_options("mem=lots")[1]
    assert parse_options("panic=spinlock+held") == ({"panic": "spinlock+held"}, None)
    log = "ok 1 a\nKERNEL PANIC on cpu 1: kernel stack overflow in thread 7 (t): a spinlock was held\n"
    assert panic_outcome(log, EXIT_PANIC, "a+spinlock+was+held") == ("PASS", "")
    assert panic_outcome(log, EXIT_PANIC, "IRQs+were+off")[0] == "FAIL"
    assert panic_outcome(log, 0, "a+spinlock")[0] == "FAIL"
    assert panic_outcome("ok 1 a\n", EXIT_OK, "a+spinlock") == \
        ("FAIL", "no kernel panic (expected one containing 'a spinlock'), got exit status 33")
    assert panic_outcome("", None, "x")[1].endswith("got a hang")
    FIGURES.update({"d[a]": {"x": 5}, "d[b]": {"x": 3}})
    got = [t for _, t in run_compares([("d[a]", "x", ">", "d[b]", "x"), ("d[a]", "x", "<", "d[b]", "x"),
                                       ("d[a]", "y", ">", "d[b]", "x"), ("d[a]", "x", ">", "e", "x")],
                                      {"d[a]", "d[b]"}).lines]
    assert got[0].startswith("PASS compare.d[a].x>d[b].x") and got[2].startswith("FAIL compare.d[a].x<d[b].x") \
        and got[4].startswith("FAIL compare.d[a].y>d[b].x") and len(got) == 5, got
    FIGURES.clear()
    cache_h = "#define KSTACK_CACHE_CAP    64\n#define KSTACK_CACHE_LOW    8\n" \
              "#define KSTACK_CACHE_HIGH   48\n#define KSTACK_CACHE_TARGET 24\n"
    line = 'KSTAT {"why":"periodic","cpus":1,"user_threads":1,"kernel_threads":1,"resident_stack_pages":5,' \
           '"cache_pages":18}'
    got = gdb_kstack_checks(SAMPLE_GDB_KSTACK, line, cache_h)
    assert all(ok for _, ok, _ in got), got
    got = {name: ok for name, ok, _ in gdb_kstack_checks(SAMPLE_GDB_KSTACK, line.replace(":5,", ":6,"), cache_h)}
    assert [n for n, ok in got.items() if not ok] == ["kstat_equal", "threads_resident"], got
    assert not any(ok for _, ok, _ in gdb_kstack_checks("", "", cache_h))
    print(f"selftest: {len(checks) + 13} checks passed")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suite", default="", help="run only this suite (a suites.conf label, "
                    "a label prefix before '[', host, host-<name>, gdb, gdb-kstack, shell or bench-quick)")
    ap.add_argument("--jobs", type=int, default=min(os.cpu_count() or 1, 2),
                    help="boots to run in parallel (default: CPUs, at most 2)")
    ap.add_argument("--selftest", action="store_true", help="test the KTAP parser and exit")
    args = ap.parse_args()
    os.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if args.selftest:
        return selftest()
    hosts, rows, named = select(args.suite, sorted(glob.glob("tests/host/test_*.c")), read_conf())
    check_setup(hosts, rows, named)
    expected = expected_tests()
    # The long units first, so that two jobs finish together.
    units = [(u, NAMED_UNITS[u]) for u in named if u == "bench-quick"] + \
            [(host_label(h), lambda h=h: run_host_test(h)) for h in hosts] + \
            [(r.label, lambda r=r: run_boot(r, expected)) for r in rows] + \
            [(u, NAMED_UNITS[u]) for u in named if u != "bench-quick"]
    counts = run_units(units, args.jobs)
    for status, text in run_compares(read_compares(), {r.label for r in rows}).lines:
        counts[status] = counts.get(status, 0) + 1
        print(text, flush=True)
    print(f"{counts['PASS']} passed, {counts['FAIL']} failed"
          + (f", {counts['SKIP']} skipped" if counts["SKIP"] else ""), flush=True)
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
