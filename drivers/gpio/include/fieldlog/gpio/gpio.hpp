// GPIO lines as fieldlog uses them: inputs that report their edges on the event loop (buttons,
// the dock-detect line) and outputs (status LEDs). Levels are logical everywhere: on an active-low
// line "active" is the low electrical level, so callers never invert by hand.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "fieldlog/error.hpp"

namespace fieldlog::gpio {

enum class Bias { as_is, disabled, pull_up, pull_down };

// Names one line and how to treat it.
struct LineSpec {
    // The chip's name ("gpiochip0"), label ("pinctrl-bcm2711"), path ("/dev/gpiochip0") or number
    // ("0"). A label survives renumbering when another GPIO expander appears at boot.
    std::string chip;
    unsigned offset = 0;
    bool active_low = false;
    Bias bias = Bias::as_is;
};

// "gpiochip0:17 (active-low)", for messages.
std::string describe(const LineSpec& spec);

// Receives the logical level after each edge of an input (true = active), or the error that
// stopped the line's events; after an error the line delivers nothing more.
using EdgeHandler = std::function<void(const Result<bool>& level)>;

class InputLine {
public:
    virtual ~InputLine() = default;
    // Reads the current logical level.
    [[nodiscard]] virtual Result<bool> read() const = 0;
    virtual const LineSpec& spec() const = 0;
};

class OutputLine {
public:
    virtual ~OutputLine() = default;
    [[nodiscard]] virtual Status write(bool active) = 0;
    virtual const LineSpec& spec() const = 0;
};

// A source of lines. Requests fail with not_found (no such chip), invalid_argument (offset beyond
// the chip), conflict (line already in use), permission or io; they never throw.
class Gpio {
public:
    virtual ~Gpio() = default;
    // Requests an input with events on both edges. on_edge runs on the event loop, never inside
    // this call and never after the returned line is destroyed.
    [[nodiscard]] virtual Result<std::unique_ptr<InputLine>> request_input(const LineSpec& spec,
                                                                           EdgeHandler on_edge) = 0;
    // Requests an output, driven to initial_active at once.
    [[nodiscard]] virtual Result<std::unique_ptr<OutputLine>> request_output(
        const LineSpec& spec, bool initial_active) = 0;
};

}  // namespace fieldlog::gpio
