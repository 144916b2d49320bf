# Builds and installs the C library:
#
#     make                                  # builds target/release/libmaxpool.{so,a}, usable in place
#     make install PREFIX=/usr/local        # or PREFIX=$HOME/.local; DESTDIR= stages a package
#
# installs lib/libmaxpool.so (versioned, with its soname link), lib/libmaxpool.a, include/maxpool.h,
# lib/pkgconfig/maxpool.pc (shared) and lib/pkgconfig/maxpool-static.pc (static), so that
# `cc prog.c $(pkg-config --cflags --libs maxpool)` links the shared library and
# `cc [-static] prog.c $(pkg-config --cflags --libs maxpool-static)` the static one.
#
# Release libraries are installed without debug information (STRIP=: keeps it); PROFILE=dev installs a debug
# build with all of it.

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DESTDIR ?=
CARGO ?= cargo
# A cargo profile: release, or dev for a debug build.
PROFILE ?= release
CARGO_TARGET_DIR ?= target
# What strips the installed libraries' debug information; `:` keeps it. Debug builds are never stripped.
STRIP ?= strip

BUILD_DIR := $(CARGO_TARGET_DIR)/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))
VERSION := $(shell sed -n 's/^version = "\([^"]*\)"/\1/p' Cargo.toml | head -n 1)
# What the Rust standard library inside libmaxpool.a needs from the system (`rustc --print native-static-libs` on
# Linux, less the unwinder and libc, which the C compiler driver adds itself, static or shared).
NATIVE_STATIC_LIBS := -lutil -lrt -lpthread -lm -ldl
STRIP_INSTALLED := $(if $(filter dev,$(PROFILE)),:,$(STRIP))

.PHONY: all build install uninstall test test-python bench-c bench-onednn

all: build

# Every test: Rust (unit, conformance, C and C++, CLI, doc examples), then the Python package's.
test:
	$(CARGO) test --workspace
	$(MAKE) test-python

# The Python package as a new user gets it: a fresh virtual environment, `pip install ./python` (which builds the
# native module from source with maturin, in release), then its pytest suite. -rs prints why a test was skipped
# (the PyTorch tests, when PyTorch is absent). ml_dtypes (small; numpy's bfloat16) is installed so that the bfloat16
# tests run. PYTHON picks the interpreter; PYTHON_VENV where the environment goes.
PYTHON ?= python3
PYTHON_VENV ?= $(CARGO_TARGET_DIR)/python-venv
test-python:
	rm -rf $(PYTHON_VENV)
	$(PYTHON) -m venv $(PYTHON_VENV)
	$(PYTHON_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(PYTHON_VENV)/bin/python -m pip install --quiet numpy pytest ml_dtypes
	$(PYTHON_VENV)/bin/python -m pip install ./python
	cd python/tests && $(abspath $(PYTHON_VENV))/bin/python -m pytest -rs -q .

# Builds the libraries, and gives the shared one its soname link beside it, so that a program linked with
# -L$(BUILD_DIR) -lmaxpool also runs from there (with -Wl,-rpath or LD_LIBRARY_PATH).
build:
	$(CARGO) build --profile $(PROFILE) -p maxpool-capi
	@# The soname is set by crates/capi/build.rs; read it back rather than restate the rule here.
	soname=$$(readelf -d $(BUILD_DIR)/libmaxpool.so | sed -n 's/.*soname: \[\(.*\)\]/\1/p'); \
	  test -n "$$soname" || { echo "libmaxpool.so has no soname" >&2; exit 1; }; \
	  ln -sf libmaxpool.so $(BUILD_DIR)/$$soname

install: build
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)
	install -m 644 $(BUILD_DIR)/libmaxpool.a $(DESTDIR)$(LIBDIR)/libmaxpool.a
	$(STRIP_INSTALLED) --strip-debug $(DESTDIR)$(LIBDIR)/libmaxpool.a
	install -m 755 $(BUILD_DIR)/libmaxpool.so $(DESTDIR)$(LIBDIR)/libmaxpool.so.$(VERSION)
	$(STRIP_INSTALLED) --strip-unneeded $(DESTDIR)$(LIBDIR)/libmaxpool.so.$(VERSION)
	soname=$$(readelf -d $(BUILD_DIR)/libmaxpool.so | sed -n 's/.*soname: \[\(.*\)\]/\1/p'); \
	  ln -sf libmaxpool.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$$soname; \
	  ln -sf $$soname $(DESTDIR)$(LIBDIR)/libmaxpool.so
	install -m 644 include/maxpool.h $(DESTDIR)$(INCLUDEDIR)/maxpool.h
	for pc in maxpool maxpool-static; do \
	  sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	      -e 's|@VERSION@|$(VERSION)|' -e 's|@NATIVE_STATIC_LIBS@|$(NATIVE_STATIC_LIBS)|' \
	      crates/capi/$$pc.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/$$pc.pc || exit 1; \
	done

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libmaxpool.a $(DESTDIR)$(LIBDIR)/libmaxpool.so $(DESTDIR)$(LIBDIR)/libmaxpool.so.* \
	      $(DESTDIR)$(INCLUDEDIR)/maxpool.h $(DESTDIR)$(LIBDIR)/pkgconfig/maxpool.pc \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/maxpool-static.pc

# W4 through the C ABI (benches/c_abi_w4.c), linked statically like a C program would.
bench-c: build
	$(CC) -std=c11 -O2 -Iinclude benches/c_abi_w4.c $(BUILD_DIR)/libmaxpool.a $(NATIVE_STATIC_LIBS) \
	    -o $(BUILD_DIR)/c_abi_w4
	$(BUILD_DIR)/c_abi_w4

# oneDNN's pooling beside ours through the C ABI, one process (benches/onednn_side_by_side.cpp). ONEDNN is a
# folder with oneDNN's include/ and lib/ (shared/PEERS.md says how to get the OpenMP build); RUNS the timed calls
# per median (the program's default when empty); DTYPE the element type of both sides: f32, bf16 or f16.
ONEDNN ?=
DTYPE ?= f32
bench-onednn: build
	@test -n "$(ONEDNN)" || { echo "set ONEDNN=/path/with/include/and/lib"; exit 1; }
	$(CXX) -std=c++17 -O2 -fopenmp -Iinclude -I$(ONEDNN)/include benches/onednn_side_by_side.cpp \
	    $(BUILD_DIR)/libmaxpool.a $(NATIVE_STATIC_LIBS) -L$(ONEDNN)/lib -ldnnl -Wl,-rpath,$(ONEDNN)/lib \
	    -o $(BUILD_DIR)/onednn_side_by_side
	$(BUILD_DIR)/onednn_side_by_side $(RUNS) $(DTYPE)
