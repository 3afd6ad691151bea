// The GPIO controls wired into fieldlogd, checked through the running daemon on the simulated
// backend ([gpio] backend = "simulated"), driven over the control socket with gpio.simulate: a
// long press marks the open inspection, a short press and the dock start a sync attempt, and the
// status LEDs follow the outbox, the uploader and the battery.
#include <sys/stat.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "daemon_process.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using namespace field_kit;

// The button to ground with a pull-up (active-low), the dock line, two LEDs: the wiring the
// README describes for a Raspberry Pi, on a simulated chip under the Pi 4's label.
constexpr std::string_view gpio_table = R"([gpio]
backend = "simulated"
chip = "pinctrl-bcm2711"

[gpio.button]
line = 17
active_low = true
bias = "pull_up"
debounce_ms = 10
long_press_ms = 300

[gpio.dock]
line = 27
debounce_ms = 10

[gpio.status_led]
line = 22

[gpio.battery_led]
line = 23
)";

bool is(const json::value& value, std::string_view text) {
    return value.is_string() && value.get_string() == text;
}

// A loopback port nothing listens on: bound, then closed again.
std::string closed_port_url() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(
        io, boost::asio::ip::tcp::endpoint(boost::asio::ip::address_v4::loopback(), 0));
    auto port = probe.local_endpoint().port();
    probe.close();
    return "http://127.0.0.1:" + std::to_string(port);
}

// [sync] towards a server that is not there, retrying only long after the test: every attempt
// after the first is one the test caused.
SyncSettings unreachable_sync(const std::filesystem::path& dir) {
    SyncSettings sync;
    sync.url = closed_port_url();
    sync.token_file = dir / "device.token";
    std::ofstream(sync.token_file) << "t0k3n-for-tests\n";
    ::chmod(sync.token_file.c_str(), 0600);
    sync.retry_initial_ms = 3'600'000;
    sync.retry_max_ms = 86'400'000;
    sync.probe_interval_ms = 86'400'000;
    return sync;
}

json::object gpio_status(const DaemonProcess& daemon) { return status_of(daemon, "gpio"); }

std::string led(const DaemonProcess& daemon, std::string_view name) {
    auto gpio = gpio_status(daemon);
    if (gpio.empty()) return "";
    const auto& pattern = gpio.at("leds").at(name);
    return pattern.is_string() ? std::string(pattern.as_string()) : "null";
}

std::int64_t attempts(const DaemonProcess& daemon) {
    auto sync = status_of(daemon, "sync");
    return sync.empty() ? -1 : sync.at("attempts").as_int64();
}

void simulate(const DaemonProcess& daemon, std::string_view line, bool active) {
    daemon.ok("gpio.simulate", {{"line", line}, {"active", active}});
}

// Until the debounced button reads state ("pressed" or "released").
bool button_is(const DaemonProcess& daemon, std::string_view state) {
    return eventually([&] {
        auto gpio = gpio_status(daemon);
        return !gpio.empty() && is(gpio.at("button"), state);
    });
}

// Held past the debounce time, then let go well before the long-press time.
void short_press(const DaemonProcess& daemon) {
    simulate(daemon, "button", true);
    ASSERT_TRUE(button_is(daemon, "pressed")) << daemon.output();
    simulate(daemon, "button", false);
}

// Until sync reached state; any state once at least one attempt has ended when state is empty.
bool sync_settled(const DaemonProcess& daemon, std::string_view state = "") {
    return eventually([&] {
        auto sync = status_of(daemon, "sync");
        if (sync.empty()) return false;
        if (!state.empty()) return is(sync.at("state"), state);
        return sync.at("attempts").as_int64() >= 1 && !is(sync.at("state"), "syncing");
    });
}

json::array marks(const DaemonProcess& daemon) {
    auto list = daemon.ok("mark.list");
    return list.empty() ? json::array() : list.at("marks").as_array();
}

