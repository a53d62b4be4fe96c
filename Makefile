# Xenith build.  `make` builds bin/ (xl, xenith-vmm) and the test guest;
# `make check` also builds an ASan/UBSan variant under build/san and runs every test against it.

CC       ?= gcc
BUILD    ?= build/release
BINDIR   ?= bin
SANFLAGS ?=
CFLAGS   ?= -O2 -g
XEN_CFLAGS = -D__XEN_INTERFACE_VERSION__=0x00040e00
ALL_CFLAGS = -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wno-missing-field-initializers \
             $(XEN_CFLAGS) -iquote src -MMD -MP -pthread $(CFLAGS) $(SANFLAGS)
# bzImage payloads come packed with any of the kernel's compressors.
VMM_LIBS  = -llzma -lz -lzstd -llz4 -lbz2 -llzo2 -luring
LDFLAGS  += -pthread $(SANFLAGS)
# xenith-libvirtd parses domain XML with libxml2 (Debian's libxml2-dev) and takes libvirt's public
# enums (error codes, states, flags) from Debian's libvirt-dev headers.
XML_CFLAGS = -I/usr/include/libxml2
XML_LIBS   = -lxml2

# The save/migration stream (src/migrate) is read and written by xl and the VMM alike.
LIB_SRCS  := $(wildcard src/lib/*.c src/migrate/*.c)
VMM_SRCS  := $(wildcard src/vmm/*.c src/xen/*.c src/hw/*.c src/backends/*.c)
XL_SRCS   := $(filter-out src/xl/xl.c,$(wildcard src/xl/*.c))
XS_SRCS   := $(filter-out src/xenstore/main.c,$(wildcard src/xenstore/*.c))
LIBVIRT_SRCS := $(filter-out src/libvirt/main.c,$(wildcard src/libvirt/*.c))
# The logger (error.c) bounds a daemon's log file through logfile.c: every program that logs takes both.
LOG_SRCS  := src/lib/error.c src/lib/logfile.c
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
LIB_OBJS := $(call obj,$(LIB_SRCS))
VMM_OBJS := $(call obj,$(VMM_SRCS))
VMM_LIB_OBJS := $(filter-out $(call obj,src/vmm/main.c),$(VMM_OBJS))
XL_OBJS  := $(call obj,$(XL_SRCS))
XS_OBJS  := $(call obj,$(XS_SRCS))
LIBVIRT_OBJS := $(call obj,$(LIBVIRT_SRCS))
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all tools guest check san run clean deps deps-test
.SECONDARY:
all: tools guest

tools: $(BINDIR)/xl $(BINDIR)/xenith-vmm $(BINDIR)/xenith-ctl $(BINDIR)/xenstored $(BINDIR)/xenith-libvirtd $(UNIT_BINS) $(BUILD)/tests/hostloop \
       $(BUILD)/tests/backend_rings

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/src/libvirt/%.o: src/libvirt/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(XML_CFLAGS) -c $< -o $@

$(BINDIR)/xenith-vmm: $(VMM_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $(VMM_LIBS)

$(BINDIR)/xl: $(call obj,src/xl/xl.c) $(XL_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS)

$(BINDIR)/xenith-ctl: $(call obj,src/tools/xenith_ctl.c) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS)

# xenstored: its own daemon (src/xenstore, docs/pv-core.md).
$(BINDIR)/xenstored: $(call obj,src/xenstore/main.c) $(XS_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS)

# xenith-libvirtd: libvirt's remote protocol for a Dom0 (src/libvirt, docs/libvirt.md).
$(BINDIR)/xenith-libvirtd: $(call obj,src/libvirt/main.c) $(LIBVIRT_OBJS) $(XL_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $(XML_LIBS)

# Unit tests link the modules they may test plus the shared helpers.
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBVIRT_OBJS) $(XL_OBJS) $(VMM_LIB_OBJS) $(XS_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $(VMM_LIBS) $(XML_LIBS)

# The host half of bench/exits.sh: the guest's ring-3 loop, run natively.
$(BUILD)/tests/hostloop: bench/hostloop.c guest/workload.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -Wall -Wextra -Werror -Iguest $^ -o $@

# bench/rings.sh's program: the real backend rings on a fake domain, with the VMM's objects.
$(BUILD)/tests/backend_rings: $(BUILD)/bench/backend_rings.o $(VMM_LIB_OBJS) $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $^ -o $@ $(LDFLAGS) $(VMM_LIBS)

guest:
	$(MAKE) -C guest

san:
	$(MAKE) tools BUILD=build/san BINDIR=build/san/bin CFLAGS="-O1 -g -fno-omit-frame-pointer" \
	    SANFLAGS="-fsanitize=address,undefined -fno-sanitize-recover=undefined"

deps:
	scripts/install-deps

deps-test:
	scripts/install-deps test

# The build is much of make check's time: it uses every core the host has (CI's too).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check: deps-test
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) san
	XENITH_MAKE_JOBS=$(JOBS) tests/run-all build/san

run: deps all
	bin/xl create -c examples/hello.cfg

clean:
	rm -rf build bin
	$(MAKE) -C guest clean

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- Fuzzing (tests/fuzz/run) -------------------------------------------------------------
# One libFuzzer binary per parser, built with clang straight from the few sources it needs.
FUZZ_CC     ?= $(shell command -v clang-14 || command -v clang || echo clang)
FUZZ_CFLAGS  = -std=gnu11 $(XEN_CFLAGS) -iquote src -g -O1 -Wall -Wextra \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_PVH_ELF_SRCS = tests/fuzz/fuzz_pvh_elf.c src/vmm/pvh_loader.c src/vmm/vm.c $(LOG_SRCS) src/vmm/bzimage.c \
                    src/vmm/decompress.c src/vmm/acpi_tables.c src/vmm/acpi_aml.c src/vmm/xen_call_sites.c \
                    src/vmm/elf.c
FUZZ_XS_MESSAGE_SRCS = tests/fuzz/fuzz_xs_message.c $(XS_SRCS) $(LOG_SRCS) src/lib/unix_socket.c
FUZZ_XS_SNAPSHOT_SRCS = tests/fuzz/fuzz_xs_snapshot.c $(XS_SRCS) $(LOG_SRCS) src/lib/unix_socket.c
FUZZ_XS_JOURNAL_SRCS = tests/fuzz/fuzz_xs_journal.c $(XS_SRCS) $(LOG_SRCS) src/lib/unix_socket.c
# The ring backends run on tests/unit/fake_domain.h: xen_init and the hypercall table (all of
# src/xen) and what those reach, short of domain.c (the fuzzers stub domain_shutdown).
FUZZ_FAKE_DOMAIN_SRCS = $(wildcard src/xen/*.c) src/vmm/vm.c src/vmm/dirty_log.c src/vmm/dirty_bitmap.c src/vmm/guest_access.c src/vmm/io.c src/vmm/upcall.c src/lib/hvlog.c \
                        src/vmm/event_loop.c src/backends/console.c $(LOG_SRCS)
FUZZ_FAKE_DOMAIN_HDRS = $(wildcard src/backends/*.h src/vmm/*.h src/xen/*.h src/lib/*.h) tests/unit/fake_domain.h
FUZZ_NETBACK_RING_SRCS = tests/fuzz/fuzz_netback_ring.c src/backends/netback_ring.c src/backends/netback_csum.c \
                         src/backends/netback_offload.c \
                         $(FUZZ_FAKE_DOMAIN_SRCS)
FUZZ_BLKBACK_RING_SRCS = tests/fuzz/fuzz_blkback_ring.c src/backends/blkback_ring.c src/backends/blkback_io.c src/backends/blkback_uring.c src/backends/ring_poller.c \
                         $(FUZZ_FAKE_DOMAIN_SRCS)

.PHONY: fuzz
fuzz: build/fuzz/fuzz_pvh_elf build/fuzz/fuzz_xs_message build/fuzz/fuzz_netback_ring build/fuzz/fuzz_blkback_ring

build/fuzz/fuzz_pvh_elf: $(FUZZ_PVH_ELF_SRCS) $(wildcard src/vmm/*.h src/lib/*.h src/xen/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_PVH_ELF_SRCS) -o $@ $(VMM_LIBS)

build/fuzz/fuzz_xs_message: $(FUZZ_XS_MESSAGE_SRCS) $(wildcard src/xenstore/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_XS_MESSAGE_SRCS) -o $@ $(VMM_LIBS)

# xenstored's snapshot loader (persist.c) and the ring resume it feeds (resume.c).
fuzz: build/fuzz/fuzz_xs_snapshot
build/fuzz/fuzz_xs_snapshot: $(FUZZ_XS_SNAPSHOT_SRCS) $(wildcard src/xenstore/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_XS_SNAPSHOT_SRCS) -o $@ $(VMM_LIBS)

# xenstored's journal (journal.c) applied after a snapshot.
fuzz: build/fuzz/fuzz_xs_journal
build/fuzz/fuzz_xs_journal: $(FUZZ_XS_JOURNAL_SRCS) $(wildcard src/xenstore/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_XS_JOURNAL_SRCS) -o $@ $(VMM_LIBS)

build/fuzz/fuzz_netback_ring: $(FUZZ_NETBACK_RING_SRCS) $(FUZZ_FAKE_DOMAIN_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_NETBACK_RING_SRCS) -o $@ $(VMM_LIBS)

build/fuzz/fuzz_blkback_ring: $(FUZZ_BLKBACK_RING_SRCS) $(FUZZ_FAKE_DOMAIN_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_BLKBACK_RING_SRCS) -o $@ $(VMM_LIBS)

# Hypercalls on tests/unit/fake_domain.h with the real domain_shutdown, so the VMM core as the unit
# tests link it (domain.c reaches the rest).
FUZZ_HYPERCALL_SRCS = tests/fuzz/fuzz_hypercall.c $(filter-out src/vmm/main.c,$(VMM_SRCS)) $(LIB_SRCS)
fuzz: build/fuzz/fuzz_hypercall

build/fuzz/fuzz_hypercall: $(FUZZ_HYPERCALL_SRCS) $(wildcard src/*/*.h) tests/unit/fake_domain.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_HYPERCALL_SRCS) -o $@ $(VMM_LIBS)

