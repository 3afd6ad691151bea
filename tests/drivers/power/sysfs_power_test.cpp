#include "fieldlog/power/sysfs_power.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "temp_dir.hpp"

namespace fieldlog::power {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// A /sys/class/power_supply look-alike: as in sysfs, each entry is a symlink to a device folder.
class SupplyTree : public ::testing::Test {
protected:
    fs::path root() const { return dir_ / "class/power_supply"; }

    void supply(const std::string& name, const std::map<std::string, std::string>& attributes) {
        auto device = dir_ / "devices" / name;
        fs::create_directories(device);
        for (const auto& [attribute, text] : attributes) {
            std::ofstream(device / attribute) << text << "\n";
        }
        fs::create_directories(root());
        fs::create_directory_symlink(device, root() / name);
    }

    Result<PowerState> read() { return read_power_supplies(root()); }

    fieldlog::testing::TempDir dir_;
};

TEST_F(SupplyTree, LaptopStyleBatteryAndMains) {
    supply("BAT0", {{"type", "Battery"}, {"capacity", "76"}, {"status", "Discharging"}});
    supply("AC", {{"type", "Mains"}, {"online", "0"}});
    auto state = read();
    ASSERT_TRUE(state) << state.error().to_string();
    EXPECT_EQ(state->battery_percent, 76);
    EXPECT_EQ(state->charge, ChargeState::discharging);
    EXPECT_FALSE(state->external_power);
    EXPECT_THAT(state->warnings, IsEmpty());
}

TEST_F(SupplyTree, HandheldChargingOverUsb) {
    supply("battery", {{"type", "Battery"}, {"capacity", "42"}, {"status", "Charging"}});
    supply("usb", {{"type", "USB"}, {"online", "1"}});
    auto state = read();
    ASSERT_TRUE(state) << state.error().to_string();
    EXPECT_EQ(state->battery_percent, 42);
    EXPECT_EQ(state->charge, ChargeState::charging);
    EXPECT_TRUE(state->external_power);
}

TEST_F(SupplyTree, UsbTypeCSupplyCountsAsExternal) {
    supply("BAT0", {{"type", "Battery"}, {"capacity", "90"}, {"status", "Full"}});
    supply("ucsi-source-psy-1", {{"type", "USB_C"}, {"online", "1"}});
    auto state = read();
    ASSERT_TRUE(state) << state.error().to_string();
    EXPECT_TRUE(state->external_power);
    EXPECT_EQ(state->charge, ChargeState::full);
}

TEST_F(SupplyTree, BoardWithoutSuppliesRunsOnExternalPower) {
    fs::create_directories(root());
    auto state = read();
    ASSERT_TRUE(state) << state.error().to_string();
    EXPECT_EQ(state->battery_percent, std::nullopt);
    EXPECT_TRUE(state->external_power);
}

TEST_F(SupplyTree, ChargingBatteryAloneMeansACharger) {
    supply("BAT0", {{"type", "Battery"}, {"capacity", "30"}, {"status", "Charging"}});
    auto state = read();
    ASSERT_TRUE(state) << state.error().to_string();
    EXPECT_TRUE(state->external_power);
}

TEST_F(SupplyTree, FuelGaugeWithoutCapacityGivesTheLevelFromEnergyOrCharge) {
    supply("BAT0", {{"type", "Battery"}, {"energy_now", "30000000"}, {"energy_full", "40000000"}});
    EXPECT_EQ(read()->battery_percent, 75);
    fs::remove_all(dir_.path());
    supply("BAT1", {{"type", "Battery"}, {"charge_now", "2100000"}, {"charge_full", "2000000"}});
    EXPECT_EQ(read()->battery_percent, 100) << "a gauge above full reads as full";
}

TEST_F(SupplyTree, TwoBatteriesGiveTheirMean) {
    supply("BAT0", {{"type", "Battery"}, {"capacity", "80"}, {"status", "Discharging"}});
    supply("BAT1", {{"type", "Battery"}, {"capacity", "41"}, {"status", "Full"}});
    auto state = read();
    ASSERT_TRUE(state) << state.error().to_string();
    EXPECT_EQ(state->battery_percent, 61);
    EXPECT_EQ(state->charge, ChargeState::discharging);
}

TEST_F(SupplyTree, EmptyBatteryBayIsSkipped) {
    supply("BAT0", {{"type", "Battery"}, {"present", "0"}});
    supply("BAT1", {{"type", "Battery"}, {"capacity", "55"}});
    EXPECT_EQ(read()->battery_percent, 55);
}

TEST_F(SupplyTree, GarbageCapacityIsAClearError) {
    supply("BAT0", {{"type", "Battery"}, {"capacity", "full-ish"}});
    auto state = read();
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().code(), Errc::invalid_argument);
    EXPECT_THAT(state.error().message(),
                HasSubstr("BAT0/capacity: 'full-ish' is not a whole number"));
}

