// A push button on an input line: debounced, telling a short press from a long one.
#pragma once

#include <chrono>
#include <functional>
#include <memory>

#include "fieldlog/gpio/gpio.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::gpio {

struct ButtonConfig {
    // A level must hold this long to count: contact bounce within it is ignored.
    std::chrono::milliseconds debounce{30};
    // Held this long, a press is a long press. Must exceed debounce.
    std::chrono::milliseconds long_press{1500};
};

// Checks the ranges: debounce 1 ms to 1 s, long_press above debounce and at most 60 s.
[[nodiscard]] Status validate(const ButtonConfig& config);

struct ButtonHandlers {
    // Released before the long-press threshold.
    std::function<void()> on_short_press;
    // Fires when the threshold is reached, while the button is still held, so the user gets
    // feedback without guessing when to let go. The release that follows fires nothing.
    std::function<void()> on_long_press;
    // The line failed; the button reports nothing more.
    std::function<void(const Error&)> on_error;
};

class Button {
public:
    // Requests the line as an input. A button held at start counts only after it is released.
    [[nodiscard]] static Result<std::unique_ptr<Button>> open(boost::asio::io_context& io,
                                                              Gpio& gpio, const LineSpec& line,
                                                              const ButtonConfig& config,
                                                              ButtonHandlers handlers);
    ~Button();
    Button(const Button&) = delete;
    Button& operator=(const Button&) = delete;

    // The debounced state.
    bool pressed() const;

private:
    struct Impl;
    explicit Button(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::gpio