# bzImage kernels: the setup header and every payload decompressor, on any bytes.
FUZZ_BZIMAGE_SRCS = tests/fuzz/fuzz_bzimage.c src/vmm/bzimage.c src/vmm/decompress.c
fuzz: build/fuzz/fuzz_bzimage

build/fuzz/fuzz_bzimage: $(FUZZ_BZIMAGE_SRCS) src/vmm/bzimage.h src/vmm/decompress.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_BZIMAGE_SRCS) -o $@ $(VMM_LIBS)

# The instruction emulator on the fake vCPU of tests/unit/fake_x86_cpu.h: decoder and executor only.
FUZZ_X86_DECODE_SRCS = tests/fuzz/fuzz_x86_decode.c src/vmm/x86_emulate.c src/vmm/x86_decode.c src/vmm/x86_operand.c \
                       src/vmm/x86_xstate.c src/vmm/x86_ops_int.c src/vmm/x86_ops_fpu.c src/vmm/x86_ops_xsave.c \
                       src/vmm/x86_ops_sys.c
fuzz: build/fuzz/fuzz_x86_decode

build/fuzz/fuzz_x86_decode: $(FUZZ_X86_DECODE_SRCS) src/vmm/x86_emulate.h src/vmm/x86_emulate_int.h tests/unit/fake_x86_cpu.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_X86_DECODE_SRCS) -o $@ $(VMM_LIBS)

