#include "fieldlog/gpio/status_leds.hpp"

namespace fieldlog::gpio {

StatusPatterns status_patterns(const DeviceStatus& status, bool has_battery_led) {
    StatusPatterns patterns;
    if (status.error) {
        patterns.status = LedPattern::fast_blink;
    } else if (status.low_battery && !has_battery_led) {
        patterns.status = LedPattern::double_flash;
    } else if (status.syncing) {
        patterns.status = LedPattern::slow_blink;
    } else if (status.records_pending) {
        patterns.status = LedPattern::on;
    }
    if (has_battery_led && status.low_battery) {
        patterns.battery = LedPattern::double_flash;
    }
    return patterns;
}

StatusLeds::StatusLeds(Led& status, Led* battery) : status_(status), battery_(battery) {}

void StatusLeds::show(const DeviceStatus& status) {
    auto patterns = status_patterns(status, battery_ != nullptr);
    status_.set(patterns.status);
    if (battery_ != nullptr) {
        battery_->set(patterns.battery);
    }
}

}  // namespace fieldlog::gpio
