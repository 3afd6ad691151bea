// The drivers wired into fieldlogd, checked through the running daemon: a GNSS receiver
// (recorded NMEA, and a pty standing in for a serial receiver) whose fix goes on records, and
// the camera inbox whose photos go into the open inspection.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "daemon_process.hpp"
#include "jpeg_fixture.hpp"
#include "temp_dir.hpp"

namespace fieldlog::testing {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using namespace field_kit;

std::string fix_state(const DaemonProcess& daemon) {
    auto status = daemon.ok("status");
    if (status.empty()) return "";
    const auto& gnss = status.at("gnss").as_object();
    if (!gnss.at("enabled").as_bool()) return "disabled";
    return std::string(gnss.at("fix_state").as_string());
}

json::object add_measurement(const DaemonProcess& daemon) {
    auto added = daemon.ok(
        "measurement.add",
        {{"parameter", "COD"}, {"value", 42}, {"unit", "mg/L"}, {"sampling_point", "outfall"}});
    if (added.empty()) return {};
    return added.at("measurement").as_object();
}

// A pty standing in for a serial receiver: the daemon opens the slave path, the test writes
// sentences to the master. The test keeps the slave open too (in raw mode, so nothing echoes).
class Pty {
public:
    Pty() {
        master_ = posix_openpt(O_RDWR | O_NOCTTY);
        if (master_ < 0 || grantpt(master_) != 0 || unlockpt(master_) != 0) return;
        const char* name = ptsname(master_);
        if (name == nullptr) return;
        slave_path_ = name;
        slave_ = ::open(name, O_RDWR | O_NOCTTY);
        termios raw{};
        if (slave_ >= 0 && tcgetattr(slave_, &raw) == 0) {
            cfmakeraw(&raw);
            tcsetattr(slave_, TCSANOW, &raw);
        }
    }
    ~Pty() {
        if (slave_ >= 0) ::close(slave_);
        if (master_ >= 0) ::close(master_);
    }
    Pty(const Pty&) = delete;
    Pty& operator=(const Pty&) = delete;