# The Xen hypercall call-site rewriter on any bytes: ELF files, or code wrapped into one.
FUZZ_XEN_CALL_SITES_SRCS = tests/fuzz/fuzz_xen_call_sites.c src/vmm/xen_call_sites.c src/vmm/elf.c
fuzz: build/fuzz/fuzz_xen_call_sites

build/fuzz/fuzz_xen_call_sites: $(FUZZ_XEN_CALL_SITES_SRCS) src/vmm/xen_call_sites.h src/xen/xen_state.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_XEN_CALL_SITES_SRCS) -o $@ $(VMM_LIBS)

# Domain XML from libvirt clients (src/libvirt/domxml.c) with xl's disk and vif parsers behind it.
FUZZ_DOMXML_SRCS = tests/fuzz/fuzz_domxml.c src/libvirt/domxml.c src/libvirt/xml_safe.c $(XL_SRCS) $(LIB_SRCS)
fuzz: build/fuzz/fuzz_domxml

build/fuzz/fuzz_domxml: $(FUZZ_DOMXML_SRCS) $(wildcard src/libvirt/*.h src/xl/*.h src/lib/*.h) tests/unit/domxml_compare.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(XML_CFLAGS) -pthread $(FUZZ_DOMXML_SRCS) -o $@ $(XML_LIBS)

# xenith-libvirtd's RPC input for one client (framing, header, dispatch of the procedure tables:
# the daemon's own files and xl's library beneath them), in a temp run and state directory.  Not the
# storage table: its pools and volumes are paths anywhere on the host, which a fuzzer running as root
# must not create (its own tests cover it).
FUZZ_VIRT_RPC_SRCS = tests/fuzz/fuzz_virt_rpc.c $(XL_SRCS) $(LIB_SRCS) \
                     $(filter-out src/libvirt/procs_storage.c src/libvirt/storage%.c,$(LIBVIRT_SRCS))
fuzz: build/fuzz/fuzz_virt_rpc

build/fuzz/fuzz_virt_rpc: $(FUZZ_VIRT_RPC_SRCS) $(wildcard src/libvirt/*.h src/xl/*.h src/lib/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(XML_CFLAGS) -pthread $(FUZZ_VIRT_RPC_SRCS) -o $@ $(XML_LIBS)

# netback's checksum completion on any frame (the headers netfront's csum_blank frames carry).
FUZZ_NETBACK_CSUM_SRCS = tests/fuzz/fuzz_netback_csum.c src/backends/netback_csum.c $(LOG_SRCS)
fuzz: build/fuzz/fuzz_netback_csum

build/fuzz/fuzz_netback_csum: $(FUZZ_NETBACK_CSUM_SRCS) src/backends/netback.h src/lib/error.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_NETBACK_CSUM_SRCS) -o $@ $(VMM_LIBS)

# The test guest's rx chain (guest/netfront_slots.c) on any responses a backend could write.
FUZZ_GUEST_NETFRONT_SLOTS_SRCS = tests/fuzz/fuzz_guest_netfront_slots.c
fuzz: build/fuzz/fuzz_guest_netfront_slots

build/fuzz/fuzz_guest_netfront_slots: $(FUZZ_GUEST_NETFRONT_SLOTS_SRCS) guest/netfront_slots.c guest/netfront_slots.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_GUEST_NETFRONT_SLOTS_SRCS) -o $@

# Saved device state on any bytes: PV backend records (one spelling per state) and the emulated
# devices' stream restored into a UART and port80, with the VMM core as the unit tests link it.
FUZZ_PV_RESTORE_SRCS = tests/fuzz/fuzz_pv_restore.c $(filter-out src/vmm/main.c,$(VMM_SRCS)) $(LIB_SRCS)
fuzz: build/fuzz/fuzz_pv_restore

build/fuzz/fuzz_pv_restore: $(FUZZ_PV_RESTORE_SRCS) $(wildcard src/*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_PV_RESTORE_SRCS) -o $@ $(VMM_LIBS)

# The save/migration stream reader on any bytes: header, records, PAGES batches, DOMAIN bodies,
# read from a buffer and from a descriptor alike.
FUZZ_MIGRATE_STREAM_SRCS = tests/fuzz/fuzz_migrate_stream.c src/migrate/stream.c $(LOG_SRCS)
fuzz: build/fuzz/fuzz_migrate_stream

build/fuzz/fuzz_migrate_stream: $(FUZZ_MIGRATE_STREAM_SRCS) src/migrate/stream.h src/lib/error.h src/lib/domain_limits.h \
                                src/vmm/vcpu_state.h src/backends/pv_backend.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_MIGRATE_STREAM_SRCS) -o $@

# The VMM's restore (vmm/restore.c) of a stream's domain records into a fake domain.
FUZZ_RESTORE_SRCS = tests/fuzz/fuzz_restore.c $(filter-out src/vmm/main.c,$(VMM_SRCS)) $(LIB_SRCS)
fuzz: build/fuzz/fuzz_restore

build/fuzz/fuzz_restore: $(FUZZ_RESTORE_SRCS) $(wildcard src/*/*.h) tests/unit/fake_domain.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_RESTORE_SRCS) -o $@ $(VMM_LIBS)

