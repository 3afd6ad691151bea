// The daemon's GPIO ([gpio] in fieldlogd.toml): the button (a short press syncs now, a long press
// marks a waypoint), the dock-detect line and the status LEDs, opened on one gpio::Gpio backend.
// What a press or a dock does is the daemon's business, handed in as callbacks.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fieldlog/config/gpio_config.hpp"
#include "fieldlog/domain/service.hpp"
#include "fieldlog/error.hpp"
#include "fieldlog/gpio/gpio.hpp"
#include "fieldlog/gpio/simulated_gpio.hpp"
#include "fieldlog/gpio/status_leds.hpp"
#include "fieldlog/sync/client/uploader.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::daemon {

// Each runs on the event loop.
struct GpioEvents {
    std::function<void()> on_short_press;
    std::function<void()> on_long_press;
    std::function<void()> on_docked;
    std::function<void()> on_undocked;
    // A line failed: a button or dock line reports nothing more, an LED keeps trying. Each
    // distinct failure of a line is reported once, so a blinking LED on a broken line does not
    // fill the device log.
    std::function<void(const Error&)> on_error;
};

// The driver's view of a configured line.
gpio::LineSpec line_spec(const config::GpioLineConfig& line);

// The driver's LED timing from [gpio]'s blink keys.
gpio::LedTiming led_timing(const config::GpioLedTimingConfig& config);

// For backend = "simulated": one chip per chip name the config uses, labelled with that name and
// with lines enough for its offsets, so a [gpio] table written for a board runs as is on a desk.
std::vector<gpio::SimulatedChip> simulated_chips(const config::GpioConfig& config);

// The backend [gpio] asks for. simulated points at gpio when it is the simulated one.
struct GpioBackend {
    std::unique_ptr<gpio::Gpio> gpio;
    gpio::SimulatedGpio* simulated = nullptr;
};
GpioBackend make_gpio_backend(boost::asio::io_context& io, const config::GpioConfig& config);

class GpioControls {
public:
    // Requests every line the config names on gpio, which must outlive the controls. A line
    // that cannot be had fails the whole call, naming its table ("[gpio.button] ...").
    [[nodiscard]] static Result<std::unique_ptr<GpioControls>> open(
        boost::asio::io_context& io, gpio::Gpio& gpio, const config::GpioConfig& config,
        GpioEvents events);
    // Releases the lines and turns the LEDs off.
    ~GpioControls();
    GpioControls(const GpioControls&) = delete;
    GpioControls& operator=(const GpioControls&) = delete;

    // Shows the device's state on the status LEDs (nothing without them). Showing the same
    // state again changes nothing, so a blink is never restarted.
    void show(const gpio::DeviceStatus& status);
    bool has_status_leds() const;

    // Nothing when the line is not configured.
    std::optional<bool> button_pressed() const;
    std::optional<bool> docked() const;
    std::optional<gpio::LedPattern> status_led() const;
    std::optional<gpio::LedPattern> battery_led() const;

    // status.gpio: {enabled: true, backend, button ("pressed"|"released"|null), docked
    // (bool|null), leds: {status, battery} (pattern names or null), last_error (or null),
    // lines: {button: {line, debounce_ms, long_press_ms}, dock: {line, debounce_ms},
    // status_led: {line}, battery_led: {line}} (configured ones only), and with status LEDs
    // led_timing: {syncing_blink_ms, error_blink_ms, low_battery_flash_ms,
    // low_battery_period_ms}}.
    boost::json::object status_json() const;

private:
    struct Impl;
    explicit GpioControls(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

// What fieldlogd does with the controls. A short press asks the uploader to sync now, a long
// press adds a mark (source "button") to the open inspection, docking starts a sync; what an
// operator should know (no sync configured, no open inspection, a failed line) goes to the
// device log.
struct GpioActions {
    domain::InspectionService* service = nullptr;
    sync::client::Uploader* uploader = nullptr;  // null without [sync]
    std::function<void(std::string_view level, std::string_view event, std::string message)>
        device_log;
    // mark.add finished (on the loop), for the status LEDs.
    std::function<void(const Result<boost::json::value>& result)> mark_done;
};
GpioEvents gpio_events(boost::asio::io_context& io, GpioActions actions);

// The `gpio.simulate` operation: {"line": "button"|"dock", "active": bool} sets that input's
// logical level on the simulated backend (the debounce and long-press timing then apply as to
// real hardware). simulated is null unless [gpio] backend = "simulated", and the operation is
// then refused.
[[nodiscard]] Result<boost::json::value> simulate_gpio(gpio::SimulatedGpio* simulated,
                                                       const config::GpioConfig& config,
                                                       const boost::json::object& args);

}  // namespace fieldlog::daemon
