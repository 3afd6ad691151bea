// fieldlog-server's HTTP front end: HTTP/1.1 with keep-alive, optional TLS, bounded input, a
// structured access log, and a graceful stop that finishes the requests in flight.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "fieldlog/clock.hpp"
#include "fieldlog/error.hpp"
#include "fieldlog/server/server_config.hpp"

namespace fieldlog::server {

struct ServerOptions {
    // Receives each log line (one JSON object, no newline); standard error when empty.
    std::function<void(std::string_view line)> log;
    // Receive times come from this clock; the system clock when null. Must outlive the server.
    const Clock* clock = nullptr;
    // Stop gracefully on SIGTERM and SIGINT (the executable); tests call stop() instead.
    bool handle_signals = false;
};

class Server {
public:
    // Opens the store under config.data_dir, reads the admin token, loads the TLS certificate
    // and binds the listening socket. Nothing is accepted before run().
    [[nodiscard]] static Result<std::unique_ptr<Server>> create(const ServerConfig& config,
                                                                ServerOptions options = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // The bound port: config.listen_port, or the one the system chose for port 0.
    std::uint16_t port() const;

    // Serves on config.threads threads. Returns after stop() (or a signal) once every request
    // in flight has been answered, or once request_timeout has passed since the stop.
    void run();

    // Removes the partial uploads abandoned for longer than config.partial_upload_max_age, as
    // the timer does every config.partial_sweep_interval (and once at run()); logs each one and
    // returns how many. Safe to call from any thread while the server runs.
    std::size_t sweep_partial_uploads();

    // Stops accepting, closes idle connections and lets requests in flight finish. Safe to call
    // from any thread, more than once, and before run().
    void stop();

private:
    struct Impl;
    explicit Server(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace fieldlog::server
