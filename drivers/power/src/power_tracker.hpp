// What both power backends share: the low-battery latch and reporting a state only when it
// changed.
#pragma once

#include <optional>

#include "fieldlog/power/power.hpp"

namespace fieldlog::power {

class PowerTracker {
public:
    PowerTracker(const LowBatteryConfig& config, Result<PowerState> initial);

    // Applies the latch to a fresh reading; returns the state to report when it changed.
    std::optional<Result<PowerState>> update(Result<PowerState> reading);
    const Result<PowerState>& current() const { return current_; }

private:
    LowBatteryLatch latch_;
    Result<PowerState> current_;
};

}  // namespace fieldlog::power
