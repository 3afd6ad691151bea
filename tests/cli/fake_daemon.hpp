// A stand-in for fieldlogd in CLI tests: a real Unix socket served by a thread that takes one
// connection, reads one request line and answers with a canned reply.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include "fieldlog/files.hpp"

namespace fieldlog::cli::testing {

class FakeDaemon {
public:
    // reply is sent as given (include the newline); nullopt never answers, holding the
    // connection until the client gives up. Listening starts before the constructor returns.
    FakeDaemon(const std::filesystem::path& socket_path, std::optional<std::string> reply);
    ~FakeDaemon();
    FakeDaemon(const FakeDaemon&) = delete;
    FakeDaemon& operator=(const FakeDaemon&) = delete;

    // Waits for the connection to end; returns the request line received, without its newline.
    std::string received();

private:
    void serve();

    UniqueFd listener_;
    std::optional<std::string> reply_;
    std::string request_;
    std::thread thread_;
};

}  // namespace fieldlog::cli::testing
