// Behaviour every Power backend shares, checked over both, and the low-battery latch.
#include "fieldlog/power/power.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <vector>

#include "fieldlog/power/simulated_power.hpp"
#include "fieldlog/power/sysfs_power.hpp"
#include "temp_dir.hpp"

namespace fieldlog::power {
namespace {

using namespace std::chrono_literals;

constexpr LowBatteryConfig kLow{15, 5};

// What a test tells the hardware to report, whichever backend stands in for it.
class PowerHarness {
public:
    virtual ~PowerHarness() = default;
    virtual Power& power() = 0;
    virtual void report(int percent, ChargeState charge, bool external) = 0;
    virtual void fail() = 0;
};

class SimulatedHarness final : public PowerHarness {
public:
    explicit SimulatedHarness(boost::asio::io_context& io)
        : power_(SimulatedPower::open(io, kLow).value()) {}
    Power& power() override { return *power_; }
    void report(int percent, ChargeState charge, bool external) override {
        PowerState state;
        state.battery_percent = percent;
        state.charge = charge;
        state.external_power = external;
        power_->set(state);
    }
    void fail() override { power_->set_error(Error(Errc::io, "fuel gauge not answering")); }

private:
    std::unique_ptr<SimulatedPower> power_;
};

// A power_supply tree in a temp dir, polled often so the tests need not wait long.
class SysfsHarness final : public PowerHarness {
public:
    explicit SysfsHarness(boost::asio::io_context& io) {
        write("BAT0/type", "Battery");
        write("AC/type", "Mains");
        report(100, ChargeState::full, true);
        power_ = SysfsPower::open(io, {dir_.path(), 20ms, kLow, false}).value();
    }
    Power& power() override { return *power_; }
    void report(int percent, ChargeState charge, bool external) override {
        const char* status = charge == ChargeState::charging      ? "Charging"
                             : charge == ChargeState::discharging ? "Discharging"
                             : charge == ChargeState::full        ? "Full"
                                                                  : "Unknown";
        // The level last: once a test sees it, the rest is in place too.
        write("BAT0/status", status);
        write("AC/online", external ? "1" : "0");
        write("BAT0/capacity", std::to_string(percent));
    }
    void fail() override { write("BAT0/capacity", "???"); }

private:
    // Written beside and renamed into place, so a poll never sees half a file.
    void write(const std::string& name, const std::string& text) {
        auto path = dir_ / name;
        std::filesystem::create_directories(path.parent_path());
        auto tmp = path;
        tmp += ".tmp";
        std::ofstream(tmp) << text << "\n";
        std::filesystem::rename(tmp, path);
    }

    fieldlog::testing::TempDir dir_;
    std::unique_ptr<SysfsPower> power_;
};

enum class Backend { simulated, sysfs };

void PrintTo(Backend backend, std::ostream* out) {
    *out << (backend == Backend::simulated ? "simulated" : "sysfs");
}

class PowerBackend : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override {
        if (GetParam() == Backend::simulated) {
            harness_ = std::make_unique<SimulatedHarness>(io_);
        } else {
            harness_ = std::make_unique<SysfsHarness>(io_);
        }
        harness_->power().on_change(
            [this](const Result<PowerState>& state) { changes_.push_back(state); });
    }

    bool run_until(const std::function<bool()>& done) {
        const auto until = std::chrono::steady_clock::now() + 5s;
        while (!done() && std::chrono::steady_clock::now() < until) {
            if (io_.stopped()) {
                io_.restart();
            }
            io_.run_for(2ms);
        }
        return done();
    }
    void run_for(std::chrono::milliseconds time) {
        const auto until = std::chrono::steady_clock::now() + time;
        run_until([&] { return std::chrono::steady_clock::now() >= until; });
    }
    // Reports a level and waits until the backend has taken it in.
    void settle_at(int percent, ChargeState charge = ChargeState::discharging) {
        harness_->report(percent, charge, false);
        ASSERT_TRUE(run_until([&] {
            auto state = harness_->power().state();
            return state && state->battery_percent == percent;
        })) << "level "
            << percent << " never arrived";
    }

