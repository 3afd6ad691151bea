#include "pty_pair.hpp"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace fieldlog::gnss::testing {

namespace {

[[noreturn]] void fail(const char* what) {
    throw std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

}  // namespace

PtyPair::PtyPair() : master_(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) {
    if (!master_) fail("posix_openpt");
    if (::grantpt(master_.get()) != 0) fail("grantpt");
    if (::unlockpt(master_.get()) != 0) fail("unlockpt");
    std::array<char, 128> name{};
    if (::ptsname_r(master_.get(), name.data(), name.size()) != 0) fail("ptsname_r");
    slave_path_ = name.data();
}

void PtyPair::write(std::string_view bytes) {
    // Bounded: a pty takes a few kB before a write blocks, and tests write less than that
    // between reads.
    for (int attempt = 0; !bytes.empty() && attempt < 1000; ++attempt) {
        ssize_t n = ::write(master_.get(), bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            fail("write to pty master");
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    if (!bytes.empty()) throw std::runtime_error("pty master accepts no more bytes");
}

}  // namespace fieldlog::gnss::testing