# fw_cfg against a hostile guest: port accesses of any size and DMA descriptors in (and outside)
# fake RAM, on the device built through its device_ops init.
FUZZ_FW_CFG_SRCS = tests/fuzz/fuzz_fw_cfg.c src/hw/fw_cfg.c src/hw/fw_cfg_pc.c src/hw/hvm_config.c \
                   $(FUZZ_FAKE_DOMAIN_SRCS)
fuzz: build/fuzz/fuzz_fw_cfg

build/fuzz/fuzz_fw_cfg: $(FUZZ_FW_CFG_SRCS) $(FUZZ_FAKE_DOMAIN_HDRS) src/hw/fw_cfg.h src/hw/hvm_config.h src/hw/device.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_FW_CFG_SRCS) -o $@ $(VMM_LIBS)

# The emulated e1000's registers and descriptor rings against hostile MMIO/IO, descriptors and
# frames over a socketpair, on tests/unit/fake_domain.h.
FUZZ_E1000_SRCS = tests/fuzz/fuzz_e1000.c src/hw/e1000.c src/hw/e1000_ring.c $(FUZZ_FAKE_DOMAIN_SRCS)
fuzz: build/fuzz/fuzz_e1000

build/fuzz/fuzz_e1000: $(FUZZ_E1000_SRCS) $(FUZZ_FAKE_DOMAIN_HDRS) src/hw/e1000.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_E1000_SRCS) -o $@ $(VMM_LIBS)

