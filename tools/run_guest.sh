#!/bin/sh
# tools/run_guest.sh NAME ISO CMDLINE LIMIT_S QEMU...: `make fuzz` and `make stress`. Builds ISO to boot with
# CMDLINE, runs the QEMU command given (the serial console on this terminal; Ctrl-A X stops it) for at most
# LIMIT_S seconds, and says what became of the run. Exit status 0 only when the init program exited 0.
set -u
[ $# -ge 5 ] || { echo "usage: $0 NAME ISO CMDLINE LIMIT_S QEMU-COMMAND..." >&2; exit 2; }
name=$1 iso=$2 cmdline=$3 limit=$4
shift 4
sh tools/mkiso.sh "$iso" "$cmdline" || { echo "make $name: building $iso failed"; exit 1; }
echo "make $name: $cmdline; Ctrl-A X stops QEMU"
status=0
timeout --foreground "$limit" "$@" -cdrom "$iso" || status=$?
case $status in
33) echo "make $name: passed" ;;
35) echo "make $name: FAILED (the KTAP above says which check)"; exit 1 ;;
37) echo "make $name: FAILED: kernel panic (above)"; exit 1 ;;
124) echo "make $name: FAILED: hang (QEMU stopped after $limit s)"; exit 1 ;;
*) echo "make $name: FAILED: QEMU exited with status $status"; exit 1 ;;
esac
