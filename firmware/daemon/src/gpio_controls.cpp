#include "gpio_controls.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <map>
#include <utility>

#include "fieldlog/domain/args.hpp"
#include "fieldlog/gpio/button.hpp"
#include "fieldlog/gpio/dock_detect.hpp"
#include "fieldlog/gpio/led.hpp"
#include "fieldlog/gpio/libgpiod_gpio.hpp"

namespace fieldlog::daemon {

namespace json = boost::json;

gpio::LineSpec line_spec(const config::GpioLineConfig& line) {
    gpio::LineSpec spec;
    spec.chip = line.chip;
    spec.offset = line.offset;
    spec.active_low = line.active_low;
    switch (line.bias) {
        case config::GpioLineConfig::Bias::as_is:
            spec.bias = gpio::Bias::as_is;
            break;
        case config::GpioLineConfig::Bias::disabled:
            spec.bias = gpio::Bias::disabled;
            break;
        case config::GpioLineConfig::Bias::pull_up:
            spec.bias = gpio::Bias::pull_up;
            break;
        case config::GpioLineConfig::Bias::pull_down:
            spec.bias = gpio::Bias::pull_down;
            break;
    }
    return spec;
}

gpio::LedTiming led_timing(const config::GpioLedTimingConfig& config) {
    gpio::LedTiming timing;
    timing.slow_blink = config.syncing_blink;
    timing.fast_blink = config.error_blink;
    timing.flash = config.low_battery_flash;
    timing.double_flash_period = config.low_battery_period;
    return timing;
}

namespace {

std::vector<const config::GpioLineConfig*> configured_lines(const config::GpioConfig& config) {
    std::vector<const config::GpioLineConfig*> lines;
    if (config.button) lines.push_back(&config.button->line);
    if (config.dock) lines.push_back(&config.dock->line);
    if (config.status_led) lines.push_back(&*config.status_led);
    if (config.battery_led) lines.push_back(&*config.battery_led);
    return lines;
}

// status.gpio.lines: each configured line as the driver names it, with its timings, so an
// inspector can check the wiring against the config without reading the file.
json::object lines_json(const config::GpioConfig& config) {
    auto line = [](const config::GpioLineConfig& l) {
        return json::object{{"line", gpio::describe(line_spec(l))}};
    };
    json::object lines;
    if (config.button) {
        json::object button = line(config.button->line);
        button["debounce_ms"] = config.button->debounce.count();
        button["long_press_ms"] = config.button->long_press.count();
        lines["button"] = std::move(button);
    }
    if (config.dock) {
        json::object dock = line(config.dock->line);
        dock["debounce_ms"] = config.dock->debounce.count();
        lines["dock"] = std::move(dock);
    }
    if (config.status_led) lines["status_led"] = line(*config.status_led);
    if (config.battery_led) lines["battery_led"] = line(*config.battery_led);
    return lines;
}

json::object led_timing_json(const config::GpioLedTimingConfig& timing) {
    return json::object{{"syncing_blink_ms", timing.syncing_blink.count()},
                        {"error_blink_ms", timing.error_blink.count()},
                        {"low_battery_flash_ms", timing.low_battery_flash.count()},
                        {"low_battery_period_ms", timing.low_battery_period.count()}};
}

}  // namespace

std::vector<gpio::SimulatedChip> simulated_chips(const config::GpioConfig& config) {
    std::vector<gpio::SimulatedChip> chips;
    for (const config::GpioLineConfig* line : configured_lines(config)) {
        auto it = std::find_if(chips.begin(), chips.end(),
                               [&](const gpio::SimulatedChip& c) { return c.label == line->chip; });
        if (it == chips.end()) {
            // Not named "gpiochipN": the simulated backend would also take "N" as that name, and
            // a config naming chip "1" and "gpiochip0" would then reach the wrong chip.
            chips.push_back({"simchip" + std::to_string(chips.size()), line->chip, 32});
            it = chips.end() - 1;
        }
        it->lines = std::max(it->lines, line->offset + 1);
    }
    return chips;
}

GpioBackend make_gpio_backend(boost::asio::io_context& io, const config::GpioConfig& config) {
    GpioBackend backend;
    if (config.backend == config::GpioConfig::Backend::simulated) {
        auto simulated = std::make_unique<gpio::SimulatedGpio>(io, simulated_chips(config));
        // Simulated inputs float low, which an active-low button reads as held from the start.
        // Wired up, it rests inactive (a pull-up holds it high), and so it starts here.
        for (const auto* input : {config.button ? &config.button->line : nullptr,
                                  config.dock ? &config.dock->line : nullptr}) {
            if (input != nullptr) {
                simulated->set_level(input->chip, input->offset, input->active_low);
            }
        }
        backend.simulated = simulated.get();
        backend.gpio = std::move(simulated);
    } else {
        backend.gpio = std::make_unique<gpio::LibgpiodGpio>(io);
    }
    return backend;
}

struct GpioControls::Impl {
    Impl(const config::GpioConfig& gpio_config, GpioEvents gpio_events)
        : config(gpio_config), events(std::move(gpio_events)) {}

