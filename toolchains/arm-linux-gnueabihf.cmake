# Cross build for 32-bit ARMv7 Linux with hardware float (Raspberry Pi OS 32-bit, Pi 2 and
# later) on a Debian 12 amd64 host. Used by the armhf presets; scripts/cross-test.sh armhf
# builds and tests with it.
#
# Two ways to provide the armhf libraries:
# - Debian multiarch (scripts/install-deps.sh --cross armhf): no sysroot, as for aarch64; the
#   packages live in the host's /usr/lib/arm-linux-gnueabihf.
# - A private sysroot, for when the archive's armhf index cannot be used on the host (apt kept
#   for amd64 only): point FIELDLOG_ARMHF_SYSROOT (a CMake or environment variable) at a
#   directory with the armhf -dev packages unpacked into it (scripts/armhf-sysroot.sh).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)

set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
# GCC notes on every std::vector iterator that the ARM argument passing of such types changed
# in GCC 7.1; everything here is built by GCC 12, so the notes only bury real diagnostics.
set(CMAKE_CXX_FLAGS_INIT "-Wno-psabi")

if(NOT DEFINED FIELDLOG_ARMHF_SYSROOT AND DEFINED ENV{FIELDLOG_ARMHF_SYSROOT})
    set(FIELDLOG_ARMHF_SYSROOT "$ENV{FIELDLOG_ARMHF_SYSROOT}")
endif()
# try_compile projects read this file again; they see the variable only when it is passed on.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES FIELDLOG_ARMHF_SYSROOT)

if(FIELDLOG_ARMHF_SYSROOT)
    set(CMAKE_SYSROOT "${FIELDLOG_ARMHF_SYSROOT}")
    # Search the sysroot for libraries, headers and CMake packages, the host for programs.
    set(CMAKE_FIND_ROOT_PATH "${FIELDLOG_ARMHF_SYSROOT}")
    set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
    set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
    set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
    set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
    # The host's pkg-config, reading only the sysroot's .pc files and prefixing their paths.
    set(PKG_CONFIG_EXECUTABLE pkg-config CACHE FILEPATH "pkg-config for armhf")
    set(ENV{PKG_CONFIG_SYSROOT_DIR} "${FIELDLOG_ARMHF_SYSROOT}")
    set(ENV{PKG_CONFIG_LIBDIR}
        "${FIELDLOG_ARMHF_SYSROOT}/usr/lib/arm-linux-gnueabihf/pkgconfig:${FIELDLOG_ARMHF_SYSROOT}/usr/share/pkgconfig")
    set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm;-L;${FIELDLOG_ARMHF_SYSROOT})
else()
    # No sysroot and no CMAKE_FIND_ROOT_PATH: as for aarch64, restricting the find root makes
    # Boost unfindable, and CMake searches /usr/lib/arm-linux-gnueabihf by itself.
    set(PKG_CONFIG_EXECUTABLE arm-linux-gnueabihf-pkg-config CACHE FILEPATH "pkg-config for armhf")
    # binfmt_misc is not available on every build machine: target binaries run through qemu,
    # with the loader from libc6:armhf that matches its libc.so.6 (see aarch64-linux-gnu.cmake).
    set(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm;-L;/)
endif()
