// Command lines for the project's own executables (fieldlogd, fieldlog, fieldlog-server) that
// tests run as child processes. In a cross build those are binaries for another architecture;
// without binfmt_misc the host cannot exec them, so they run through the build's
// CMAKE_CROSSCOMPILING_EMULATOR (e.g. qemu-aarch64), which keeps the pid and passes signals on.
#pragma once

#include <string>
#include <vector>

namespace fieldlog::testing {

// The emulator's words: FIELDLOG_TEST_EMULATOR when set (split at spaces; set it empty to run
// cross-built tests natively on the target), else the build's CMAKE_CROSSCOMPILING_EMULATOR.
// Empty in a native build.
std::vector<std::string> test_emulator();

// argv with the emulator in front; argv itself in a native build. The first word may be a bare
// name (qemu-aarch64), so spawn the result with a PATH lookup (posix_spawnp, execvp).
std::vector<std::string> target_command(std::vector<std::string> argv);

}  // namespace fieldlog::testing
