#include "fieldlog/cli/client.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cerrno>
#include <climits>
#include <cstring>

#include "fieldlog/files.hpp"

namespace fieldlog::cli {

namespace json = boost::json;

namespace {

using SteadyClock = std::chrono::steady_clock;

std::string seconds_text(std::chrono::milliseconds timeout) {
    auto ms = timeout.count();
    std::string text = std::to_string(ms / 1000);
    if (ms % 1000 != 0) {
        std::string frac = std::to_string(1000 + ms % 1000).substr(1);
        frac.erase(frac.find_last_not_of('0') + 1);
        text += "." + frac;
    }
    return text + " s";
}

int remaining_ms(SteadyClock::time_point deadline) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - SteadyClock::now()).count();
    return static_cast<int>(std::clamp<decltype(left)>(left, 0, INT_MAX));
}

Error unreachable(const std::string& socket_path, std::string_view what) {
    return Error(Errc::unavailable, "fieldlogd at " + socket_path + ": " + std::string(what));
}

class Exchange {
public:
    Exchange(const std::string& socket_path, const ExchangeOptions& options)
        : socket_path_(socket_path),
          options_(options),
          deadline_(SteadyClock::now() + options.timeout) {}

    Status connect() {
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        if (socket_path_.empty() || socket_path_.size() >= sizeof address.sun_path) {
            return Error(Errc::unavailable,
                         "socket path '" + socket_path_ + "' is empty or longer than " +
                             std::to_string(sizeof address.sun_path - 1) + " bytes");
        }
        std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
        fd_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!fd_) {
            return Error(Errc::internal,
                         std::string("cannot create socket: ") + std::strerror(errno));
        }
        // A Unix-socket connect blocks only while the daemon's accept backlog is full, and
        // then for at most SO_SNDTIMEO; a non-blocking connect would fail at once instead.
        timeval limit{};
        limit.tv_sec = static_cast<time_t>(options_.timeout.count() / 1000);
        limit.tv_usec = static_cast<suseconds_t>(options_.timeout.count() % 1000 * 1000);
        if (::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) != 0) {
            return Error(Errc::internal,
                         std::string("cannot set socket timeout: ") + std::strerror(errno));
        }
        int rc = 0;
        do {
            // The cast is how the sockets API takes every address family.
            rc = ::connect(fd_.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address);
        } while (rc != 0 && errno == EINTR);
        if (rc != 0 && errno != EISCONN) {
            int err = errno;
            if (err == ENOENT) {
                return unreachable(socket_path_, "socket does not exist (is fieldlogd running?)");
            }
            if (err == ECONNREFUSED) {
                return unreachable(socket_path_, "connection refused (is fieldlogd running?)");
            }
            if (err == EAGAIN || err == EINPROGRESS) {
                return unreachable(socket_path_,
                                   "no connection within " + seconds_text(options_.timeout));
            }
            return unreachable(socket_path_, std::string("cannot connect: ") + std::strerror(err));
        }
        int flags = ::fcntl(fd_.get(), F_GETFL);
        if (flags < 0 || ::fcntl(fd_.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
            return Error(Errc::internal,
                         std::string("cannot make socket non-blocking: ") + std::strerror(errno));
        }
        return {};
    }

    Status send(std::string_view data) {
        while (!data.empty()) {
            // MSG_NOSIGNAL: a daemon that goes away mid-request must give an error, not SIGPIPE.
            ssize_t n = ::send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
            if (n >= 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (auto ready = wait_for(POLLOUT); !ready) return ready;
                continue;
            }
            return unreachable(socket_path_,
                               std::string("cannot send request: ") + std::strerror(errno));
        }
        return {};
    }

    Result<std::string> receive_line() {
        std::string buffer;
        constexpr std::size_t chunk = 64 * 1024;
        for (;;) {
            std::size_t old_size = buffer.size();
            buffer.resize(old_size + chunk);
            ssize_t n = ::recv(fd_.get(), buffer.data() + old_size, chunk, 0);
            int err = errno;
            buffer.resize(old_size + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
            if (n < 0) {
                if (err == EINTR) continue;
                if (err == EAGAIN || err == EWOULDBLOCK) {
                    if (auto ready = wait_for(POLLIN); !ready) return ready.error();
                    continue;
                }
                if (err != ECONNRESET) {
                    return unreachable(socket_path_,
                                       std::string("cannot read reply: ") + std::strerror(err));
                }
                n = 0;
            }
            if (n == 0) {
                if (buffer.empty()) {
                    return unreachable(socket_path_, "connection closed without a reply");
                }
                return Error(Errc::corrupt, "reply cut short after " +
                                                std::to_string(buffer.size()) +
                                                " bytes without a newline");
            }
            std::size_t newline = buffer.find('\n', old_size);
            std::size_t line_size = newline == std::string::npos ? buffer.size() : newline;
            if (line_size > options_.max_reply_bytes) {
                return Error(
                    Errc::corrupt,
                    "reply is larger than " + std::to_string(options_.max_reply_bytes) + " bytes");
            }
            if (newline != std::string::npos) {
                buffer.resize(newline);
                return buffer;
            }
        }
    }

private:
    Status wait_for(short events) {
        pollfd entry{fd_.get(), events, 0};
        for (;;) {
            int n = ::poll(&entry, 1, remaining_ms(deadline_));
            if (n > 0) return {};
            if (n == 0) {
                return unreachable(socket_path_,
                                   "no reply within " + seconds_text(options_.timeout));
            }
            if (errno != EINTR) {
                return Error(Errc::internal, std::string("poll: ") + std::strerror(errno));
            }
        }
    }

    const std::string& socket_path_;
    const ExchangeOptions& options_;
    SteadyClock::time_point deadline_;
    UniqueFd fd_;
};

Error bad_reply(std::string_view what) { return Error(Errc::corrupt, std::string(what)); }

}  // namespace

Result<Reply> exchange(const std::string& socket_path, const json::object& request,
                       const ExchangeOptions& options) {
    Exchange exchange(socket_path, options);
    if (auto connected = exchange.connect(); !connected) return connected.error();
    if (auto sent = exchange.send(json::serialize(request) + "\n"); !sent) return sent.error();
    auto line = exchange.receive_line();
    if (!line) return line.error();
    return parse_reply(*line);
}

Result<Reply> parse_reply(std::string_view line) {
    boost::system::error_code ec;
    json::value value = json::parse(line, ec);
    if (ec) {
        return bad_reply("reply is not valid JSON: " + ec.message());
    }
    const json::object* object = value.if_object();
    if (object == nullptr) {
        return bad_reply("reply is not a JSON object");
    }
    const json::value* ok = object->if_contains("ok");
    if (ok == nullptr || !ok->is_bool()) {
        return bad_reply("reply has no boolean \"ok\"");
    }
    Reply reply;
    reply.ok = ok->get_bool();
    if (reply.ok) {
        const json::value* result = object->if_contains("result");
        if (result == nullptr || !result->is_object()) {
            return bad_reply("reply has \"ok\": true but no \"result\" object");
        }
        reply.result = result->get_object();
        return reply;
    }
    const json::value* error = object->if_contains("error");
    const json::value* code =
        error != nullptr && error->is_object() ? error->get_object().if_contains("code") : nullptr;
    if (code == nullptr || !code->is_string()) {
        return bad_reply("reply has \"ok\": false but no \"error\" with a \"code\"");
    }
    reply.error_code = code->get_string();
    if (const json::value* message = error->get_object().if_contains("message");
        message != nullptr && message->is_string()) {
        reply.error_message = message->get_string();
    }
    return reply;
}

}  // namespace fieldlog::cli
