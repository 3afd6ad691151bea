#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "fieldlog/config/daemon_config.hpp"
#include "fieldlog/files.hpp"
#include "temp_dir.hpp"

namespace fieldlog::config {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// The [gpio] table starts on line 11, so its first key is on line 12.
constexpr std::string_view base_config = R"([device]
id = "handheld-01"
data_dir = "/var/lib/fieldlog"

[control]
socket = "/run/fieldlog/control.sock"

[reference]
sites = "sites.toml"
standards_dir = "standards"
)";

Result<DaemonConfig> with_gpio(std::string_view gpio) {
    return parse_daemon_config(std::string(base_config) + std::string(gpio), "fieldlogd.toml",
                               "/etc/fieldlog");
}

std::string gpio_error(std::string_view gpio) {
    auto config = with_gpio(gpio);
    if (config) {
        ADD_FAILURE() << "config was accepted:\n" << gpio;
        return "";
    }
    EXPECT_EQ(config.error().code(), Errc::invalid_argument);
    return config.error().message();
}

constexpr std::string_view pi_wiring = R"([gpio]
chip = "pinctrl-bcm2711"

[gpio.button]
line = 17
active_low = true
bias = "pull_up"
debounce_ms = 40
long_press_ms = 2000

[gpio.dock]
line = 27
debounce_ms = 500

[gpio.status_led]
line = 22

[gpio.battery_led]
line = 23
chip = 0
)";

TEST(GpioConfig, NothingChangesWithoutTheTable) {
    auto config = with_gpio("");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_FALSE(config->gpio.enabled);
    EXPECT_FALSE(config->gpio.button);
    EXPECT_FALSE(config->gpio.dock);
    EXPECT_FALSE(config->gpio.status_led);
    EXPECT_FALSE(config->gpio.battery_led);
}

TEST(GpioConfig, ReadsEveryLineOfARaspberryPiWiring) {
    auto config = with_gpio(pi_wiring);
    ASSERT_TRUE(config) << config.error().message();
    const GpioConfig& gpio = config->gpio;
    EXPECT_TRUE(gpio.enabled);
    EXPECT_EQ(gpio.backend, GpioConfig::Backend::libgpiod);
    EXPECT_EQ(gpio.chip, "pinctrl-bcm2711");
    ASSERT_TRUE(gpio.button);
    EXPECT_EQ(gpio.button->line.chip, "pinctrl-bcm2711");
    EXPECT_EQ(gpio.button->line.offset, 17u);
    EXPECT_TRUE(gpio.button->line.active_low);
    EXPECT_EQ(gpio.button->line.bias, GpioLineConfig::Bias::pull_up);
    EXPECT_EQ(gpio.button->debounce, milliseconds(40));
    EXPECT_EQ(gpio.button->long_press, milliseconds(2000));
    ASSERT_TRUE(gpio.dock);
    EXPECT_EQ(gpio.dock->line.offset, 27u);
    EXPECT_FALSE(gpio.dock->line.active_low);
    EXPECT_EQ(gpio.dock->line.bias, GpioLineConfig::Bias::as_is);
    EXPECT_EQ(gpio.dock->debounce, milliseconds(500));
    ASSERT_TRUE(gpio.status_led);
    EXPECT_EQ(gpio.status_led->offset, 22u);
    ASSERT_TRUE(gpio.battery_led);
    EXPECT_EQ(gpio.battery_led->offset, 23u);
    EXPECT_EQ(gpio.battery_led->chip, "0");  // a chip number, as libgpiod looks it up
}

TEST(GpioConfig, DefaultsComeFromTheDrivers) {
    auto config = with_gpio(
        "[gpio]\nbackend = \"simulated\"\n[gpio.button]\nline = 3\n"
        "[gpio.dock]\nline = 4\n");
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->gpio.backend, GpioConfig::Backend::simulated);
    EXPECT_EQ(config->gpio.chip, "gpiochip0");
    EXPECT_EQ(config->gpio.button->line.chip, "gpiochip0");
    EXPECT_EQ(config->gpio.button->debounce, milliseconds(30));
    EXPECT_EQ(config->gpio.button->long_press, milliseconds(1500));
    EXPECT_EQ(config->gpio.dock->debounce, milliseconds(250));
    EXPECT_FALSE(config->gpio.status_led);
}