TEST_F(SupplyTree, CapacityOutOfRangeIsAnError) {
    supply("BAT0", {{"type", "Battery"}, {"capacity", "150"}});
    auto state = read();
    ASSERT_FALSE(state);
    EXPECT_THAT(state.error().message(), HasSubstr("'150'"));
}

TEST_F(SupplyTree, BatteryWithoutAnyLevelIsAnError) {
    supply("BAT0", {{"type", "Battery"}, {"status", "Discharging"}});
    auto state = read();
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().code(), Errc::not_found);
    EXPECT_THAT(state.error().message(), HasSubstr("reports no level"));
}

TEST_F(SupplyTree, GarbageEnergyIsAnError) {
    supply("BAT0", {{"type", "Battery"}, {"energy_now", "12"}, {"energy_full", "0"}});
    auto state = read();
    ASSERT_FALSE(state);
    EXPECT_THAT(state.error().message(), HasSubstr("energy_full: '0' is not a positive"));
}

TEST_F(SupplyTree, UnreadableAttributeIsAnErrorNotACrash) {
    supply("BAT0", {{"type", "Battery"}});
    fs::create_directory(dir_ / "devices/BAT0/capacity");
    auto state = read();
    ASSERT_FALSE(state);
    EXPECT_THAT(state.error().message(), HasSubstr("capacity"));
}

TEST_F(SupplyTree, OdditiesBecomeWarnings) {
    supply("BAT0", {{"type", "Battery"}, {"capacity", "64"}, {"status", "Exploding"}});
    supply("AC", {{"type", "Mains"}, {"online", "maybe"}});
    supply("mystery", {{"online", "1"}});
    auto state = read();
    ASSERT_TRUE(state) << state.error().to_string();
    EXPECT_EQ(state->battery_percent, 64);
    EXPECT_EQ(state->charge, ChargeState::unknown);
    EXPECT_FALSE(state->external_power);
    ASSERT_EQ(state->warnings.size(), 3u);
    EXPECT_THAT(state->warnings[0], HasSubstr("'maybe' is not 0 or 1"));
    EXPECT_THAT(state->warnings[1], HasSubstr("'Exploding' is not a known charge state"));
    EXPECT_THAT(state->warnings[2], HasSubstr("mystery has no readable type"));
}

TEST_F(SupplyTree, MissingRootIsNotFound) {
    auto state = read();
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().code(), Errc::not_found);
    EXPECT_THAT(state.error().message(), HasSubstr("does not exist"));
}

TEST_F(SupplyTree, RootThatIsAFileIsAnError) {
    std::ofstream(dir_ / "file") << "x";
    auto state = read_power_supplies(dir_ / "file");
    ASSERT_FALSE(state);
    EXPECT_EQ(state.error().code(), Errc::invalid_argument);
}

TEST_F(SupplyTree, SysfsPowerReportsAMissingTreeAsItsState) {
    boost::asio::io_context io;
    auto power = SysfsPower::open(io, {root(), 30s, {}});
    ASSERT_TRUE(power) << "a bad reading is a state, not a failure to open";
    ASSERT_FALSE((*power)->state());
    EXPECT_EQ((*power)->state().error().code(), Errc::not_found);
}

TEST_F(SupplyTree, RefreshReadsAtOnce) {
    supply("BAT0", {{"type", "Battery"}, {"capacity", "70"}});
    boost::asio::io_context io;
    // No uevents: one of the host's own supplies could wake the loop.
    auto power = SysfsPower::open(io, {root(), 30s, {}, false}).value();
    std::vector<int> levels;
    power->on_change([&](const Result<PowerState>& state) {
        levels.push_back(state ? state->battery_percent.value_or(-1) : -2);
    });
    std::ofstream(dir_ / "devices/BAT0/capacity") << "69\n";
    power->refresh();
    power->refresh();
    EXPECT_THAT(levels, ElementsAre(69));
    EXPECT_EQ(io.run_for(100ms), 0u) << "nothing wakes the loop between polls";
}

TEST_F(SupplyTree, DefaultPollIsASlowSafetyNetUnderUevents) {
    SysfsPowerConfig config;
    EXPECT_EQ(config.poll_interval, 5min);
    EXPECT_TRUE(config.watch_uevents);
    EXPECT_EQ(config.root, "/sys/class/power_supply");
    EXPECT_FALSE(validate(SysfsPowerConfig{root(), 0ms, {}}));
    EXPECT_FALSE(validate(SysfsPowerConfig{root(), 2h, {}}));
    boost::asio::io_context io;
    EXPECT_FALSE(SysfsPower::open(io, {root(), 0ms, {}}));
}

}  // namespace
}  // namespace fieldlog::power
