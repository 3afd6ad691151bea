#include "fake_daemon.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

namespace fieldlog::cli::testing {

namespace {

// Every wait in the fake is bounded, so a client bug fails the test instead of hanging it.
constexpr int max_wait_ms = 10'000;

bool wait_readable(int fd) {
    pollfd entry{fd, POLLIN, 0};
    return ::poll(&entry, 1, max_wait_ms) > 0;
}

}  // namespace

FakeDaemon::FakeDaemon(const std::filesystem::path& socket_path, std::optional<std::string> reply)
    : listener_(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)), reply_(std::move(reply)) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::string path = socket_path.string();
    if (!listener_ || path.size() >= sizeof address.sun_path) {
        throw std::runtime_error("cannot create socket for " + path);
    }
    std::memcpy(address.sun_path, path.data(), path.size());
    // The cast is how the sockets API takes every address family.
    if (::bind(listener_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_.get(), 1) != 0) {
        throw std::runtime_error("cannot listen on " + path + ": " + std::strerror(errno));
    }
    thread_ = std::thread([this] { serve(); });
}

FakeDaemon::~FakeDaemon() {
    if (thread_.joinable()) thread_.join();
}

std::string FakeDaemon::received() {
    if (thread_.joinable()) thread_.join();
    return request_;
}

void FakeDaemon::serve() {
    if (!wait_readable(listener_.get())) return;
    UniqueFd connection(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!connection) return;
    std::string buffer;
    char chunk[4096];
    while (buffer.find('\n') == std::string::npos && wait_readable(connection.get())) {
        ssize_t n = ::recv(connection.get(), chunk, sizeof chunk, 0);
        if (n <= 0) return;
        buffer.append(chunk, static_cast<std::size_t>(n));
    }
    request_ = buffer.substr(0, buffer.find('\n'));
    if (!reply_) {
        // Silent: hold the connection until the client closes it on its timeout.
        while (wait_readable(connection.get()) &&
               ::recv(connection.get(), chunk, sizeof chunk, 0) > 0) {
        }
        return;
    }
    std::string_view rest = *reply_;
    while (!rest.empty()) {
        ssize_t n = ::send(connection.get(), rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0) return;
        rest.remove_prefix(static_cast<std::size_t>(n));
    }
}

}  // namespace fieldlog::cli::testing
