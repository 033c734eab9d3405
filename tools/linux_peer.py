#!/usr/bin/env python3
"""linux_peer.py: the Linux peer of `make bench` (issue 10, point 5): Debian's kernel booted
under the same QEMU settings as ours, with tools/linuxbench/linuxbench.c as its /init.

prepare() fetches the kernel (apt-get download of the image package linux-image-amd64
depends on; no other download) and builds the initramfs; run() boots it and returns the
BENCH lines as dicts. Python 3 standard library only.

Usage (from anywhere): python3 tools/linux_peer.py [--quick] [--smp N] [--no-icount] [--accel tcg|kvm]
Prints the BENCH lines, then BENCH-DONE. Exit 0 on success, 1 when the kernel cannot be
fetched or the boot gives no complete result.
"""
import argparse
import glob
import json
import os
import shutil
import stat
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "linux")
VMLINUZ = os.path.join(OUT, "vmlinuz")
INITRAMFS = os.path.join(OUT, "initramfs.cpio")
INIT_SRC = os.path.join(ROOT, "tools", "linuxbench", "linuxbench.c")
INIT_BIN = os.path.join(OUT, "linuxbench")
META_PKG = "linux-image-amd64"
CFLAGS = "-std=gnu11 -O2 -static -pthread -Wall -Wextra -Werror".split()
TAIL = 30


class PeerError(Exception):
    """The Linux boot gave no complete result; the message ends with the log's tail."""


def die(msg):
    print(f"linux_peer: {msg}", file=sys.stderr)
    sys.exit(1)


def tail(text, n=TAIL):
    return "\n".join(text.splitlines()[-n:])


# ---------------------------------------------------------------- the kernel

def image_package():
    """The versioned image package the meta package depends on (linux-image-6.1.0-57-amd64):
    apt-get download fetches exactly one .deb, and the meta package holds no kernel."""
    try:
        dep = subprocess.run(["apt-cache", "depends", META_PKG], capture_output=True, text=True)
    except FileNotFoundError:
        die(f"apt-cache not found: unpack Debian's {META_PKG} kernel image to {VMLINUZ} by hand")
    for line in dep.stdout.splitlines():
        name = line.strip().split(":", 1)
        if name[0] == "Depends" and name[1].strip().startswith("linux-image-"):
            return name[1].strip()
    die(f"apt-cache knows no {META_PKG}: run `apt-get update` (as root), then try again")


def fetch_kernel():
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        die(f"apt-get or dpkg-deb not found: unpack Debian's {META_PKG} kernel image to {VMLINUZ} by hand")
    pkg = image_package()
    debs = glob.glob(os.path.join(OUT, f"{pkg}_*.deb"))
    if not debs:
        print(f"linux_peer: apt-get download {pkg}", file=sys.stderr)
        # As root apt warns that it cannot drop to the _apt user in this directory; harmless.
        dl = subprocess.run(["apt-get", "download", pkg], cwd=OUT, capture_output=True, text=True)
        debs = glob.glob(os.path.join(OUT, f"{pkg}_*.deb"))
        if dl.returncode != 0 or not debs:
            print(tail(dl.stderr, 5), file=sys.stderr)
            die(f"apt-get download {pkg} failed: run `apt-get update` (as root), then try again")
    # Only the image: the package's modules would take 400 MB unpacked.
    unpacked = os.path.join(OUT, "pkg")
    shutil.rmtree(unpacked, ignore_errors=True)
    os.makedirs(unpacked)
    tar = subprocess.run(f"dpkg-deb --fsys-tarfile '{debs[0]}' | tar -x -C '{unpacked}' --wildcards './boot/vmlinuz-*'",
                         shell=True, capture_output=True, text=True)
    images = glob.glob(os.path.join(unpacked, "boot", "vmlinuz-*"))
    if tar.returncode != 0 or not images:
        die(f"{debs[0]} holds no boot/vmlinuz-* ({tail(tar.stderr, 2).strip()})")
    shutil.copyfile(images[0], VMLINUZ + ".tmp")
    os.replace(VMLINUZ + ".tmp", VMLINUZ)
    shutil.rmtree(unpacked, ignore_errors=True)


# ---------------------------------------------------------------- the initramfs

def cpio_entry(name, mode, data=b"", rdev=(0, 0), ino=1):
    """One entry of a cpio "newc" archive (the format the kernel unpacks into rootfs):
    a 110-byte ASCII header of 8-digit hex fields, the name, the data, each 4-aligned."""
    name_b = name.encode() + b"\0"
    fields = [ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data),
              0, 0, rdev[0], rdev[1], len(name_b), 0]
    head = b"070701" + b"".join(b"%08x" % f for f in fields) + name_b
    head += b"\0" * (-len(head) % 4)
    return head + data + b"\0" * (-len(data) % 4)


def write_initramfs(init_bin, path):
    with open(init_bin, "rb") as f:
        init = f.read()
    entries = [("dev", stat.S_IFDIR | 0o755, b"", (0, 0)),
               # the kernel opens it as init's stdin/stdout/stderr: the serial console
               ("dev/console", stat.S_IFCHR | 0o600, b"", (5, 1)),
               ("proc", stat.S_IFDIR | 0o555, b"", (0, 0)),
               ("sys", stat.S_IFDIR | 0o555, b"", (0, 0)),
               ("init", stat.S_IFREG | 0o755, init, (0, 0))]
    out = b"".join(cpio_entry(n, m, d, r, i + 1) for i, (n, m, d, r) in enumerate(entries))
    out += cpio_entry("TRAILER!!!", 0, ino=0)
    with open(path + ".tmp", "wb") as f:
        f.write(out)
    os.replace(path + ".tmp", path)