    void report(const std::string& table, const Error& error) {
        std::string& last = reported[table];
        if (last == error.message()) return;
        last = error.message();
        Error located = Error(error).context(table);
        last_error = located.message();
        if (events.on_error) events.on_error(located);
    }

    config::GpioConfig config;
    GpioEvents events;
    std::map<std::string, std::string> reported;  // by table, the last failure told
    std::string last_error;
    std::unique_ptr<gpio::Button> button;
    std::unique_ptr<gpio::DockDetect> dock;
    std::unique_ptr<gpio::Led> status_led;
    std::unique_ptr<gpio::Led> battery_led;
    // Refers to the LEDs above, so it is declared after them and goes first.
    std::unique_ptr<gpio::StatusLeds> leds;
};

Result<std::unique_ptr<GpioControls>> GpioControls::open(boost::asio::io_context& io,
                                                         gpio::Gpio& gpio,
                                                         const config::GpioConfig& config,
                                                         GpioEvents events) {
    auto impl = std::make_shared<Impl>(config, std::move(events));
    std::weak_ptr<Impl> weak = impl;
    // The drivers' handlers reach the events through the controls, never after they are gone.
    auto event = [weak](std::function<void()> GpioEvents::*which) {
        return [weak, which] {
            auto self = weak.lock();
            if (self && self->events.*which) (self->events.*which)();
        };
    };
    auto error_of = [weak](std::string table) {
        return [weak, table = std::move(table)](const Error& error) {
            if (auto self = weak.lock()) self->report(table, error);
        };
    };

    if (config.button) {
        gpio::ButtonConfig timing;
        timing.debounce = config.button->debounce;
        timing.long_press = config.button->long_press;
        auto button =
            gpio::Button::open(io, gpio, line_spec(config.button->line), timing,
                               {event(&GpioEvents::on_short_press),
                                event(&GpioEvents::on_long_press), error_of("[gpio.button]")});
        if (!button) return Error(button.error()).context("[gpio.button]");
        impl->button = std::move(*button);
    }
    if (config.dock) {
        gpio::DockConfig timing;
        timing.debounce = config.dock->debounce;
        auto dock =
            gpio::DockDetect::open(io, gpio, line_spec(config.dock->line), timing,
                                   {event(&GpioEvents::on_docked), event(&GpioEvents::on_undocked),
                                    error_of("[gpio.dock]")});
        if (!dock) return Error(dock.error()).context("[gpio.dock]");
        impl->dock = std::move(*dock);
    }
    if (config.status_led) {
        auto led = gpio::Led::open(io, gpio, line_spec(*config.status_led),
                                   led_timing(config.led_timing), error_of("[gpio.status_led]"));
        if (!led) return Error(led.error()).context("[gpio.status_led]");
        impl->status_led = std::move(*led);
    }
    if (config.battery_led) {
        auto led = gpio::Led::open(io, gpio, line_spec(*config.battery_led),
                                   led_timing(config.led_timing), error_of("[gpio.battery_led]"));
        if (!led) return Error(led.error()).context("[gpio.battery_led]");
        impl->battery_led = std::move(*led);
    }
    if (impl->status_led) {
        impl->leds = std::make_unique<gpio::StatusLeds>(*impl->status_led, impl->battery_led.get());
    }
    return std::unique_ptr<GpioControls>(new GpioControls(std::move(impl)));
}

GpioControls::GpioControls(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

GpioControls::~GpioControls() = default;

void GpioControls::show(const gpio::DeviceStatus& status) {
    if (impl_->leds) impl_->leds->show(status);
}

bool GpioControls::has_status_leds() const { return impl_->leds != nullptr; }

std::optional<bool> GpioControls::button_pressed() const {
    if (!impl_->button) return std::nullopt;
    return impl_->button->pressed();
}

std::optional<bool> GpioControls::docked() const {
    if (!impl_->dock) return std::nullopt;
    return impl_->dock->docked();
}

std::optional<gpio::LedPattern> GpioControls::status_led() const {
    if (!impl_->status_led) return std::nullopt;
    return impl_->status_led->pattern();
}

std::optional<gpio::LedPattern> GpioControls::battery_led() const {
    if (!impl_->battery_led) return std::nullopt;
    return impl_->battery_led->pattern();
}

json::object GpioControls::status_json() const {
    json::object out{{"enabled", true},
                     {"backend", config::gpio_backend_name(impl_->config.backend)}};
    auto pressed = button_pressed();
    out["button"] = pressed ? json::value(*pressed ? "pressed" : "released") : json::value();
    auto in_dock = docked();
    out["docked"] = in_dock ? json::value(*in_dock) : json::value();
    auto pattern = [](std::optional<gpio::LedPattern> p) {
        return p ? json::value(gpio::pattern_name(*p)) : json::value();
    };
    out["leds"] =
        json::object{{"status", pattern(status_led())}, {"battery", pattern(battery_led())}};
    out["last_error"] = impl_->last_error.empty() ? json::value() : json::value(impl_->last_error);
    out["lines"] = lines_json(impl_->config);
    if (impl_->config.status_led) out["led_timing"] = led_timing_json(impl_->config.led_timing);
    return out;
}

GpioEvents gpio_events(boost::asio::io_context& io, GpioActions actions) {
    auto shared = std::make_shared<GpioActions>(std::move(actions));
    auto log = [shared](std::string_view level, std::string_view event, std::string message) {
        if (shared->device_log) shared->device_log(level, event, std::move(message));
    };
    GpioEvents events;
    events.on_short_press = [shared, log] {
        if (shared->uploader == nullptr) {
            log("warning", "button_sync",
                "button: sync asked for, but sync is not configured (no [sync] url): the records "
                "stay on the device");
            return;
        }
        shared->uploader->request_sync(false, [log](Result<json::value> result) {
            if (!result) {
                log("warning", "button_sync",
                    "button: sync not started: " + result.error().message());
            }
        });
    };
    events.on_long_press = [&io, shared, log] {
        if (shared->service == nullptr) return;
        shared->service->execute(
            "mark.add", json::object{{"source", "button"}},
            // On the store thread: the outcome is handled on the loop.
            [&io, shared, log](Result<json::value> result) {
                boost::asio::post(io, [shared, log, result = std::move(result)] {
                    if (!result) {
                        if (result.error().code() == Errc::conflict) {
                            log("warning", "button_mark",
                                "button: long press, but no inspection is open: no mark "
                                "recorded");
                        } else {
                            log("error", "button_mark",
                                "button: mark not recorded: " + result.error().to_string());
                        }
                    }
                    if (shared->mark_done) shared->mark_done(result);
                });
            });
    };
    events.on_docked = [shared, log] {
        if (shared->uploader == nullptr) {
            log("info", "docked", "docked; sync is not configured (no [sync] url)");
            return;
        }
        log("info", "docked", "docked: syncing now");
        shared->uploader->notify_docked();
    };
    events.on_undocked = [log] { log("info", "undocked", "undocked"); };
    events.on_error = [log](const Error& error) { log("error", "gpio_failed", error.message()); };
    return events;
}

Result<json::value> simulate_gpio(gpio::SimulatedGpio* simulated, const config::GpioConfig& config,
                                  const json::object& args) {
    if (!config.enabled) {
        return Error(Errc::conflict,
                     "gpio.simulate: this device has no [gpio] table; simulated input needs one "
                     "with backend = \"simulated\"");
    }
    if (simulated == nullptr) {
        return Error(Errc::conflict,
                     "gpio.simulate: [gpio] backend is \"" +
                         std::string(config::gpio_backend_name(config.backend)) +
                         "\", real lines that only the hardware drives; simulated input needs "
                         "backend = \"simulated\"");
    }
    auto a = domain::Args::check("gpio.simulate", args, {"line", "active"});
    if (!a) return a.error();
    auto name = a->opt_choice("line", {"button", "dock"});
    if (!name) return name.error();
    if (!*name) return a->error("line", "required: \"button\" or \"dock\"");
    auto active = a->opt_boolean("active");
    if (!active) return active.error();
    if (!*active) return a->error("active", "required: true or false");

    const config::GpioLineConfig* line = nullptr;
    if (**name == "button" && config.button) line = &config.button->line;
    if (**name == "dock" && config.dock) line = &config.dock->line;
    if (line == nullptr) {
        return Error(Errc::not_found, "gpio.simulate: no [gpio." + **name + "] line is configured");
    }
    bool high = **active != line->active_low;
    if (!simulated->set_level(line->chip, line->offset, high)) {
        return Error(Errc::internal, "gpio.simulate: the simulated backend has no line " +
                                         gpio::describe(line_spec(*line)));
    }
    return json::object{{"line", **name}, {"active", **active}, {"level", high ? "high" : "low"}};
}

}  // namespace fieldlog::daemon
