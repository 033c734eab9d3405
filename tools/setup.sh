#!/bin/sh
# tools/setup.sh: check the tools that build, boot and test the kernel; as root, apt-get install what is missing.
# Usage: tools/setup.sh [--check]   (--check: report only, never install). Exit 0 when everything is present.
set -u

check_only=0
case "${1:-}" in
    "") ;;
    --check) check_only=1 ;;
    -h|--help) sed -n '2,3s/^# //p' "$0"; exit 0 ;;
    *) echo "setup: unknown option '$1' (usage: tools/setup.sh [--check])" >&2; exit 2 ;;
esac

missing_what=""   # human-readable list of what is missing
missing_pkgs=""   # Debian packages that provide it, without duplicates

need() { # need WHAT DEBIAN_PACKAGE: record a missing item
    missing_what="${missing_what:+$missing_what, }$1"
    case " $missing_pkgs " in
        *" $2 "*) ;;
        *) missing_pkgs="${missing_pkgs:+$missing_pkgs }$2" ;;
    esac
}

have_cmd() { command -v "$1" >/dev/null 2>&1; }

scan() {
    missing_what="" missing_pkgs=""
    have_cmd nasm                || need nasm nasm
    have_cmd qemu-system-x86_64  || need qemu-system-x86_64 qemu-system-x86
    have_cmd grub-mkrescue       || need grub-mkrescue grub-common
    [ -f /usr/lib/grub/i386-pc/moddep.lst ]    || need "GRUB BIOS modules (/usr/lib/grub/i386-pc)" grub-pc-bin
    [ -f /usr/lib/grub/x86_64-efi/moddep.lst ] || need "GRUB UEFI modules (/usr/lib/grub/x86_64-efi)" grub-efi-amd64-bin
    have_cmd xorriso             || need xorriso xorriso
    have_cmd mformat             || need "mformat (mtools)" mtools
    [ -f /usr/share/ovmf/OVMF.fd ] || [ -f /usr/share/OVMF/OVMF_CODE.fd ] ||
        [ -f /usr/share/OVMF/OVMF_CODE_4M.fd ] || need "OVMF firmware" ovmf
    have_cmd gdb                 || need gdb gdb
    have_cmd gcc                 || need gcc gcc
    have_cmd cc                  || need "cc (host unit tests)" gcc
    have_cmd python3             || need python3 python3
    have_cmd make                || need make make
    have_cmd gnuplot             || need "gnuplot (make bench's plots)" gnuplot-nox
    [ -f /usr/lib/x86_64-linux-gnu/libc.a ] || need "static libc.a (make bench's Linux peer)" libc6-dev
}

scan
if [ -z "$missing_pkgs" ]; then
    echo "setup: all build and test tools present"
    exit 0
fi

echo "setup: missing: $missing_what" >&2
if [ "$check_only" = 1 ] || [ "$(id -u)" != 0 ]; then
    echo "setup: install them with:" >&2
    echo "sudo apt-get update && sudo apt-get install -y $missing_pkgs"
    exit 1
fi

if ! have_cmd apt-get; then
    echo "setup: apt-get not found: install the packages providing these by hand ($missing_pkgs)" >&2
    exit 1
fi
echo "setup: installing $missing_pkgs" >&2
apt-get update || { echo "setup: apt-get update failed" >&2; exit 1; }
# shellcheck disable=SC2086  # the package list is meant to split into words
DEBIAN_FRONTEND=noninteractive apt-get install -y $missing_pkgs ||
    { echo "setup: apt-get install failed" >&2; exit 1; }

scan
if [ -n "$missing_pkgs" ]; then
    echo "setup: still missing after install: $missing_what" >&2
    exit 1
fi
echo "setup: all build and test tools present"
