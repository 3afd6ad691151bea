// A stand-in for fieldlogd in CLI tests: a real Unix socket served by a thread that takes one
// connection per canned reply, in order, reads one request line on each and answers it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fieldlog/files.hpp"

namespace fieldlog::cli::testing {

class FakeDaemon {
public:
    // reply is sent as given (include the newline); nullopt never answers, holding the
    // connection until the client gives up. Listening starts before the constructor returns.
    FakeDaemon(const std::filesystem::path& socket_path, std::optional<std::string> reply);
    // For a command that makes several requests: one reply per connection, in order.
    FakeDaemon(const std::filesystem::path& socket_path, std::vector<std::string> replies);
    ~FakeDaemon();
    FakeDaemon(const FakeDaemon&) = delete;
    FakeDaemon& operator=(const FakeDaemon&) = delete;

    // Waits for the connection to end; returns the request line received, without its newline.
    std::string received();
    // Waits for the last connection to end; every request line received, in order.
    std::vector<std::string> received_all();

private:
    void listen_on(const std::filesystem::path& socket_path);
    void serve();
    // false when the connection failed or the reply was withheld.
    bool serve_one(const std::optional<std::string>& reply);

    UniqueFd listener_;
    std::vector<std::optional<std::string>> replies_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

}  // namespace fieldlog::cli::testing