    boost::asio::io_context io_;
    std::unique_ptr<PowerHarness> harness_;
    std::vector<Result<PowerState>> changes_;
};

TEST_P(PowerBackend, ReportsANewReadingThroughTheHandler) {
    harness_->report(80, ChargeState::discharging, false);
    ASSERT_TRUE(run_until([&] { return !changes_.empty(); }));
    ASSERT_TRUE(changes_.back()) << changes_.back().error().to_string();
    EXPECT_EQ(changes_.back()->battery_percent, 80);
    EXPECT_EQ(changes_.back()->charge, ChargeState::discharging);
    EXPECT_FALSE(changes_.back()->external_power);
    EXPECT_FALSE(changes_.back()->low_battery);
    EXPECT_EQ(harness_->power().state().value(), *changes_.back());
}

TEST_P(PowerBackend, StaysQuietWhileNothingChanges) {
    settle_at(60);
    auto seen = changes_.size();
    run_for(100ms);
    EXPECT_EQ(changes_.size(), seen);
}

TEST_P(PowerBackend, LowBatteryHasHysteresis) {
    settle_at(40);
    EXPECT_FALSE(harness_->power().state()->low_battery);
    settle_at(15);
    EXPECT_TRUE(harness_->power().state()->low_battery) << "at the threshold is low";
    settle_at(18);
    EXPECT_TRUE(harness_->power().state()->low_battery) << "within the hysteresis stays low";
    settle_at(20);
    EXPECT_FALSE(harness_->power().state()->low_battery) << "threshold plus hysteresis clears it";
    settle_at(16);
    EXPECT_FALSE(harness_->power().state()->low_battery) << "above the threshold is not low";
}

TEST_P(PowerBackend, AFailedReadingIsReportedOnceAndRecovers) {
    settle_at(50);
    auto seen = changes_.size();
    harness_->fail();
    ASSERT_TRUE(run_until([&] { return !harness_->power().state(); }));
    run_for(100ms);
    ASSERT_EQ(changes_.size(), seen + 1) << "a lasting failure is reported once";
    EXPECT_FALSE(changes_.back());
    settle_at(49);
    EXPECT_TRUE(changes_.back());
}

TEST_P(PowerBackend, AFailedReadingKeepsTheLowBatteryLatch) {
    settle_at(10);
    harness_->fail();
    ASSERT_TRUE(run_until([&] { return !harness_->power().state(); }));
    settle_at(18);
    EXPECT_TRUE(harness_->power().state()->low_battery);
}

INSTANTIATE_TEST_SUITE_P(Backends, PowerBackend,
                         ::testing::Values(Backend::simulated, Backend::sysfs),
                         [](const ::testing::TestParamInfo<Backend>& param) {
                             return param.param == Backend::simulated ? "simulated" : "sysfs";
                         });

TEST(LowBatteryLatch, FollowsThresholdAndHysteresis) {
    LowBatteryLatch latch({20, 10});
    EXPECT_FALSE(latch.update(50));
    EXPECT_TRUE(latch.update(20));
    EXPECT_TRUE(latch.update(29));
    EXPECT_FALSE(latch.update(30));
    EXPECT_FALSE(latch.update(21));
    EXPECT_TRUE(latch.update(0));
    EXPECT_FALSE(latch.update(std::nullopt)) << "no battery is never low";
}

TEST(LowBatteryConfig, RejectsValuesOutOfRange) {
    EXPECT_TRUE(validate(LowBatteryConfig{}));
    EXPECT_FALSE(validate(LowBatteryConfig{-1, 5}));
    EXPECT_FALSE(validate(LowBatteryConfig{101, 5}));
    EXPECT_FALSE(validate(LowBatteryConfig{15, 60}));
    boost::asio::io_context io;
    auto power = SimulatedPower::open(io, {15, -1});
    ASSERT_FALSE(power);
    EXPECT_EQ(power.error().code(), Errc::invalid_argument);
}

TEST(SimulatedPower, StartsAsADeviceWithoutABattery) {
    boost::asio::io_context io;
    auto power = SimulatedPower::open(io).value();
    auto state = power->state();
    ASSERT_TRUE(state);
    EXPECT_EQ(state->battery_percent, std::nullopt);
    EXPECT_TRUE(state->external_power);
    EXPECT_EQ(charge_state_name(state->charge), "unknown");
}

}  // namespace
}  // namespace fieldlog::power
