// A status LED on an output line, showing one of a few patterns timed on the event loop.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string_view>

#include "fieldlog/gpio/gpio.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::gpio {

enum class LedPattern { off, on, slow_blink, fast_blink, double_flash };

std::string_view pattern_name(LedPattern pattern);

struct LedTiming {
    // One on-off cycle, half on and half off.
    std::chrono::milliseconds slow_blink{1000};
    std::chrono::milliseconds fast_blink{200};
    // Each flash of a double flash, and the gap between the two.
    std::chrono::milliseconds flash{120};
    // From the start of one double flash to the next; must exceed three flashes.
    std::chrono::milliseconds double_flash_period{2000};
};

// Checks that every time is positive and at most a minute, and that a double flash fits its
// period.
[[nodiscard]] Status validate(const LedTiming& timing);

// off and on arm no timer: a steady LED costs no wake-ups, a blinking one two or so a second.
class Led {
public:
    // Requests the line as an output, off.
    [[nodiscard]] static Result<std::unique_ptr<Led>> open(
        boost::asio::io_context& io, Gpio& gpio, const LineSpec& line, const LedTiming& timing = {},
        std::function<void(const Error&)> on_error = {});
    // Turns the LED off: one left lit would claim a state nobody is tracking any more.
    ~Led();
    Led(const Led&) = delete;
    Led& operator=(const Led&) = delete;

    // Takes effect at once, starting the pattern from its first (lit) step. Setting the pattern
    // already shown changes nothing, so repeated status updates do not restart a blink. A failed
    // write goes to on_error and the pattern carries on.
    void set(LedPattern pattern);
    LedPattern pattern() const;

private:
    struct Impl;
    explicit Led(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::gpio