TEST(GpioConfig, ComparesEqualOnlyWhenNothingDiffers) {
    auto a = with_gpio(pi_wiring);
    auto b = with_gpio(pi_wiring);
    ASSERT_TRUE(a && b);
    EXPECT_TRUE(a->gpio == b->gpio);
    b->gpio.button->line.active_low = false;
    EXPECT_FALSE(a->gpio == b->gpio);
}

TEST(GpioConfig, ReportsBadValuesWithFileLineAndKey) {
    EXPECT_EQ(gpio_error("[gpio]\nbackend = \"sysfs\"\n[gpio.status_led]\nline = 1\n"),
              "fieldlogd.toml:12:1: gpio.backend: expected \"libgpiod\" or \"simulated\", got "
              "\"sysfs\"");
    EXPECT_EQ(gpio_error("[gpio]\n[gpio.button]\nline = -1\n"),
              "fieldlogd.toml:13:1: gpio.button.line: expected an integer from 0 to 65535, got -1");
    EXPECT_EQ(gpio_error("[gpio]\n[gpio.button]\nactive_low = true\n"),
              "fieldlogd.toml:12:1: gpio.button.line: missing required key");
    EXPECT_EQ(gpio_error("[gpio]\n[gpio.dock]\nline = 2\nactive_low = \"yes\"\n"),
              "fieldlogd.toml:14:1: gpio.dock.active_low: expected true or false, got a string");
    EXPECT_EQ(gpio_error("[gpio]\n[gpio.button]\nline = 2\nbias = \"pull-up\"\n"),
              "fieldlogd.toml:14:1: gpio.button.bias: expected \"as_is\", \"disabled\", "
              "\"pull_up\" or \"pull_down\", got \"pull-up\"");
    EXPECT_EQ(gpio_error("[gpio]\nchip = \"\"\n[gpio.dock]\nline = 2\n"),
              "fieldlogd.toml:12:1: gpio.chip: expected a chip name (\"gpiochip0\"), label "
              "(\"pinctrl-bcm2711\"), path (\"/dev/gpiochip0\") or number, got \"\"");
    EXPECT_THAT(gpio_error("[gpio]\n[gpio.dock]\nline = 2\nchip = 1.5\n"),
                HasSubstr("fieldlogd.toml:14:1: gpio.dock.chip: expected a chip name, label or "
                          "path (a string) or a chip number, got a floating-point number"));
}

TEST(GpioConfig, ChecksTimesWithTheDriversRules) {
    EXPECT_EQ(gpio_error("[gpio]\n[gpio.button]\nline = 2\ndebounce_ms = 2000\n"),
              "fieldlogd.toml:14:1: gpio.button.debounce_ms: button debounce must be from 1 ms to "
              "1000 ms, not 2000 ms");
    EXPECT_EQ(gpio_error("[gpio]\n[gpio.button]\nline = 2\ndebounce_ms = 50\n"
                         "long_press_ms = 40\n"),
              "fieldlogd.toml:15:1: gpio.button.long_press_ms: button long-press time must exceed "
              "the debounce time and be at most 60000 ms, not 40 ms");
    EXPECT_EQ(gpio_error("[gpio]\n[gpio.dock]\nline = 2\ndebounce_ms = 0\n"),
              "fieldlogd.toml:14:1: gpio.dock.debounce_ms: dock debounce must be from 1 ms to "
              "10000 ms, not 0 ms");
}

