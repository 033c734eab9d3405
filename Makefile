# Top-level Makefile: the kernel, the ISO, and the ways to run, debug and test
# them. `make help` lists the targets and variables.

CROSS    ?=
CC       := $(CROSS)gcc
LD       := $(CROSS)ld
NM       := $(CROSS)nm
OBJDUMP  := $(CROSS)objdump
NASM     ?= nasm
PYTHON   ?= python3

ACCEL    ?= tcg
export ACCEL
# make fuzz's default is 4 CPUs (before SMP gets its own default).
SMP      ?= 2
MEM      ?= 512M
CMDLINE  ?= testsys=1
FIRMWARE ?= bios
OPT      ?= -O2

BUILD    := build
VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo unknown)

KCFLAGS  := -std=gnu11 -ffreestanding -fno-builtin-printf -mno-red-zone -mcmodel=kernel \
            -mno-sse -mno-sse2 -mno-mmx -mno-avx -mno-80387 -fno-pic -fno-pie \
            -fno-stack-protector -fno-omit-frame-pointer -fno-optimize-sibling-calls \
            -fno-asynchronous-unwind-tables -g $(OPT) -Wall -Wextra -Werror \
            -fstack-usage -MMD -MP -Ikernel -I$(BUILD)
NASMFLAGS := -f elf64 -g -F dwarf -Ikernel/arch/x86_64/
LDFLAGS  := -nostdlib -static -z max-page-size=0x1000 -z noexecstack -T linker.ld --no-warn-rwx-segments

KSRCS    := $(shell find kernel -name '*.c' | sort)
KASMS    := $(shell find boot kernel -name '*.asm' | sort)
KOBJS    := $(KSRCS:%.c=$(BUILD)/%.o) $(KASMS:%.asm=$(BUILD)/%.o)

ifeq ($(ACCEL),kvm)
QEMU_CPU := -accel kvm -cpu host
else
QEMU_CPU := -accel tcg -cpu max
endif
OVMF     := $(firstword $(wildcard /usr/share/ovmf/OVMF.fd /usr/share/OVMF/OVMF_CODE.fd))
ifeq ($(FIRMWARE),uefi)
QEMU_FW  := -bios $(OVMF)
else ifneq ($(FIRMWARE),bios)
$(error FIRMWARE must be bios or uefi, not '$(FIRMWARE)')
endif
QEMU     := qemu-system-x86_64 $(QEMU_CPU) -m $(MEM) -smp $(SMP) -no-reboot $(QEMU_FW)

.PHONY: all run debug test bench bench-quick fuzz stress clean help deps
all: $(BUILD)/kernel.elf $(BUILD)/kstack.iso compile_commands.json

# Checks the tools (installs them as root, else prints the one command to run).
deps:
	@sh tools/setup.sh

# Quiet by default; V=1 shows the commands.
Q        := $(if $(V),,@)

$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

$(BUILD)/ksyms.o $(BUILD)/ksyms0.o: %.o: %.c
	$(Q)$(CC) $(KCFLAGS) -c $< -o $@

