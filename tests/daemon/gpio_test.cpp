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
using Clock = std::chrono::steady_clock;

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

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = 20s) {
    auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        if (condition()) return true;
        std::this_thread::sleep_for(20ms);
    }
    return condition();
}

std::string nmea(std::string_view body) {
    unsigned sum = 0;
    for (char c : body) sum ^= static_cast<unsigned char>(c);
    char tail[8];
    std::snprintf(tail, sizeof tail, "*%02X\r\n", sum);
    return "$" + std::string(body) + tail;
}

// 30.585390 N, 114.309463 E at 2026-11-25 08:35:59 UTC, 12 satellites.
std::string fix_sentences() {
    return nmea("GNRMC,083559.00,A,3035.12340,N,11418.56780,E,0.0,,251126,,,A,V") +
           nmea("GNGGA,083559.00,3035.12340,N,11418.56780,E,1,12,0.78,23.4,M,-10.2,M,,");
}

constexpr double fix_lat = 30.0 + 35.1234 / 60.0;
constexpr double fix_lon = 114.0 + 18.5678 / 60.0;

std::int64_t fix_time_ms() {
    using namespace std::chrono;
    auto at = sys_days{year{2026} / November / 25} + hours{8} + minutes{35} + seconds{59};
    return duration_cast<milliseconds>(at.time_since_epoch()).count();
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

json::object gpio_status(const DaemonProcess& daemon) {
    auto status = daemon.ok("status");
    if (status.empty()) return {};
    return status.at("gpio").as_object();
}

std::string led(const DaemonProcess& daemon, std::string_view name) {
    auto gpio = gpio_status(daemon);
    if (gpio.empty()) return "";
    const auto& pattern = gpio.at("leds").at(name);
    return pattern.is_string() ? std::string(pattern.as_string()) : "null";
}

json::object sync_status(const DaemonProcess& daemon) {
    auto status = daemon.ok("status");
    if (status.empty()) return {};
    return status.at("sync").as_object();
}

std::int64_t attempts(const DaemonProcess& daemon) {
    auto sync = sync_status(daemon);
    return sync.empty() ? -1 : sync.at("attempts").as_int64();
}

void simulate(const DaemonProcess& daemon, std::string_view line, bool active) {
    daemon.ok("gpio.simulate", {{"line", line}, {"active", active}});
}

// Held past the debounce time, then let go well before the long-press time.
void short_press(const DaemonProcess& daemon) {
    simulate(daemon, "button", true);
    ASSERT_TRUE(eventually([&] {
        auto gpio = gpio_status(daemon);
        return !gpio.empty() && is(gpio.at("button"), "pressed");
    })) << daemon.output();
    simulate(daemon, "button", false);
}

bool logged(const DaemonProcess& daemon, std::string_view event, std::string_view text) {
    auto logs = daemon.ok("logs", {{"limit", 100}});
    if (logs.empty()) return false;
    for (const auto& entry : logs.at("entries").as_array()) {
        if (entry.at("event").as_string() == event &&
            std::string_view(entry.at("message").as_string()).find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

json::array marks(const DaemonProcess& daemon) {
    auto list = daemon.ok("mark.list");
    return list.empty() ? json::array() : list.at("marks").as_array();
}

json::object start_inspection(const DaemonProcess& daemon) {
    return daemon.ok("inspection.start", {{"site_id", "wwtp-east"},
                                          {"kind", "wastewater_discharge"},
                                          {"inspectors", json::array{"Li Wei"}}});
}

TEST(DaemonGpio, StatusSaysGpioIsOffAndSimulateIsRefusedWithoutATable) {
    TempDir dir;
    DaemonProcess daemon(dir.path(), default_daemon_config(dir.path()));
    ASSERT_TRUE(daemon.start());
    auto gpio = gpio_status(daemon);
    EXPECT_FALSE(gpio.at("enabled").as_bool()) << gpio;
    auto reply = daemon.request(
        json::object{{"op", "gpio.simulate"}, {"args", {{"line", "button"}, {"active", true}}}});
    ASSERT_TRUE(reply);
    EXPECT_EQ(error_code(*reply), "conflict") << *reply;
    EXPECT_NE(error_message(*reply).find("backend = \"simulated\""), std::string::npos) << *reply;
}

TEST(DaemonGpio, StatusShowsTheLinesAndLeds) {
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    config.extra_toml = std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    auto gpio = gpio_status(daemon);
    EXPECT_TRUE(gpio.at("enabled").as_bool()) << gpio;
    EXPECT_TRUE(is(gpio.at("backend"), "simulated")) << gpio;
    EXPECT_TRUE(is(gpio.at("button"), "released")) << gpio;
    EXPECT_FALSE(gpio.at("docked").as_bool()) << gpio;
    EXPECT_TRUE(gpio.at("leds").at("battery").is_string()) << gpio;
    EXPECT_TRUE(gpio.at("last_error").is_null()) << gpio;

    auto reply = daemon.request(
        json::object{{"op", "gpio.simulate"}, {"args", {{"line", "led"}, {"active", true}}}});
    ASSERT_TRUE(reply);
    EXPECT_EQ(error_code(*reply), "invalid_argument") << *reply;
}

TEST(DaemonGpio, RefusesToStartWhenALineCannotBeHad) {
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    // The real backend, on a chip no machine has.
    config.extra_toml = "[gpio]\nchip = \"fieldlog-no-such-chip\"\n[gpio.button]\nline = 17\n";
    DaemonProcess daemon(dir.path(), config);
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
    TempDir dir;
    std::ofstream(dir / "walk.nmea", std::ios::binary) << fix_sentences();
    auto config = default_daemon_config(dir.path());
    config.extra_toml =
        "[gnss]\nreplay_file = \"walk.nmea\"\nreplay_interval_ms = 20\n"
        "replay_loop = true\nmax_fix_age_ms = 600000\n\n" +
        std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(eventually([&] {
        auto status = daemon.ok("status");
        return !status.empty() && is(status.at("gnss").at("fix_state"), "fix");
    })) << daemon.output();

    // No open inspection: nothing is marked, and the device log says why.
    simulate(daemon, "button", true);
    EXPECT_TRUE(eventually([&] { return logged(daemon, "button_mark", "no inspection is open"); }))
        << daemon.output();
    simulate(daemon, "button", false);

    auto inspection = start_inspection(daemon);
    ASSERT_FALSE(inspection.empty());
    ASSERT_TRUE(eventually([&] {
        auto gpio = gpio_status(daemon);
        return !gpio.empty() && is(gpio.at("button"), "released");
    }));
    simulate(daemon, "button", true);
    ASSERT_TRUE(eventually([&] { return marks(daemon).size() == 1; })) << daemon.output();
    simulate(daemon, "button", false);

    auto mark = marks(daemon).at(0).as_object();
    EXPECT_EQ(mark.at("inspection_id"), inspection.at("inspection").at("id")) << mark;
    EXPECT_TRUE(is(mark.at("source"), "button")) << mark;
    EXPECT_EQ(mark.at("gnss_time_ms").as_int64(), fix_time_ms()) << mark;
    EXPECT_NEAR(mark.at("lat").to_number<double>(), fix_lat, 1e-6) << mark;
    EXPECT_NEAR(mark.at("lon").to_number<double>(), fix_lon, 1e-6) << mark;
    EXPECT_GT(mark.at("device_time_ms").as_int64(), 0) << mark;
    // The release after a long press is no short press: one mark, and nothing else happened.
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(marks(daemon).size(), 1u);
    EXPECT_TRUE(daemon.ok("verify").at("ok").as_bool());
}

TEST(DaemonGpio, ShortPressWithoutSyncSaysSoInTheDeviceLog) {
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    config.extra_toml = std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    short_press(daemon);
    EXPECT_TRUE(eventually([&] { return logged(daemon, "button_sync", "not configured"); }))
        << daemon.output();
}

TEST(DaemonGpio, ShortPressStartsASyncAttempt) {
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    config.sync = unreachable_sync(dir.path());
    config.extra_toml = std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    // The attempt at start fails and the next is a day away.
    ASSERT_TRUE(eventually([&] {
        auto sync = sync_status(daemon);
        return !sync.empty() && sync.at("attempts").as_int64() >= 1 &&
               !is(sync.at("state"), "syncing");
    })) << daemon.output();
    auto before = attempts(daemon);
    EXPECT_FALSE(sync_status(daemon).at("last_error").is_null());

    short_press(daemon);
    EXPECT_TRUE(eventually([&] { return attempts(daemon) > before; })) << daemon.output();
    // A short press is no long one.
    EXPECT_FALSE(logged(daemon, "button_mark", ""));
}

TEST(DaemonGpio, DockingStartsASyncAttemptAndUndockingIsLogged) {
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    config.sync = unreachable_sync(dir.path());
    config.extra_toml = std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(eventually([&] {
        auto sync = sync_status(daemon);
        return !sync.empty() && sync.at("attempts").as_int64() >= 1 &&
               !is(sync.at("state"), "syncing");
    })) << daemon.output();
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
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    config.extra_toml = std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    ASSERT_FALSE(start_inspection(daemon).empty());
    // Without [sync] the records stay: steady on, no blink to wake the device.
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "on"; })) << daemon.output();
    EXPECT_EQ(led(daemon, "battery"), "off");
    EXPECT_GT(daemon.ok("status").at("outbox").at("pending_entries").as_int64(), 0);
}

TEST(DaemonGpio, StatusLedBlinksFastWhenSyncingNeedsAnOperator) {
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    auto settings = unreachable_sync(dir.path());
    // A token file others can read is refused: syncing stops until an operator fixes it.
    ::chmod(settings.token_file.c_str(), 0644);
    config.sync = settings;
    config.extra_toml = std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    EXPECT_TRUE(eventually([&] {
        auto sync = sync_status(daemon);
        return !sync.empty() && is(sync.at("state"), "stopped");
    })) << daemon.output();
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "fast_blink"; }))
        << daemon.output();
}