TEST(DaemonGpio, StatusSaysGpioIsOffAndSimulateIsRefusedWithoutATable) {
    KitDaemon kit;
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    auto gpio = gpio_status(daemon);
    EXPECT_FALSE(gpio.at("enabled").as_bool()) << gpio;
    auto reply = daemon.request(
        json::object{{"op", "gpio.simulate"}, {"args", {{"line", "button"}, {"active", true}}}});
    ASSERT_TRUE(reply);
    EXPECT_EQ(error_code(*reply), "conflict") << *reply;
    EXPECT_NE(error_message(*reply).find("backend = \"simulated\""), std::string::npos) << *reply;
}

TEST(DaemonGpio, StatusShowsTheLinesAndLeds) {
    KitDaemon kit{std::string(gpio_table)};
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    auto gpio = gpio_status(daemon);
    EXPECT_TRUE(gpio.at("enabled").as_bool()) << gpio;
    EXPECT_TRUE(is(gpio.at("backend"), "simulated")) << gpio;
    EXPECT_TRUE(is(gpio.at("button"), "released")) << gpio;
    EXPECT_FALSE(gpio.at("docked").as_bool()) << gpio;
    EXPECT_TRUE(gpio.at("leds").at("battery").is_string()) << gpio;
    EXPECT_TRUE(gpio.at("last_error").is_null()) << gpio;
    const auto& lines = gpio.at("lines").as_object();
    EXPECT_TRUE(is(lines.at("button").at("line"), "pinctrl-bcm2711:17 (active-low)")) << gpio;
    EXPECT_EQ(lines.at("button").at("debounce_ms").as_int64(), 10) << gpio;
    EXPECT_EQ(lines.at("button").at("long_press_ms").as_int64(), 300) << gpio;
    EXPECT_TRUE(is(lines.at("dock").at("line"), "pinctrl-bcm2711:27")) << gpio;
    EXPECT_TRUE(is(lines.at("battery_led").at("line"), "pinctrl-bcm2711:23")) << gpio;
    EXPECT_EQ(gpio.at("led_timing").at("syncing_blink_ms").as_int64(), 1000) << gpio;

    auto reply = daemon.request(
        json::object{{"op", "gpio.simulate"}, {"args", {{"line", "led"}, {"active", true}}}});
    ASSERT_TRUE(reply);
    EXPECT_EQ(error_code(*reply), "invalid_argument") << *reply;
}

TEST(DaemonGpio, RefusesToStartWhenALineCannotBeHad) {
    // The real backend, on a chip no machine has.
    KitDaemon kit("[gpio]\nchip = \"fieldlog-no-such-chip\"\n[gpio.button]\nline = 17\n");
    DaemonProcess daemon(kit.dir().path(), kit.config());
    ASSERT_TRUE(daemon.spawn(
        {DaemonProcess::executable().string(), "--config", daemon.config_path().string()}));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit) << daemon.output();
    EXPECT_TRUE(exit->exited() && exit->code() != 0) << exit->describe();
    EXPECT_NE(daemon.output().find("[gpio.button]"), std::string::npos) << daemon.output();
    EXPECT_NE(daemon.output().find("fieldlog-no-such-chip:17"), std::string::npos)
        << daemon.output();
}

TEST(DaemonGpio, LongPressMarksTheOpenInspectionWithThePosition) {
    KitDaemon kit(
        "[gnss]\nreplay_file = \"walk.nmea\"\nreplay_interval_ms = 20\n"
        "replay_loop = true\nmax_fix_age_ms = 600000\n\n" +
        std::string(gpio_table));
    std::ofstream(kit.dir() / "walk.nmea", std::ios::binary) << fix_sentences();
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    ASSERT_TRUE(eventually([&] {
        auto gnss = status_of(daemon, "gnss");
        return !gnss.empty() && is(gnss.at("fix_state"), "fix");
    })) << daemon.output();

    // No open inspection: nothing is marked, and the device log says why.
    simulate(daemon, "button", true);
    EXPECT_TRUE(eventually([&] { return logged(daemon, "button_mark", "no inspection is open"); }))
        << daemon.output();
    simulate(daemon, "button", false);

    auto inspection = start_inspection(daemon);
    ASSERT_FALSE(inspection.empty());
    ASSERT_TRUE(button_is(daemon, "released"));
    simulate(daemon, "button", true);
    ASSERT_TRUE(eventually([&] { return marks(daemon).size() == 1; })) << daemon.output();
    simulate(daemon, "button", false);

    auto mark = marks(daemon).at(0).as_object();
    EXPECT_EQ(mark.at("inspection_id"), inspection.at("inspection").at("id")) << mark;
    EXPECT_TRUE(is(mark.at("source"), "button")) << mark;
    expect_position(mark);
    EXPECT_GT(mark.at("device_time_ms").as_int64(), 0) << mark;
    // The release after a long press is no short press: one mark, and nothing else happened.
    ASSERT_TRUE(button_is(daemon, "released"));
    EXPECT_EQ(marks(daemon).size(), 1u);
    EXPECT_TRUE(daemon.ok("verify").at("ok").as_bool());
}

