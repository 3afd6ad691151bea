// The device's power: battery level, charging, external supply, and the low-battery warning.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/error.hpp"

namespace fieldlog::power {

enum class ChargeState { unknown, charging, discharging, not_charging, full };

// "charging", "not_charging", ...
std::string_view charge_state_name(ChargeState state);

struct PowerState {
    // 0 to 100; nothing when the device has no battery (a board on a bench supply).
    std::optional<int> battery_percent;
    ChargeState charge = ChargeState::unknown;
    // A charger, USB or mains supply is connected. A device without a battery is on external
    // power by definition.
    bool external_power = false;
    // The battery is at or below the low threshold and has not yet climbed back past the
    // threshold plus the hysteresis.
    bool low_battery = false;
    // Oddities that did not stop the reading, e.g. "BAT0/status: 'Foo' is not a known state".
    std::vector<std::string> warnings;

    bool operator==(const PowerState&) const = default;
};

struct LowBatteryConfig {
    // At or below this percentage the battery is low.
    int low_percent = 15;
    // Once low, it stays low until it reaches low_percent + hysteresis_percent, so a level
    // wavering around the threshold does not toggle the warning.
    int hysteresis_percent = 5;
};

// Checks that low_percent is 0 to 100 and hysteresis_percent 0 to 50.
[[nodiscard]] Status validate(const LowBatteryConfig& config);

// The low-battery decision with hysteresis.
class LowBatteryLatch {
public:
    explicit LowBatteryLatch(const LowBatteryConfig& config) : config_(config) {}
    // Takes a new level (nothing: no battery, never low) and returns whether it is low.
    bool update(std::optional<int> percent);
    bool low() const { return low_; }

private:
    LowBatteryConfig config_;
    bool low_ = false;
};

class Power {
public:
    // Receives each new state, or the error that stopped a reading.
    using ChangeHandler = std::function<void(const Result<PowerState>& state)>;

    virtual ~Power() = default;
    // The latest reading, or why there is none.
    [[nodiscard]] virtual Result<PowerState> state() const = 0;
    // Called on the event loop when the state differs from the last one reported (a reading
    // error counts once, until its message changes or a reading succeeds). Replaces any earlier
    // handler.
    virtual void on_change(ChangeHandler handler) = 0;
};

}  // namespace fieldlog::power
