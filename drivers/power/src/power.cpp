#include "fieldlog/power/power.hpp"

#include "power_tracker.hpp"

namespace fieldlog::power {
namespace {

bool same(const Result<PowerState>& a, const Result<PowerState>& b) {
    if (a.has_value() != b.has_value()) {
        return false;
    }
    if (a.has_value()) {
        return *a == *b;
    }
    return a.error().code() == b.error().code() && a.error().message() == b.error().message();
}

}  // namespace

std::string_view charge_state_name(ChargeState state) {
    switch (state) {
        case ChargeState::unknown:
            return "unknown";
        case ChargeState::charging:
            return "charging";
        case ChargeState::discharging:
            return "discharging";
        case ChargeState::not_charging:
            return "not_charging";
        case ChargeState::full:
            return "full";
    }
    return "unknown";
}

Status validate(const LowBatteryConfig& config) {
    if (config.low_percent < 0 || config.low_percent > 100) {
        return Error(Errc::invalid_argument, "low-battery threshold must be 0 to 100 %, not " +
                                                 std::to_string(config.low_percent));
    }
    if (config.hysteresis_percent < 0 || config.hysteresis_percent > 50) {
        return Error(Errc::invalid_argument, "low-battery hysteresis must be 0 to 50 %, not " +
                                                 std::to_string(config.hysteresis_percent));
    }
    return {};
}

bool LowBatteryLatch::update(std::optional<int> percent) {
    if (!percent) {
        low_ = false;
    } else if (*percent <= config_.low_percent) {
        low_ = true;
    } else if (*percent >= config_.low_percent + config_.hysteresis_percent) {
        low_ = false;
    }
    return low_;
}

PowerTracker::PowerTracker(const LowBatteryConfig& config, Result<PowerState> initial)
    : latch_(config), current_(Error(Errc::unavailable, "no power reading yet")) {
    update(std::move(initial));
}

std::optional<Result<PowerState>> PowerTracker::update(Result<PowerState> reading) {
    // A failed reading keeps the latch as it was: the battery did not change because its gauge
    // stopped answering.
    if (reading) {
        reading->low_battery = latch_.update(reading->battery_percent);
    }
    if (same(reading, current_)) {
        return std::nullopt;
    }
    current_ = std::move(reading);
    return current_;
}

}  // namespace fieldlog::power
