# Builds and installs the C library:
#
#     make install PREFIX=/usr/local        # or PREFIX=$HOME/.local; DESTDIR= stages a package
#
# installs lib/libmaxpool.so (versioned, with its soname link), lib/libmaxpool.a, include/maxpool.h and
# lib/pkgconfig/maxpool.pc, so that `cc prog.c $(pkg-config --cflags --libs maxpool)` works.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=
CARGO ?= cargo
# A cargo profile: release, or dev for a debug build.
PROFILE ?= release
CARGO_TARGET_DIR ?= target

BUILD_DIR := $(CARGO_TARGET_DIR)/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))
VERSION := $(shell sed -n 's/^version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)

.PHONY: all build install uninstall bench-c

all: build

build:
	$(CARGO) build --profile $(PROFILE) -p maxpool-capi

install: build
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(BUILD_DIR)/libmaxpool.a $(DESTDIR)$(LIBDIR)/libmaxpool.a
	install -m 755 $(BUILD_DIR)/libmaxpool.so $(DESTDIR)$(LIBDIR)/libmaxpool.so.$(VERSION)
	@# The soname is set by crates/capi/build.rs; read it back rather than restate the rule here.
	soname=$$(readelf -d $(BUILD_DIR)/libmaxpool.so | sed -n 's/.*soname: \[\(.*\)\]/\1/p'); \
	  test -n "$$soname" || { echo "libmaxpool.so has no soname" >&2; exit 1; }; \
	  ln -sf libmaxpool.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$$soname; \
	  ln -sf $$soname $(DESTDIR)$(LIBDIR)/libmaxpool.so
	install -m 644 include/maxpool.h $(DESTDIR)$(INCLUDEDIR)/maxpool.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' crates/capi/maxpool.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/maxpool.pc

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libmaxpool.a $(DESTDIR)$(LIBDIR)/libmaxpool.so $(DESTDIR)$(LIBDIR)/libmaxpool.so.* \
	      $(DESTDIR)$(INCLUDEDIR)/maxpool.h $(DESTDIR)$(LIBDIR)/pkgconfig/maxpool.pc

# W4 through the C ABI (benches/c_abi_w4.c), linked statically like a C program would.
bench-c: build
	$(CC) -std=c11 -O2 -Iinclude benches/c_abi_w4.c $(BUILD_DIR)/libmaxpool.a \
	    -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o $(BUILD_DIR)/c_abi_w4
	$(BUILD_DIR)/c_abi_w4