TEST(DaemonGpio, OfflineIsNoErrorOnTheStatusLed) {
    TempDir dir;
    auto config = default_daemon_config(dir.path());
    config.sync = unreachable_sync(dir.path());
    config.extra_toml = std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    ASSERT_TRUE(eventually([&] {
        auto sync = sync_status(daemon);
        return !sync.empty() && is(sync.at("state"), "backoff");
    })) << daemon.output();
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "on"; })) << daemon.output();
}

// One sysfs attribute, replaced whole as the kernel presents it.
void write_attribute(const std::filesystem::path& file, const std::string& value) {
    std::filesystem::create_directories(file.parent_path());
    auto temp = file.parent_path() / ("." + file.filename().string());
    std::ofstream(temp) << value << "\n";
    std::filesystem::rename(temp, file);
}

TEST(DaemonGpio, BatteryLedDoubleFlashesOnLowBattery) {
    TempDir dir;
    auto supplies = dir / "power_supply";
    write_attribute(supplies / "BAT0" / "type", "Battery");
    write_attribute(supplies / "BAT0" / "status", "Discharging");
    write_attribute(supplies / "BAT0" / "capacity", "60");
    auto config = default_daemon_config(dir.path());
    config.extra_toml =
        "[power]\nsysfs_root = \"power_supply\"\npoll_interval_ms = 50\n"
        "low_battery_percent = 15\n\n" +
        std::string(gpio_table);
    DaemonProcess daemon(dir.path(), config);
    ASSERT_TRUE(daemon.start());
    EXPECT_TRUE(eventually([&] { return led(daemon, "status") == "on"; })) << daemon.output();
    EXPECT_EQ(led(daemon, "battery"), "off");

    write_attribute(supplies / "BAT0" / "capacity", "12");
    EXPECT_TRUE(eventually([&] { return led(daemon, "battery") == "double_flash"; }))
        << daemon.output();
    EXPECT_EQ(led(daemon, "status"), "on");  // the battery LED carries it

    write_attribute(supplies / "BAT0" / "capacity", "40");
    EXPECT_TRUE(eventually([&] { return led(daemon, "battery") == "off"; })) << daemon.output();

    // Blinking LEDs do not keep the daemon from stopping.
    write_attribute(supplies / "BAT0" / "capacity", "5");
    EXPECT_TRUE(eventually([&] { return led(daemon, "battery") == "double_flash"; }));
    ASSERT_TRUE(daemon.kill(SIGTERM));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit && exit->exited() && exit->code() == 0) << daemon.output();
}

}  // namespace
}  // namespace fieldlog::testing
