#include <algorithm>
#include <array>
#include <span>
#include <vector>

#include "fieldlog/gpio/button.hpp"
#include "fieldlog/gpio/dock_detect.hpp"
#include "fieldlog/gpio/led.hpp"
#include "gpio_config_reader.hpp"

namespace fieldlog::config {

std::string_view gpio_backend_name(GpioConfig::Backend backend) {
    switch (backend) {
        case GpioConfig::Backend::libgpiod:
            return "libgpiod";
        case GpioConfig::Backend::simulated:
            return "simulated";
    }
    return "libgpiod";
}

namespace detail {
namespace {

using std::chrono::milliseconds;

// Offsets are unsigned in libgpiod; no chip has anywhere near this many lines.
constexpr std::int64_t max_line_offset = 65535;
// Times are read in this range; the drivers' validate() then checks what they accept, in their
// own words.
constexpr std::int64_t max_time_ms = 3'600'000;

constexpr std::array<std::string_view, 10> gpio_keys{"backend",
                                                     "chip",
                                                     "button",
                                                     "dock",
                                                     "status_led",
                                                     "battery_led",
                                                     "syncing_blink_ms",
                                                     "error_blink_ms",
                                                     "low_battery_flash_ms",
                                                     "low_battery_period_ms"};
constexpr std::array<std::string_view, 4> led_keys{"chip", "line", "active_low", "bias"};
constexpr std::array<std::string_view, 6> button_keys{"chip", "line",        "active_low",
                                                      "bias", "debounce_ms", "long_press_ms"};
constexpr std::array<std::string_view, 5> dock_keys{"chip", "line", "active_low", "bias",
                                                    "debounce_ms"};

// TableReader has no boolean getter, so the keys of these tables are checked here (check_keys)
// rather than by TableReader::finish, in the same words.
std::optional<bool> boolean(const toml::table& table, TableReader& reader, std::string_view key) {
    const toml::node* node = table.get(key);
    if (node == nullptr) return std::nullopt;
    if (const auto* value = node->as_boolean()) return value->get();
    reader.error(key, "expected true or false, got " + type_name(*node));
    return std::nullopt;
}

void check_keys(const toml::table& table, TableReader& reader,
                std::span<const std::string_view> known) {
    std::vector<std::string> names(known.begin(), known.end());
    for (auto&& [key, node] : table) {
        if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
        std::string what = node.is_table() ? "unknown table" : "unknown key";
        reader.diagnostics().error(key.source(), reader.key_path(key.str()),
                                   what + "; expected one of: " + join(names, ", "));
    }
}

// A chip is named by a string (name, label or path) or by its number.
std::optional<std::string> chip_of(const toml::table& table, TableReader& reader) {
    const toml::node* node = table.get("chip");
    if (node == nullptr) return std::nullopt;
    if (const auto* text = node->as_string()) {
        if (text->get().empty() || text->get().find('\0') != std::string::npos) {
            reader.error("chip",
                         "expected a chip name (\"gpiochip0\"), label (\"pinctrl-bcm2711\"), path "
                         "(\"/dev/gpiochip0\") or number, got " +
                             in_quotes(text->get()));
            return std::nullopt;
        }
        return text->get();
    }
    if (const auto* number = node->as_integer()) {
        if (number->get() < 0 || number->get() > 1023) {
            reader.error("chip", "expected a chip number from 0 to 1023, got " +
                                     std::to_string(number->get()));
            return std::nullopt;
        }
        return std::to_string(number->get());
    }
    reader.error("chip", "expected a chip name, label or path (a string) or a chip number, got " +
                             type_name(*node));
    return std::nullopt;
}

std::optional<GpioLineConfig::Bias> bias_of(TableReader& reader) {
    auto text = reader.string("bias");
    if (!text) return std::nullopt;
    if (*text == "as_is") return GpioLineConfig::Bias::as_is;
    if (*text == "disabled") return GpioLineConfig::Bias::disabled;
    if (*text == "pull_up") return GpioLineConfig::Bias::pull_up;
    if (*text == "pull_down") return GpioLineConfig::Bias::pull_down;
    reader.error("bias", "expected \"as_is\", \"disabled\", \"pull_up\" or \"pull_down\", got " +
                             in_quotes(*text));
    return std::nullopt;
}

// The keys every line table has; nothing when `line` is missing or malformed (reported).
std::optional<GpioLineConfig> line_of(const toml::table& table, TableReader& reader,
                                      const std::string& default_chip) {
    GpioLineConfig line;
    line.chip = chip_of(table, reader).value_or(default_chip);
    line.active_low = boolean(table, reader, "active_low").value_or(false);
    line.bias = bias_of(reader).value_or(GpioLineConfig::Bias::as_is);
    auto offset = reader.integer("line", 0, max_line_offset, true);
    if (!offset) return std::nullopt;
    line.offset = static_cast<unsigned>(*offset);
    return line;
}

std::optional<GpioButtonConfig> button_of(const toml::table& table, TableReader& reader,
                                          const std::string& default_chip) {
    auto line = line_of(table, reader, default_chip);
    auto debounce = reader.integer("debounce_ms", 0, max_time_ms);
    auto long_press = reader.integer("long_press_ms", 0, max_time_ms);
    gpio::ButtonConfig timing;  // the driver's defaults for what the file leaves out
    if (debounce) timing.debounce = milliseconds(*debounce);
    if (long_press) timing.long_press = milliseconds(*long_press);
    if (auto valid = gpio::validate(timing); !valid) {
        // The debounce time is checked on its own first; otherwise the long press is at fault.
        gpio::ButtonConfig debounce_alone = timing;
        debounce_alone.long_press = milliseconds(60'000);
        bool debounce_ok = static_cast<bool>(gpio::validate(debounce_alone));
        reader.error(debounce_ok ? "long_press_ms" : "debounce_ms", valid.error().message());
        return std::nullopt;
    }
    if (!line) return std::nullopt;
    return GpioButtonConfig{*line, timing.debounce, timing.long_press};
}

std::optional<GpioDockConfig> dock_of(const toml::table& table, TableReader& reader,
                                      const std::string& default_chip) {
    auto line = line_of(table, reader, default_chip);
    auto debounce = reader.integer("debounce_ms", 0, max_time_ms);
    gpio::DockConfig timing;
    if (debounce) timing.debounce = milliseconds(*debounce);
    if (auto valid = gpio::validate(timing); !valid) {
        reader.error("debounce_ms", valid.error().message());
        return std::nullopt;
    }
    if (!line) return std::nullopt;
    return GpioDockConfig{*line, timing.debounce};
}

// The LED timing keys, each with the driver's field it sets.
struct LedTimingKey {
    std::string_view key;
    milliseconds gpio::LedTiming::*driver;
    milliseconds GpioLedTimingConfig::*config;
};
constexpr std::array<LedTimingKey, 4> led_timing_keys{{
    {"syncing_blink_ms", &gpio::LedTiming::slow_blink, &GpioLedTimingConfig::syncing_blink},
    {"error_blink_ms", &gpio::LedTiming::fast_blink, &GpioLedTimingConfig::error_blink},
    {"low_battery_flash_ms", &gpio::LedTiming::flash, &GpioLedTimingConfig::low_battery_flash},
    {"low_battery_period_ms", &gpio::LedTiming::double_flash_period,
     &GpioLedTimingConfig::low_battery_period},
}};

// Each time is checked on its own first, so an error names the key at fault; then the flash
// against its period, blamed on the period when the file sets it and else on the flash.
void read_led_timing(const toml::table& table, TableReader& reader, GpioLedTimingConfig& config) {
    gpio::LedTiming timing;  // the driver's defaults for what the file leaves out
    bool all_valid = true;
    for (const LedTimingKey& k : led_timing_keys) {
        auto ms = reader.integer(k.key, 0, max_time_ms);
        if (!ms) continue;
        // Alone: the shortest flash and the longest period, so only this time's range counts.
        gpio::LedTiming alone;
        alone.flash = milliseconds(2);
        alone.double_flash_period = milliseconds(60'000);
        alone.*k.driver = milliseconds(*ms);
        if (auto valid = gpio::validate(alone); !valid) {
            reader.error(k.key, valid.error().message());
            all_valid = false;
            continue;
        }
        timing.*k.driver = milliseconds(*ms);
    }
    if (!all_valid) return;
    if (auto valid = gpio::validate(timing); !valid) {
        reader.error(table.contains("low_battery_period_ms") ? "low_battery_period_ms"
                                                             : "low_battery_flash_ms",
                     valid.error().message());
        return;
    }
    for (const LedTimingKey& k : led_timing_keys) config.*k.config = timing.*k.driver;
}

// A line held twice would fail at start with "line is busy"; said here, it names both tables.
struct Claimed {
    std::string table;
    GpioLineConfig line;
};

void claim(std::vector<Claimed>& claimed, const std::string& table, const GpioLineConfig& line,
           TableReader& reader) {
    for (const Claimed& other : claimed) {
        if (other.line.chip == line.chip && other.line.offset == line.offset) {
            reader.error("line", "line " + std::to_string(line.offset) + " of chip " +
                                     in_quotes(line.chip) + " is already " + other.table +
                                     "'s; each line can serve one purpose");
            return;
        }
    }
    claimed.push_back({table, line});
}

}  // namespace

void read_gpio(const toml::table& document, TableReader& root, GpioConfig& config) {
    if (!document.contains("gpio")) return;
    TableReader gpio = root.child("gpio");
    const toml::table* table = document.get_as<toml::table>("gpio");
    if (table == nullptr) return;  // reported by child()
    config.enabled = true;

    if (auto backend = gpio.string("backend")) {
        if (*backend == "libgpiod") {
            config.backend = GpioConfig::Backend::libgpiod;
        } else if (*backend == "simulated") {
            config.backend = GpioConfig::Backend::simulated;
        } else {
            gpio.error("backend",
                       "expected \"libgpiod\" or \"simulated\", got " + in_quotes(*backend));
        }
    }
    if (auto chip = chip_of(*table, gpio)) config.chip = *chip;
    read_led_timing(*table, gpio, config.led_timing);

    std::vector<Claimed> claimed;
    auto sub_table = [&](std::string_view key,
                         std::span<const std::string_view> keys) -> std::optional<TableReader> {
        TableReader reader = gpio.child(key);
        const toml::table* sub = table->get_as<toml::table>(key);
        if (sub == nullptr) return std::nullopt;
        check_keys(*sub, reader, keys);
        return reader;
    };
    if (auto reader = sub_table("button", button_keys)) {
        config.button = button_of(*table->get_as<toml::table>("button"), *reader, config.chip);
        if (config.button) claim(claimed, "gpio.button", config.button->line, *reader);
    }
    if (auto reader = sub_table("dock", dock_keys)) {
        config.dock = dock_of(*table->get_as<toml::table>("dock"), *reader, config.chip);
        if (config.dock) claim(claimed, "gpio.dock", config.dock->line, *reader);
    }
    if (auto reader = sub_table("status_led", led_keys)) {
        config.status_led =
            line_of(*table->get_as<toml::table>("status_led"), *reader, config.chip);
        if (config.status_led) claim(claimed, "gpio.status_led", *config.status_led, *reader);
    }
    if (auto reader = sub_table("battery_led", led_keys)) {
        config.battery_led =
            line_of(*table->get_as<toml::table>("battery_led"), *reader, config.chip);
        if (config.battery_led) claim(claimed, "gpio.battery_led", *config.battery_led, *reader);
        if (!table->contains("status_led")) {
            gpio.error("battery_led",
                       "a battery LED needs gpio.status_led as well, which shows every other "
                       "condition");
        }
    }
    check_keys(*table, gpio, gpio_keys);
    if (!table->contains("button") && !table->contains("dock") && !table->contains("status_led") &&
        !table->contains("battery_led")) {
        gpio.error(
            "names no line: add [gpio.button], [gpio.dock] or [gpio.status_led], or leave out "
            "[gpio] on a device without them");
    }
}

}  // namespace detail
}  // namespace fieldlog::config