TEST(GpioConfig, ReadsLedTimings) {
    auto config = with_gpio(
        "[gpio]\nsyncing_blink_ms = 1600\nerror_blink_ms = 300\nlow_battery_flash_ms = 150\n"
        "low_battery_period_ms = 4000\n[gpio.status_led]\nline = 22\n");
    ASSERT_TRUE(config) << config.error().message();
    const GpioLedTimingConfig& timing = config->gpio.led_timing;
    EXPECT_EQ(timing.syncing_blink, milliseconds(1600));
    EXPECT_EQ(timing.error_blink, milliseconds(300));
    EXPECT_EQ(timing.low_battery_flash, milliseconds(150));
    EXPECT_EQ(timing.low_battery_period, milliseconds(4000));
    auto defaults = with_gpio("[gpio]\n[gpio.status_led]\nline = 22\n");
    ASSERT_TRUE(defaults) << defaults.error().message();
    EXPECT_EQ(defaults->gpio.led_timing, GpioLedTimingConfig{});
    EXPECT_EQ(defaults->gpio.led_timing.syncing_blink, milliseconds(1000));
    EXPECT_EQ(defaults->gpio.led_timing.error_blink, milliseconds(200));
    EXPECT_FALSE(defaults->gpio == config->gpio);
}

TEST(GpioConfig, ChecksLedTimingsWithTheDriversRules) {
    EXPECT_EQ(gpio_error("[gpio]\nsyncing_blink_ms = 1\n[gpio.status_led]\nline = 22\n"),
              "fieldlogd.toml:12:1: gpio.syncing_blink_ms: LED slow blink time must be from 2 ms "
              "to 60000 ms, not 1 ms");
    EXPECT_EQ(
        gpio_error("[gpio]\nchip = 0\nerror_blink_ms = 4000000\n[gpio.status_led]\nline = 1\n"),
        "fieldlogd.toml:13:1: gpio.error_blink_ms: expected an integer from 0 to 3600000, "
        "got 4000000");
    EXPECT_EQ(gpio_error("[gpio]\nerror_blink_ms = 61000\n[gpio.status_led]\nline = 22\n"),
              "fieldlogd.toml:12:1: gpio.error_blink_ms: LED fast blink time must be from 2 ms to "
              "60000 ms, not 61000 ms");
    EXPECT_EQ(gpio_error("[gpio]\nerror_blink_ms = \"fast\"\n[gpio.status_led]\nline = 22\n"),
              "fieldlogd.toml:12:1: gpio.error_blink_ms: expected an integer from 0 to 3600000, "
              "got a string");
    // A double flash must fit its period: blamed on the period when the file sets it...
    EXPECT_EQ(gpio_error("[gpio]\nlow_battery_flash_ms = 500\nlow_battery_period_ms = 1200\n"
                         "[gpio.status_led]\nline = 22\n"),
              "fieldlogd.toml:13:1: gpio.low_battery_period_ms: LED double flash period must "
              "exceed three flash times (1500 ms), not 1200 ms");
    // ...and on the flash when the period is the default.
    EXPECT_EQ(gpio_error("[gpio]\nlow_battery_flash_ms = 700\n[gpio.status_led]\nline = 22\n"),
              "fieldlogd.toml:12:1: gpio.low_battery_flash_ms: LED double flash period must "
              "exceed three flash times (2100 ms), not 2000 ms");
    // A long flash with a long enough period is fine.
    EXPECT_TRUE(
        with_gpio("[gpio]\nlow_battery_flash_ms = 700\nlow_battery_period_ms = 5000\n"
                  "[gpio.status_led]\nline = 22\n"));
}

TEST(GpioConfig, RejectsUnknownKeysAndTables) {
    EXPECT_THAT(gpio_error("[gpio]\nbackend = \"simulated\"\nchips = 1\n[gpio.dock]\nline = 2\n"),
                HasSubstr("fieldlogd.toml:13:1: gpio.chips: unknown key; expected one of: "
                          "backend, chip, button, dock, status_led, battery_led"));
    EXPECT_THAT(gpio_error("[gpio]\n[gpio.button]\nline = 2\nlong_press = 900\n"),
                HasSubstr("fieldlogd.toml:14:1: gpio.button.long_press: unknown key; expected "
                          "one of: chip, line, active_low, bias, debounce_ms, long_press_ms"));
    EXPECT_THAT(gpio_error("[gpio]\n[gpio.status_led]\nline = 2\ndebounce_ms = 5\n"),
                HasSubstr("fieldlogd.toml:14:1: gpio.status_led.debounce_ms: unknown key"));
    EXPECT_THAT(gpio_error("[gpio]\n[gpio.buzzer]\nline = 2\n"),
                HasSubstr("gpio.buzzer: unknown table"));
}

