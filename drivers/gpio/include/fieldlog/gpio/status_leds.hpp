// What the status LEDs show for the state of the device.
#pragma once

#include "fieldlog/gpio/led.hpp"

namespace fieldlog::gpio {

struct DeviceStatus {
    bool records_pending = false;  // records wait in the outbox for the next sync
    bool syncing = false;
    bool error = false;  // something needs the inspector's attention (sync or store failure)
    bool low_battery = false;
};

struct StatusPatterns {
    LedPattern status = LedPattern::off;
    LedPattern battery = LedPattern::off;  // shown only when the device has a battery LED
};

// The status LED shows the most urgent condition: error (fast blink), then low battery (double
// flash) when there is no separate battery LED, then syncing (slow blink), then records pending
// (steady on), else off. A battery LED double-flashes on low battery. An idle device, with or
// without records pending, shows steady patterns and so is never woken by its LEDs.
StatusPatterns status_patterns(const DeviceStatus& status, bool has_battery_led);

class StatusLeds {
public:
    // The LEDs must outlive this object; battery may be null.
    explicit StatusLeds(Led& status, Led* battery = nullptr);

    void show(const DeviceStatus& status);

private:
    Led& status_;
    Led* battery_;
};

}  // namespace fieldlog::gpio
