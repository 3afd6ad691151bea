// The dock-detect line: active while the handheld sits in its dock (power and network).
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "fieldlog/gpio/gpio.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::gpio {

struct DockConfig {
    // Pogo pins chatter while the device is set down: the level must hold this long.
    std::chrono::milliseconds debounce{250};
};

// Checks the range: debounce 1 ms to 10 s.
[[nodiscard]] Status validate(const DockConfig& config);

struct DockHandlers {
    std::function<void()> on_docked;
    std::function<void()> on_undocked;
    // The line failed; nothing more is reported.
    std::function<void(const Error&)> on_error;
};

class DockDetect {
public:
    // Requests the line and reads the state at start, which docked() reports; the handlers fire
    // only on later changes.
    [[nodiscard]] static Result<std::unique_ptr<DockDetect>> open(boost::asio::io_context& io,
                                                                  Gpio& gpio, const LineSpec& line,
                                                                  const DockConfig& config,
                                                                  DockHandlers handlers);
    ~DockDetect();
    DockDetect(const DockDetect&) = delete;
    DockDetect& operator=(const DockDetect&) = delete;

    // The debounced state.
    bool docked() const;

private:
    struct Impl;
    explicit DockDetect(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::gpio
