#include "fieldlog/gpio/gpio.hpp"

namespace fieldlog::gpio {

std::string describe(const LineSpec& spec) {
    std::string text = spec.chip + ":" + std::to_string(spec.offset);
    if (spec.active_low) {
        text += " (active-low)";
    }
    return text;
}

}  // namespace fieldlog::gpio