TEST(DaemonGpio, ShortPressWithoutSyncSaysSoInTheDeviceLog) {
    KitDaemon kit{std::string(gpio_table)};
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    short_press(daemon);
    EXPECT_TRUE(eventually([&] { return logged(daemon, "button_sync", "not configured"); }))
        << daemon.output();
}

TEST(DaemonGpio, ShortPressStartsASyncAttempt) {
    KitDaemon kit{std::string(gpio_table)};
    kit.config().sync = unreachable_sync(kit.dir().path());
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    // The attempt at start fails and the next is a day away.
    ASSERT_TRUE(sync_settled(daemon)) << daemon.output();
    auto before = attempts(daemon);
    EXPECT_FALSE(status_of(daemon, "sync").at("last_error").is_null());

    short_press(daemon);
    EXPECT_TRUE(eventually([&] { return attempts(daemon) > before; })) << daemon.output();
    // A short press is no long one.
    EXPECT_FALSE(logged(daemon, "button_mark", ""));
}

TEST(DaemonGpio, DockingStartsASyncAttemptAndUndockingIsLogged) {
    KitDaemon kit{std::string(gpio_table)};
    kit.config().sync = unreachable_sync(kit.dir().path());
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    ASSERT_TRUE(sync_settled(daemon)) << daemon.output();
    auto before = attempts(daemon);

    simulate(daemon, "dock", true);
    EXPECT_TRUE(eventually([&] { return attempts(daemon) > before; })) << daemon.output();
    EXPECT_TRUE(gpio_status(daemon).at("docked").as_bool());
    EXPECT_TRUE(eventually([&] { return logged(daemon, "docked", "syncing now"); }));

    simulate(daemon, "dock", false);
    EXPECT_TRUE(eventually([&] { return logged(daemon, "undocked", "undocked"); }))
        << daemon.output();
    EXPECT_FALSE(gpio_status(daemon).at("docked").as_bool());
}

TEST(DaemonGpio, StatusLedIsOnWhileRecordsWait) {
    KitDaemon kit{std::string(gpio_table)};
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    ASSERT_FALSE(start_inspection(daemon).empty());
    // Without [sync] the records stay: steady on, no blink to wake the device.
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "on"; })) << daemon.output();
    EXPECT_EQ(led(daemon, "battery"), "off");
    EXPECT_GT(daemon.ok("status").at("outbox").at("pending_entries").as_int64(), 0);
}

TEST(DaemonGpio, StatusLedBlinksFastWhenSyncingNeedsAnOperator) {
    KitDaemon kit{std::string(gpio_table)};
    auto settings = unreachable_sync(kit.dir().path());
    // A token file others can read is refused: syncing stops until an operator fixes it.
    ::chmod(settings.token_file.c_str(), 0644);
    kit.config().sync = settings;
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    EXPECT_TRUE(sync_settled(daemon, "stopped")) << daemon.output();
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "fast_blink"; }))
        << daemon.output();
}

TEST(DaemonGpio, OfflineIsNoErrorOnTheStatusLed) {
    KitDaemon kit{std::string(gpio_table)};
    kit.config().sync = unreachable_sync(kit.dir().path());
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    ASSERT_TRUE(sync_settled(daemon, "backoff")) << daemon.output();
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "on"; })) << daemon.output();
}

