# kstack.gdb: `make debug` sources this. Connects to QEMU's gdb stub (-s: port
# 1234), stops at kmain, and loads the kernel's own commands (kstack.py).
set pagination off
set confirm off
set disassembly-flavor intel
target remote :1234
source tools/gdb/kstack.py
# The kernel's pages are not mapped until the boot code enables paging, so a
# software breakpoint cannot be planted yet: use a hardware one.
hbreak kmain
echo \nkstack: stopping at kmain. `ks-help` lists the kernel's gdb commands.\n
continue