TEST(GpioConfig, RejectsTablesThatCannotWork) {
    EXPECT_THAT(gpio_error("[gpio]\nbackend = \"simulated\"\n"),
                HasSubstr("gpio: names no line: add [gpio.button], [gpio.dock] or "
                          "[gpio.status_led]"));
    EXPECT_THAT(gpio_error("[gpio]\n[gpio.battery_led]\nline = 23\n"),
                HasSubstr("gpio.battery_led: a battery LED needs gpio.status_led as well"));
    EXPECT_EQ(gpio_error("[gpio]\n[gpio.button]\nline = 17\n[gpio.dock]\nline = 17\n"),
              "fieldlogd.toml:15:1: gpio.dock.line: line 17 of chip \"gpiochip0\" is already "
              "gpio.button's; each line can serve one purpose");
    // The same offset on another chip is another line.
    EXPECT_TRUE(
        with_gpio("[gpio]\n[gpio.button]\nline = 17\n[gpio.dock]\nline = 17\n"
                  "chip = \"gpiochip1\"\n"));
    EXPECT_THAT(gpio_error("[gpio]\nbutton = 17\n"),
                HasSubstr("gpio.button: expected a table, got an integer"));
}

TEST(GpioConfig, ReportsEveryProblemAtOnce) {
    auto message = gpio_error(
        "[gpio]\nbackend = \"x\"\n[gpio.button]\nline = 99999\n[gpio.dock]\nline = 1\n"
        "debounce_ms = 20000\n");
    EXPECT_THAT(message, HasSubstr("gpio.backend"));
    EXPECT_THAT(message, HasSubstr("gpio.button.line"));
    EXPECT_THAT(message, HasSubstr("gpio.dock.debounce_ms"));
}

// The commented example in the shipped fieldlogd.toml, with its keys and tables uncommented.
TEST(GpioConfig, ShippedExampleIsValidOnceUncommented) {
    auto text = read_file(testing::source_dir() / "config/fieldlogd.toml", 1 << 20);
    ASSERT_TRUE(text) << text.error().to_string();
    auto at = text->find("# [gpio]\n");
    ASSERT_NE(at, std::string::npos);
    std::istringstream lines(text->substr(at));
    std::string example, line;
    const std::regex setting(R"(^# (\[gpio[a-z._]*\]|[a-z_]+ = ).*)");
    while (std::getline(lines, line)) {
        if (std::regex_match(line, setting)) example += line.substr(2) + "\n";
    }
    auto config = with_gpio(example);
    ASSERT_TRUE(config) << config.error().message() << "\n" << example;
    EXPECT_EQ(config->gpio.chip, "pinctrl-bcm2711");
    EXPECT_TRUE(config->gpio.button && config->gpio.dock && config->gpio.status_led &&
                config->gpio.battery_led);
}

// The example in README.md's "Wiring a Raspberry Pi".
TEST(GpioConfig, ReadmeWiringExampleIsValid) {
    auto text = read_file(testing::source_dir() / "README.md", 1 << 20);
    ASSERT_TRUE(text) << text.error().to_string();
    auto section = text->find("## Wiring a Raspberry Pi");
    ASSERT_NE(section, std::string::npos);
    auto begin = text->find("```toml\n", section);
    ASSERT_NE(begin, std::string::npos);
    begin += 8;
    auto end = text->find("```", begin);
    ASSERT_NE(end, std::string::npos);
    auto config = with_gpio(text->substr(begin, end - begin));
    ASSERT_TRUE(config) << config.error().message();
    EXPECT_EQ(config->gpio.button->line.offset, 17u);
    EXPECT_EQ(config->gpio.dock->line.bias, GpioLineConfig::Bias::pull_down);
    EXPECT_EQ(config->gnss.device, "/dev/serial0");
}

}  // namespace
}  // namespace fieldlog::config