# NASM 2.16's -MD leaves out %include files: every stub depends on every .inc.
$(BUILD)/%.o: %.asm $(wildcard kernel/arch/x86_64/*.inc) | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  NASM    $<")
	$(Q)$(NASM) $(NASMFLAGS) -MD $(@:.o=.d) -MP $< -o $@

# Two links: the first gives the text addresses for the symbol table, the
# second links the table in. Text comes first in the image, so it cannot move.
$(BUILD)/ksyms0.c:
	@mkdir -p $(BUILD)
	$(Q)printf '#include "ksyms.h"\nconst struct ksym ksyms_table[1];\nconst size_t ksyms_count = 0;\n' > $@

$(BUILD)/kernel.pass1.elf: $(KOBJS) $(BUILD)/ksyms0.o linker.ld
	$(Q)$(LD) $(LDFLAGS) -o $@ $(KOBJS) $(BUILD)/ksyms0.o

$(BUILD)/ksyms.c: $(BUILD)/kernel.pass1.elf tools/gen_ksyms.sh
	$(Q)sh tools/gen_ksyms.sh $< $(NM) > $@

# The top page's budget (docs/DESIGN.md 12): no kernel.elf when the entry path
# before the expansion or the exit path after the shrink could overrun it.
$(BUILD)/stack_budget.txt: $(BUILD)/kernel.pass1.elf tools/stack_budget.py kernel/arch/x86_64/ptregs.h
	$(Q)$(PYTHON) tools/stack_budget.py --elf $< --build $(BUILD) --objdump $(OBJDUMP) -v > $@.tmp && \
	    mv $@.tmp $@ || { rm -f $@.tmp; exit 1; }
	@$(if $(Q),echo "  BUDGET  $$(tail -n 1 $@ | sed "s/^stack budget: //")")

$(BUILD)/kernel.elf: $(BUILD)/kernel.pass1.elf $(BUILD)/ksyms.o $(BUILD)/stack_budget.txt
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(LD) $(LDFLAGS) -o $@ $(KOBJS) $(BUILD)/ksyms.o
	@$(NM) -n $(BUILD)/kernel.pass1.elf | grep ' [tT] ' > $(BUILD)/text1.syms
	@$(NM) -n $@ | grep ' [tT] ' > $(BUILD)/text2.syms
	@cmp -s $(BUILD)/text1.syms $(BUILD)/text2.syms || \
	    { echo "kernel.elf: text moved between the two links; the symbol table would lie"; rm -f $@; exit 1; }

# version.h changes (and main.o is rebuilt) only when `git describe` does.
$(BUILD)/version.h: FORCE
	@mkdir -p $(BUILD)
	@echo '#define KSTACK_VERSION "$(VERSION)"' | cmp -s - $@ || echo '#define KSTACK_VERSION "$(VERSION)"' > $@
$(BUILD)/kernel/main.o: $(BUILD)/version.h

# Kernel objects are rebuilt when KCFLAGS change (e.g. OPT=, or -fstack-usage,
# whose .su files the stack budget check reads next to each object).
$(BUILD)/kcflags.txt: FORCE
	@mkdir -p $(BUILD)
	@echo '$(KCFLAGS)' | cmp -s - $@ || echo '$(KCFLAGS)' > $@
$(KSRCS:%.c=$(BUILD)/%.o): $(BUILD)/kcflags.txt

# The ISO is rebuilt when the command line changes.
$(BUILD)/cmdline.txt: FORCE
	@mkdir -p $(BUILD)
	@echo '$(CMDLINE)' | cmp -s - $@ || echo '$(CMDLINE)' > $@

$(BUILD)/kstack.iso: $(BUILD)/kernel.elf $(BUILD)/cmdline.txt iso/grub.cfg tools/mkiso.sh
	@$(if $(Q),echo "  ISO     $@")
	$(Q)sh tools/mkiso.sh $@ '$(CMDLINE)'

# ---------------------------------------------------------------- user programs (begin)
# Each user/<name>.c, or user/<name>/*.c for a bigger one, links with the
# runtime (user/lib/*.c) and with kernel/lib's string and format code compiled
# again for user space, into build/user/<name>.elf. tools/mkiso.sh ships every
# build/user/*.elf as a module named <name>. The x86-64 ABI's x87 and SSE (and
# AVX in inline asm): the kernel keeps each thread's FPU state (arch/x86_64/fpu.c).
# The link map is user/user.ld (0x400000, W^X segments).
UCFLAGS  := -std=gnu11 -ffreestanding -nostdlib -static -fno-pic -fno-pie -mno-red-zone \
            -fno-stack-protector -fno-omit-frame-pointer \
            -fno-asynchronous-unwind-tables -ffunction-sections -fdata-sections \
            -O2 -g -Wall -Wextra -Werror -MMD -MP -Iuser/lib -Ikernel
ULDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --gc-sections -T user/user.ld

ULIB_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(sort $(wildcard user/lib/*.c))) \
             $(BUILD)/user/klib/vsnprintf.o $(BUILD)/user/klib/string.o
UPROGS   := $(sort $(basename $(notdir $(wildcard user/*.c))) \
                   $(filter-out lib,$(notdir $(patsubst %/,%,$(dir $(wildcard user/*/*.c))))))