# PCI bus 0 with the chipset functions (i440FX, PIIX3, the Xen platform device) against a hostile
# guest: config-address/data accesses of any size and lane, fixed ports, the I/O and MMIO windows,
# INTx changes checked against levels recomputed from config space, save/restore round trips.
FUZZ_PCI_CONFIG_SRCS = tests/fuzz/fuzz_pci_config.c src/hw/pci.c src/hw/i440fx.c src/hw/piix3.c \
                       src/hw/xen_platform.c src/vmm/io.c $(LOG_SRCS)
fuzz: build/fuzz/fuzz_pci_config

build/fuzz/fuzz_pci_config: $(FUZZ_PCI_CONFIG_SRCS) $(wildcard src/vmm/*.h src/lib/*.h) src/hw/pci.h \
                            src/hw/xen_platform.h src/hw/device.h src/hw/irq.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_PCI_CONFIG_SRCS) -o $@ $(VMM_LIBS)

# The IDE controller and ATAPI CD-ROM (hw/ide.c, hw/atapi.c) against random port accesses, ATAPI
# packets and PRD tables, with a disk and a CD on memfds; the VMM core as the unit tests link it.
FUZZ_IDE_SRCS = tests/fuzz/fuzz_ide.c $(filter-out src/vmm/main.c,$(VMM_SRCS)) $(LIB_SRCS)
fuzz: build/fuzz/fuzz_ide

build/fuzz/fuzz_ide: $(FUZZ_IDE_SRCS) $(wildcard src/*/*.h) tests/unit/fake_domain.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -pthread $(FUZZ_IDE_SRCS) -o $@ $(VMM_LIBS)
