#!/bin/sh
# mkiso.sh OUT.iso "CMDLINE": a bootable ISO (BIOS and UEFI GRUB) with
# build/kernel.elf, the kernel command line, and every build/user/*.elf as a
# multiboot2 module named after the program.
set -eu
out=$1
cmdline=${2:-}
top=$(cd "$(dirname "$0")/.." && pwd)
stage=$(mktemp -d "${TMPDIR:-/tmp}/kstack-iso.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/boot/grub" "$stage/boot/user"
cp "$top/build/kernel.elf" "$stage/boot/kernel.elf"
modules=""
for prog in "$top"/build/user/*.elf; do
    [ -e "$prog" ] || continue
    name=$(basename "$prog" .elf)
    cp "$prog" "$stage/boot/user/$name.elf"
    modules="$modules    module2 /boot/user/$name.elf $name
"
done
# The command line and module list go in verbatim: no sed, so any character is safe.
awk -v cmdline="$cmdline" -v modules="$modules" '
    /@MODULES@/ { printf "%s", modules; next }
    { i = index($0, "@CMDLINE@")
      if (i) $0 = substr($0, 1, i - 1) cmdline substr($0, i + 9)
      print }' "$top/iso/grub.cfg" > "$stage/boot/grub/grub.cfg"

mkdir -p "$(dirname "$out")"
if ! log=$(grub-mkrescue -o "$out" "$stage" 2>&1); then
    echo "$log" >&2
    echo "mkiso: grub-mkrescue failed (is xorriso/mtools installed? run tools/setup.sh)" >&2
    exit 1
fi
