// fieldlogd: one event loop that owns the control socket, signals and the systemd watchdog,
// in front of the store thread and the inspection domain.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>

#include "fieldlog/config/daemon_config.hpp"
#include "fieldlog/error.hpp"

namespace fieldlog::daemon {

class Daemon {
public:
    // Loads the config and reference data, opens the store and binds the control socket.
    [[nodiscard]] static Result<std::unique_ptr<Daemon>> start(
        const std::filesystem::path& config_path);
    ~Daemon();

    // Runs until SIGTERM or SIGINT; returns the process exit code.
    int run();

private:
    struct Impl;
    explicit Daemon(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace fieldlog::daemon
