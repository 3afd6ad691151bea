// [gpio] in fieldlogd.toml: the push button, the dock-detect line and the status LEDs, each on a
// GPIO line (drivers/gpio). Without the table the daemon requests no GPIO line at all.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace fieldlog::config {

// One GPIO line as the file names it.
struct GpioLineConfig {
    // The chip's name ("gpiochip0"), label ("pinctrl-bcm2711"), path ("/dev/gpiochip0") or
    // number ("0"); the table's own `chip`, else [gpio] chip.
    std::string chip;
    // `line` in the file: the line's offset on its chip (on a Raspberry Pi, the BCM GPIO number).
    unsigned offset = 0;
    // Active when the electrical level is low (a switch to ground with a pull-up, an LED wired
    // from the supply to the pin).
    bool active_low = false;
    enum class Bias { as_is, disabled, pull_up, pull_down } bias = Bias::as_is;

    bool operator==(const GpioLineConfig&) const = default;
};

// [gpio.button]: short press syncs now, long press marks a waypoint in the open inspection.
struct GpioButtonConfig {
    GpioLineConfig line;
    std::chrono::milliseconds debounce{30};
    std::chrono::milliseconds long_press{1500};

    bool operator==(const GpioButtonConfig&) const = default;
};

// [gpio.dock]: active while the device sits in its dock.
struct GpioDockConfig {
    GpioLineConfig line;
    std::chrono::milliseconds debounce{250};

    bool operator==(const GpioDockConfig&) const = default;
};

// How the status LEDs blink ([gpio] syncing_blink_ms, error_blink_ms, low_battery_flash_ms,
// low_battery_period_ms): some housings diffuse a fast blink into a glow, and some inspectors
// want the error blink told apart from syncing at a glance. Defaults are the driver's.
struct GpioLedTimingConfig {
    std::chrono::milliseconds syncing_blink{1000};  // one on-off cycle while syncing
    std::chrono::milliseconds error_blink{200};     // one on-off cycle when something is wrong
    // Each flash of the double flash, and the gap between them; then one double flash to the
    // next.
    std::chrono::milliseconds low_battery_flash{120};
    std::chrono::milliseconds low_battery_period{2000};

    bool operator==(const GpioLedTimingConfig&) const = default;
};

struct GpioConfig {
    bool enabled = false;  // true when the table is present
    // libgpiod: the kernel's GPIO character devices. simulated: lines in memory, driven over the
    // control socket (gpio.simulate), for a desk, a demo or a test.
    enum class Backend { libgpiod, simulated } backend = Backend::libgpiod;
    std::string chip = "gpiochip0";  // for lines that name no chip of their own
    std::optional<GpioButtonConfig> button;
    std::optional<GpioDockConfig> dock;
    std::optional<GpioLineConfig> status_led;
    std::optional<GpioLineConfig> battery_led;  // only together with status_led
    GpioLedTimingConfig led_timing;

    bool operator==(const GpioConfig&) const = default;
};

// "libgpiod", "simulated".
std::string_view gpio_backend_name(GpioConfig::Backend backend);

}  // namespace fieldlog::config
