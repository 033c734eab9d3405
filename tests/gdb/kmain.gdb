# tests/gdb/kmain.gdb: the harness's gdb test (tests/harness.py, label gdb): stop at kmain,
# show the backtrace and source line, step once. The harness connects first (target remote).
set pagination off
set confirm off
# A hardware breakpoint: kmain's page is not mapped yet when QEMU starts, so no int3 can be planted.
hbreak kmain
continue
bt 8
info line *$pc
frame
next
frame