    bool ok() const { return master_ >= 0 && slave_ >= 0; }
    const std::string& slave_path() const { return slave_path_; }
    bool write(std::string_view text) const {
        return ::write(master_, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    }

private:
    int master_ = -1;
    int slave_ = -1;
    std::string slave_path_;
};

TEST(DaemonDrivers, StatusSaysGnssIsOffWithoutATable) {
    KitDaemon kit;
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    EXPECT_EQ(fix_state(daemon), "disabled");
    ASSERT_FALSE(start_inspection(daemon).empty());
    expect_no_position(add_measurement(daemon));
}

TEST(DaemonDrivers, ReplayedFixGoesOnInspectionAndMeasurement) {
    KitDaemon kit(
        "[gnss]\nreplay_file = \"walk.nmea\"\nreplay_interval_ms = 20\n"
        "replay_loop = true\nmax_fix_age_ms = 600000\n");
    std::ofstream(kit.dir() / "walk.nmea", std::ios::binary) << fix_sentences();
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    ASSERT_TRUE(eventually([&] { return fix_state(daemon) == "fix"; })) << daemon.output();

    auto status = daemon.ok("status");
    const auto& gnss = status.at("gnss").as_object();
    EXPECT_EQ(gnss.at("satellites_used").as_int64(), 12);
    EXPECT_NEAR(gnss.at("hdop").to_number<double>(), 0.78, 1e-9);
    EXPECT_EQ(gnss.at("last_fix_ms").as_int64(), fix_time_ms());

    auto started = start_inspection(daemon);
    ASSERT_FALSE(started.empty());
    expect_position(started.at("inspection").as_object());
    expect_position(add_measurement(daemon));
}

TEST(DaemonDrivers, SerialReceiverOnAPtyGivesTheFix) {
    Pty pty;
    ASSERT_TRUE(pty.ok()) << "no pty on this machine";
    KitDaemon kit("[gnss]\ndevice = \"" + pty.slave_path() + "\"\nbaud_rate = 9600\n");
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    // A receiver reports about once a second; here every 50 ms until the daemon has a fix.
    ASSERT_TRUE(eventually([&] {
        pty.write(fix_sentences());
        return fix_state(daemon) == "fix";
    })) << daemon.output();
    ASSERT_FALSE(start_inspection(daemon).empty());
    pty.write(fix_sentences());
    expect_position(add_measurement(daemon));
}

TEST(DaemonDrivers, SilentReceiverAttachesNoPosition) {
    Pty pty;
    ASSERT_TRUE(pty.ok()) << "no pty on this machine";
    KitDaemon kit("[gnss]\ndevice = \"" + pty.slave_path() + "\"\n");
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    EXPECT_EQ(fix_state(daemon), "no_data");
    auto started = start_inspection(daemon);
    ASSERT_FALSE(started.empty());
    expect_no_position(started.at("inspection").as_object());
    expect_no_position(add_measurement(daemon));
}

// ---- camera inbox ----

// Written under a hidden temp name and renamed in, as a copy tool does.
void drop(const std::filesystem::path& inbox, const std::string& name,
          const std::function<void(const std::filesystem::path&)>& write) {
    auto temp = inbox / ("." + name + ".part");
    write(temp);
    std::filesystem::rename(temp, inbox / name);
}

JpegFixture seeded(std::uint32_t seed) {
    JpegFixture fixture;
    fixture.seed = seed;
    return fixture;
}

std::size_t photo_count(const DaemonProcess& daemon) {
    auto list = daemon.ok("photo.list");
    return list.empty() ? 0 : list.at("photos").as_array().size();
}

TEST(DaemonDrivers, CameraInboxPhotoGoesIntoTheOpenInspection) {
    KitDaemon kit("[camera]\ninbox_dir = \"inbox\"\ninbox_settle_ms = 100\n");
    auto inbox = kit.dir() / "inbox";
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    ASSERT_TRUE(std::filesystem::is_directory(inbox));

    // No open inspection: the photo waits in the inbox and the device log says why.
    drop(inbox, "early.jpg", [](const auto& p) { write_test_jpeg(p, seeded(1)); });
    EXPECT_TRUE(eventually([&] { return logged(daemon, "camera_skipped", "early.jpg"); }))
        << daemon.output();
    EXPECT_TRUE(std::filesystem::exists(inbox / "early.jpg"));

    ASSERT_FALSE(start_inspection(daemon).empty());
    drop(inbox, "outfall.jpg", [](const auto& p) { write_test_jpeg(p, seeded(2)); });
    ASSERT_TRUE(eventually([&] { return photo_count(daemon) == 1; })) << daemon.output();
    auto photos = daemon.ok("photo.list").at("photos").as_array();
    EXPECT_EQ(photos.at(0).at("original_name").as_string(), "outfall.jpg") << photos;
    // Remembered by moving it out once the record is durable.
    EXPECT_TRUE(eventually([&] {
        return std::filesystem::exists(inbox / "ingested" / "outfall.jpg") &&
               !std::filesystem::exists(inbox / "outfall.jpg");
    }));
    EXPECT_TRUE(eventually([&] { return logged(daemon, "camera_ingested", "outfall.jpg"); }));

    // Not a JPEG: skipped, logged, left in place.
    drop(inbox, "notes.jpg", [](const auto& p) { std::ofstream(p) << "not a photo\n"; });
    EXPECT_TRUE(eventually([&] { return logged(daemon, "camera_skipped", "notes.jpg"); }))
        << daemon.output();
    EXPECT_TRUE(std::filesystem::exists(inbox / "notes.jpg"));
    EXPECT_EQ(photo_count(daemon), 1u);
}

// ---- power ----

TEST(DaemonDrivers, LowBatteryShowsInStatusAndDeviceLog) {
    KitDaemon kit(
        "[power]\nsysfs_root = \"power_supply\"\npoll_interval_ms = 50\n"
        "low_battery_percent = 15\n");
    auto supplies = kit.dir() / "power_supply";
    write_attribute(supplies / "BAT0" / "type", "Battery");
    write_attribute(supplies / "BAT0" / "status", "Discharging");
    write_attribute(supplies / "BAT0" / "capacity", "60");
    write_attribute(supplies / "AC" / "type", "Mains");
    write_attribute(supplies / "AC" / "online", "0");
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;

    auto power = daemon.ok("status").at("power").as_object();
    EXPECT_TRUE(power.at("enabled").as_bool()) << power;
    EXPECT_EQ(power.at("battery_percent").as_int64(), 60) << power;
    EXPECT_EQ(power.at("charge").as_string(), "discharging") << power;
    EXPECT_FALSE(power.at("external_power").as_bool()) << power;
    EXPECT_FALSE(power.at("low_battery").as_bool()) << power;

    write_attribute(supplies / "BAT0" / "capacity", "12");
    EXPECT_TRUE(eventually([&] {
        auto status = daemon.ok("status");
        return !status.empty() && status.at("power").at("low_battery").as_bool();
    })) << daemon.output();
    EXPECT_TRUE(eventually([&] { return logged(daemon, "low_battery", "12%"); }))
        << daemon.output();

    // Charging past the threshold plus hysteresis clears it.
    write_attribute(supplies / "AC" / "online", "1");
    write_attribute(supplies / "BAT0" / "capacity", "30");
    EXPECT_TRUE(eventually([&] { return logged(daemon, "battery_ok", "30%"); })) << daemon.output();
    EXPECT_TRUE(daemon.ok("status").at("power").at("external_power").as_bool());

    // The poll timer does not keep the daemon from stopping.
    ASSERT_TRUE(daemon.kill(SIGTERM));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit && exit->exited() && exit->code() == 0) << daemon.output();
}

TEST(DaemonDrivers, StopsCleanlyWithEveryDriverRunning) {
    KitDaemon kit(
        "[gnss]\nreplay_file = \"walk.nmea\"\nreplay_interval_ms = 10\n"
        "replay_loop = true\n\n[camera]\ninbox_dir = \"inbox\"\n\n"
        "[power]\nsysfs_root = \"power_supply\"\npoll_interval_ms = 20\n");
    std::ofstream(kit.dir() / "walk.nmea", std::ios::binary) << fix_sentences();
    write_attribute(kit.dir() / "power_supply" / "AC" / "type", "Mains");
    write_attribute(kit.dir() / "power_supply" / "AC" / "online", "1");
    ASSERT_TRUE(kit.start());
    auto& daemon = *kit;
    ASSERT_TRUE(eventually([&] { return fix_state(daemon) == "fix"; })) << daemon.output();
    ASSERT_TRUE(daemon.kill(SIGTERM));
    auto exit = daemon.wait_exit();
    ASSERT_TRUE(exit) << "fieldlogd did not exit on SIGTERM; output:\n" << daemon.output();
    EXPECT_TRUE(exit->exited() && exit->code() == 0) << exit->describe() << daemon.output();
}

}  // namespace
}  // namespace fieldlog::testing