// A battery under a sysfs tree in dir, as the kernel shows it.
void battery(const std::filesystem::path& dir, std::string_view capacity) {
    write_attribute(dir / "power_supply" / "BAT0" / "capacity", std::string(capacity));
}

TEST(DaemonGpio, BatteryLedDoubleFlashesOnLowBattery) {
    KitDaemon kit(
        "[power]\nsysfs_root = \"power_supply\"\npoll_interval_ms = 50\n"
        "low_battery_percent = 15\n\n" +
        std::string(gpio_table));
    auto supplies = kit.dir() / "power_supply";
    write_attribute(supplies / "BAT0" / "type", "Battery");
    write_attribute(supplies / "BAT0" / "status", "Discharging");
    battery(kit.dir().path(), "60");
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "on"; })) << daemon.output();
    EXPECT_EQ(led(daemon, "battery"), "off");

    battery(kit.dir().path(), "12");
    EXPECT_TRUE(eventually([&] { return led(daemon, "battery") == "double_flash"; }))
        << daemon.output();
    EXPECT_EQ(led(daemon, "status"), "on");  // the battery LED carries it

    battery(kit.dir().path(), "40");
    EXPECT_TRUE(eventually([&] { return led(daemon, "battery") == "off"; })) << daemon.output();

    // Blinking LEDs do not keep the daemon from stopping.
    battery(kit.dir().path(), "5");
    EXPECT_TRUE(eventually([&] { return led(daemon, "battery") == "double_flash"; }));
    ASSERT_TRUE(daemon.kill(SIGTERM));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit && exit->exited() && exit->code() == 0) << daemon.output();
}

// The blink times in [gpio] reach the LEDs: status shows them, and a status LED without a
// battery LED double-flashes a low battery with them.
TEST(DaemonGpio, LedTimingsFromTheConfigDriveTheLeds) {
    KitDaemon kit(
        "[power]\nsysfs_root = \"power_supply\"\npoll_interval_ms = 50\n\n"
        "[gpio]\nbackend = \"simulated\"\nsyncing_blink_ms = 1600\nerror_blink_ms = 300\n"
        "low_battery_flash_ms = 150\nlow_battery_period_ms = 4000\n"
        "[gpio.status_led]\nline = 22\n");
    write_attribute(kit.dir() / "power_supply" / "BAT0" / "type", "Battery");
    battery(kit.dir().path(), "8");
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    auto timing = gpio_status(daemon).at("led_timing").as_object();
    EXPECT_EQ(timing.at("syncing_blink_ms").as_int64(), 1600) << timing;
    EXPECT_EQ(timing.at("error_blink_ms").as_int64(), 300) << timing;
    EXPECT_EQ(timing.at("low_battery_flash_ms").as_int64(), 150) << timing;
    EXPECT_EQ(timing.at("low_battery_period_ms").as_int64(), 4000) << timing;
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "double_flash"; }))
        << daemon.output();
}

TEST(DaemonGpio, RefusesLedTimingsThatCannotWorkNamingFileLineAndKey) {
    KitDaemon kit(
        "[gpio]\nbackend = \"simulated\"\nlow_battery_flash_ms = 500\n"
        "low_battery_period_ms = 1200\n[gpio.status_led]\nline = 22\n");
    DaemonProcess daemon(kit.dir().path(), kit.config());
    ASSERT_TRUE(daemon.spawn({DaemonProcess::executable().string(), "--check-config", "--config",
                              daemon.config_path().string()}));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit) << daemon.output();
    EXPECT_TRUE(exit->exited() && exit->code() != 0) << exit->describe();
    EXPECT_NE(daemon.output().find("gpio.low_battery_period_ms: LED double flash period must "
                                   "exceed three flash times (1500 ms), not 1200 ms"),
              std::string::npos)
        << daemon.output();
    EXPECT_NE(daemon.output().find("fieldlogd.toml:"), std::string::npos) << daemon.output();
}

}  // namespace
}  // namespace fieldlog::testing
