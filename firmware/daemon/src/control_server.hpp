// The control socket: a Unix stream socket that serves newline-delimited JSON requests
// (docs/protocol.md) to several local clients at once, one request at a time per client.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>

#include "fieldlog/error.hpp"

namespace fieldlog::daemon {

struct ControlLimits {
    std::size_t max_request_bytes = 65536;
    std::size_t max_clients = 32;
    // A client that sends no complete request for this long is disconnected, so one that
    // sends half a line and stalls cannot hold a client slot forever.
    std::chrono::milliseconds idle_timeout{std::chrono::minutes(2)};
};

class ControlServer {
public:
    // Handles one validated request; reply must be called exactly once, from any thread.
    using Reply = std::function<void(Result<boost::json::value>)>;
    using Handler =
        std::function<void(const std::string& op, const boost::json::object& args, Reply reply)>;

    ControlServer(boost::asio::io_context& io, ControlLimits limits, Handler handler);
    ~ControlServer();

    // Binds the socket (mode 0660), replacing a stale socket file but refusing to take over
    // one that another daemon still answers on.
    [[nodiscard]] Status listen(const std::filesystem::path& path);
    void stop();

    std::size_t client_count() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::daemon