def stale(target, *sources):
    return not os.path.exists(target) or any(os.path.getmtime(s) > os.path.getmtime(target) for s in sources)


def prepare():
    """Make sure build/linux/vmlinuz and build/linux/initramfs.cpio exist and are current."""
    os.makedirs(OUT, exist_ok=True)
    if not os.path.exists(VMLINUZ):
        fetch_kernel()
    if stale(INIT_BIN, INIT_SRC):
        cc = os.environ.get("HOSTCC", "cc")
        build = subprocess.run([cc, *CFLAGS, "-o", INIT_BIN, INIT_SRC], capture_output=True, text=True)
        if build.returncode != 0:
            print(build.stderr, file=sys.stderr, end="")
            die(f"building {INIT_SRC} failed (a static link needs glibc's libc.a: package libc6-dev)")
    if stale(INITRAMFS, INIT_BIN, os.path.abspath(__file__)):
        write_initramfs(INIT_BIN, INITRAMFS)


# ---------------------------------------------------------------- the boot

def qemu_cmd(log, mode, icount, smp, accel):
    if icount and accel != "tcg":
        raise ValueError("icount needs accel=tcg")
    # icount counts instructions on one clock: it needs TCG's single-threaded mode
    cmd = ["qemu-system-x86_64", "-accel", "tcg,thread=single" if icount else accel,
           "-cpu", "max", "-m", "512M", "-smp", str(smp), "-display", "none",
           "-serial", f"file:{log}", "-no-reboot",
           "-kernel", VMLINUZ, "-initrd", INITRAMFS,
           "-append", f"console=ttyS0 quiet panic=-1 bench={mode}"]
    if icount:
        cmd += ["-icount", "shift=0"]
    return cmd


def parse(text, icount):
    """The BENCH lines as dicts, in the order printed. Under icount the guest TSC counts
    instructions, so its ticks get their own unit."""
    rows = []
    for line in text.splitlines():
        if line.startswith("BENCH {"):
            row = json.loads(line[len("BENCH "):])
            if icount and row.get("unit") == "tsc":
                row["unit"] = "icount-tsc"
            rows.append(row)
    return rows


def bench_line(row):
    """A result as the guest printed it: BENCH {json}, keys in order, fractions to 2 decimals."""
    fields = ",".join(f"{json.dumps(k)}:" + (f"{v:.2f}" if isinstance(v, float) else json.dumps(v))
                      for k, v in row.items())
    return "BENCH {" + fields + "}"


def run(mode="full", icount=True, smp=1, timeout=600, accel="tcg"):
    """Boot Debian's kernel with linuxbench as init; returns its results as a list of dicts
    (keys bench, strategy, cpus, threads, metric, value, unit). Raises PeerError when the
    boot ends or times out without BENCH-DONE."""
    if mode not in ("full", "quick"):
        raise ValueError(f"mode must be full or quick, not {mode!r}")
    log = os.path.join(OUT, f"serial-{mode}-smp{smp}{'-icount' if icount else ''}.log")
    if os.path.exists(log):
        os.remove(log)
    cmd = qemu_cmd(log, mode, icount, smp, accel)
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              errors="replace", timeout=timeout)
        why = f"QEMU exited with status {proc.returncode}" if proc.returncode else ""
        qemu_out = proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as e:
        why, qemu_out = f"timed out after {timeout} s", (e.stdout or b"").decode(errors="replace")
    except FileNotFoundError:
        raise PeerError("qemu-system-x86_64 not found: run tools/setup.sh") from None
    try:
        with open(log, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    errors = [line for line in text.splitlines() if line.startswith("BENCH-ERROR")]
    if errors or "BENCH-DONE" not in text.splitlines():
        what = errors[0] if errors else why or "no BENCH-DONE"
        raise PeerError(f"Linux peer ({' '.join(cmd)}): {what}\n--- {log}, last lines:\n{tail(text)}"
                        + (f"\n--- QEMU said:\n{tail(qemu_out, 10)}" if qemu_out.strip() else ""))
    return parse(text, icount)


def main():
    ap = argparse.ArgumentParser(description="Boot Debian's Linux with the benchmark init and print its BENCH lines.")
    ap.add_argument("--quick", action="store_true", help="small counts (bench=quick)")
    ap.add_argument("--smp", type=int, default=1, help="number of CPUs (default 1)")
    ap.add_argument("--no-icount", action="store_true", help="plain TCG clock instead of -icount shift=0")
    ap.add_argument("--accel", default="tcg", choices=("tcg", "kvm"), help="kvm implies --no-icount")
    ap.add_argument("--timeout", type=int, default=600, help="seconds before the boot is killed")
    args = ap.parse_args()
    icount = not args.no_icount and args.accel == "tcg"
    prepare()
    mode = "quick" if args.quick else "full"
    t0 = time.monotonic()
    try:
        rows = run(mode, icount, args.smp, args.timeout, args.accel)
    except PeerError as e:
        die(str(e))
    for row in rows:
        print(bench_line(row))
    print("BENCH-DONE")
    print(f"linux_peer: {mode}, -smp {args.smp}, {'icount' if icount else args.accel}: "
          f"{len(rows)} results in {time.monotonic() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