UELFS    := $(UPROGS:%=$(BUILD)/user/%.elf)
uprog_objs = $(patsubst user/%.c,$(BUILD)/user/%.o,$(wildcard user/$(1).c user/$(1)/*.c))
UOBJS    := $(ULIB_OBJS) $(foreach p,$(UPROGS),$(call uprog_objs,$(p)))

# (Shorter stems than the kernel's $(BUILD)/%.o rule, so make picks these for build/user/.)
$(BUILD)/user/%.o: user/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (user)")
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

$(BUILD)/user/klib/%.o: kernel/lib/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (user)")
	$(Q)$(CC) $(UCFLAGS) -c $< -o $@

define UPROG_RULE
$(BUILD)/user/$(1).elf: $(call uprog_objs,$(1)) $(ULIB_OBJS) user/user.ld
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(LD) $$(ULDFLAGS) -o $$@ $$(filter %.o,$$^)
endef
$(foreach p,$(UPROGS),$(eval $(call UPROG_RULE,$(p))))

all: $(UELFS)
$(BUILD)/kstack.iso: $(UELFS)

# The shell's `help` lists the programs of the ISO.
$(BUILD)/user/sh.o: UCFLAGS += -DUSER_PROGRAMS='"$(UPROGS)"'
$(BUILD)/user/sh.o: Makefile

-include $(UOBJS:.o=.d)
# ---------------------------------------------------------------- user programs (end)

compile_commands.json: Makefile tools/compile_commands.py
	$(Q)$(PYTHON) tools/compile_commands.py "$(CC) $(KCFLAGS)" $(KSRCS) > $@

# The serial console on this terminal: ^C goes to the kernel (the shell's foreground program), Ctrl-A X
# quits QEMU, Ctrl-A C is QEMU's monitor. init's exit (the shell's `exit`) leaves QEMU through isa-debug-exit:
# status 33 is a clean exit (0 from init), 35 a failing one.
QEMU_EXIT := -device isa-debug-exit,iobase=0xf4,iosize=0x04
run: all
	@echo "Serial console below: the shell's exit or halt leaves; Ctrl-A X quits QEMU at any time."
	@$(QEMU) -display none -chardev stdio,id=console,mux=on,signal=off -serial chardev:console \
	    -mon chardev=console $(QEMU_EXIT) -cdrom $(BUILD)/kstack.iso; \
	    status=$$?; case $$status in 0|33) ;; 35) echo "make run: init exited with a failure"; exit 1;; \
	    *) echo "make run: QEMU exited with status $$status"; exit 1;; esac

debug: all
	@echo "QEMU waits for gdb; the serial console goes to $(BUILD)/debug-serial.log"
	$(QEMU) -display none -serial file:$(BUILD)/debug-serial.log -s -S -cdrom $(BUILD)/kstack.iso & \
	    qemu=$$!; gdb -q -x tools/gdb/kstack.gdb $(BUILD)/kernel.elf; kill $$qemu 2>/dev/null || true

test: all
	$(PYTHON) tests/harness.py $(if $(SUITE),--suite '$(SUITE)')

# make fuzz and make stress: a boot of their own, the serial console on this terminal, the verdict in the
# exit status (tools/run_guest.sh); a run that outlives twice its SECONDS plus two minutes is a hang.
# SMP defaults to 4 for both.
SECONDS  ?= 60
KSTACK   ?= eager
RUN_SMP  := $(if $(filter command line environment,$(origin SMP)),$(SMP),4)
RUN_QEMU := qemu-system-x86_64 $(QEMU_CPU) -m $(MEM) -smp $(RUN_SMP) -no-reboot $(QEMU_FW) -display none \
            -chardev stdio,id=console,mux=on -serial chardev:console -mon chardev=console $(QEMU_EXIT)
RUN_LIMIT = $$(( $(SECONDS) * 2 + 120 ))

# make fuzz: user/fuzz.c as init, SECONDS of fuzzing from SEED (empty: one from the TSC; the program prints it)
# under kstack=KSTACK, PROCS processes of THREADS threads each, TRACE=1 prints every call before it is made;
# FUZZ_OPTS adds kernel options (hz=1000, kstack_tlb_check=1, ...). initarg= is one word, so the five travel
# comma-separated.
SEED     ?=
PROCS    ?= 4
THREADS  ?= 4
TRACE    ?= 0
FUZZ_OPTS ?=
FUZZ_CMDLINE := init=fuzz initarg=$(SECONDS),$(SEED),$(PROCS),$(THREADS),$(TRACE) kstack=$(KSTACK) $(FUZZ_OPTS)
fuzz: $(BUILD)/kernel.elf $(UELFS)
	$(Q)sh tools/run_guest.sh fuzz $(BUILD)/fuzz.iso '$(FUZZ_CMDLINE)' $(RUN_LIMIT) $(RUN_QEMU)

# make bench: every strategy and Linux side by side (tools/bench.py; docs/DESIGN.md section 10).
bench: all
	$(PYTHON) tools/bench.py

bench-quick: all
	$(PYTHON) tools/bench.py --quick --out $(BUILD)/bench-quick

# make stress: user/stress.c for SECONDS under KSTACK, hz=10000, with the kstack invariant checker every
# KSTACK_CHECK ms.
KSTACK_CHECK ?= 50
STRESS_CMDLINE := init=stress initarg=$(SECONDS) testsys=1 hz=10000 kstack_check=$(KSTACK_CHECK) kstack=$(KSTACK)
stress: $(BUILD)/kernel.elf $(UELFS)
	$(Q)sh tools/run_guest.sh stress $(BUILD)/stress.iso '$(STRESS_CMDLINE)' $(RUN_LIMIT) $(RUN_QEMU)

clean:
	rm -rf $(BUILD) compile_commands.json

help:
	@echo "Targets: all (default: kernel.elf and kstack.iso), run, debug, test [SUITE=name], bench, bench-quick,"
	@echo "         fuzz [SECONDS=n SEED=s KSTACK=strategy SMP=n], stress [SECONDS=n KSTACK=strategy KSTACK_CHECK=ms], clean"
	@echo "Variables: ACCEL=tcg|kvm SMP=n MEM=size CMDLINE='...' FIRMWARE=bios|uefi CROSS=prefix OPT=-O2"
	@echo "make fuzz: SECONDS=60 SEED=<n> (default: random, printed) KSTACK=eager PROCS=4 THREADS=4 TRACE=0|1 FUZZ_OPTS='hz=1000 ...' (SMP=4)"

FORCE:
.PHONY: FORCE

-include $(KOBJS:.o=.d) $(BUILD)/ksyms.d $(BUILD)/ksyms0.d
