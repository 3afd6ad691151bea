# Cross build for 64-bit ARM Linux (Raspberry Pi 3/4/5 and similar) on a Debian 12 amd64 host
# with Debian's multiarch packages: scripts/install-deps.sh --cross aarch64 installs them.
# Used by the aarch64 presets; scripts/cross-test.sh aarch64 builds and tests with it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)

# No CMAKE_SYSROOT and no CMAKE_FIND_ROOT_PATH: the arm64 packages live in the host's own
# /usr/lib/aarch64-linux-gnu, which CMake searches for this processor by itself, while
# restricting the find root makes Boost's CMake config unfindable.

# Without this, pkg-config answers for the host and the build links the x86_64 libraries.
# aarch64-linux-gnu-pkg-config (pkgconf:arm64) searches only the arm64 and shared .pc dirs.
set(PKG_CONFIG_EXECUTABLE aarch64-linux-gnu-pkg-config CACHE FILEPATH "pkg-config for arm64")

# binfmt_misc is not available on every build machine, so ctest, gtest_discover_tests and the
# tests that spawn fieldlogd, fieldlog or fieldlog-server run target binaries through qemu.
# -L / and not -L /usr/aarch64-linux-gnu: the binaries load the multiarch libraries from
# /lib/aarch64-linux-gnu, libc.so.6 among them (libc6:arm64), so the dynamic loader must be the
# one from the same package, /lib/ld-linux-aarch64.so.1. The cross toolchain's own copy in
# /usr/aarch64-linux-gnu/lib (libc6-arm64-cross) lags behind Debian's security updates, and that
# loader with the newer libc.so.6 hangs in the first pthread_create.
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64;-L;/)
