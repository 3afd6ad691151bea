#include "fieldlog/gpio/dock_detect.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fieldlog/gpio/simulated_gpio.hpp"
#include "gpio_harness.hpp"

namespace fieldlog::gpio::testing {
namespace {

using namespace std::chrono_literals;

constexpr unsigned kDock = 5;

class DockDetectOn : public GpioTest {
protected:
    void open(bool docked_at_start) {
        harness_->drive(kDock, docked_at_start);
        auto dock = DockDetect::open(
            io_, harness_->gpio(), line(kDock), {40ms},
            {[this] { events_.push_back("docked"); }, [this] { events_.push_back("undocked"); },
             [this](const Error& e) { events_.push_back(e.message()); }});
        ASSERT_TRUE(dock) << dock.error().to_string();
        dock_ = std::move(*dock);
    }
    // Pogo pins chatter as the device settles: a burst of edges ending at the given level.
    void chatter_to(bool docked) {
        for (int i = 0; i < 4; ++i) {
            harness_->drive(kDock, !docked);
            harness_->drive(kDock, docked);
        }
    }

    std::unique_ptr<DockDetect> dock_;
    std::vector<std::string> events_;
};

TEST_P(DockDetectOn, ReadsTheStateAtStartWithoutACallback) {
    open(true);
    EXPECT_TRUE(dock_->docked());
    run_for(io_, 60ms);
    EXPECT_TRUE(events_.empty());
}

TEST_P(DockDetectOn, ReportsDockAndUndockOnceEachThroughChatter) {
    open(false);
    chatter_to(true);
    ASSERT_TRUE(run_until(io_, [&] { return dock_->docked(); }));
    chatter_to(false);
    ASSERT_TRUE(run_until(io_, [&] { return !dock_->docked(); }));
    run_for(io_, 80ms);
    EXPECT_EQ(events_, (std::vector<std::string>{"docked", "undocked"}));
}

TEST_P(DockDetectOn, IgnoresAGlitchShorterThanTheDebounceTime) {
    open(true);
    harness_->drive(kDock, false);
    harness_->drive(kDock, true);
    run_for(io_, 100ms);
    EXPECT_TRUE(dock_->docked());
    EXPECT_TRUE(events_.empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, DockDetectOn,
                         ::testing::Values(Backend::simulated, Backend::libgpiod), backend_name);

TEST(DockDetect, RejectsDebounceOutOfRange) {
    EXPECT_FALSE(validate(DockConfig{0ms}));
    EXPECT_FALSE(validate(DockConfig{20000ms}));
    EXPECT_TRUE(validate(DockConfig{}));
}

TEST(DockDetect, OpenFailsWhenTheLineIsTaken) {
    boost::asio::io_context io;
    SimulatedGpio gpio(io);
    auto held = gpio.request_output({"gpiochip0", 1, false, Bias::as_is}, false);
    ASSERT_TRUE(held);
    auto dock = DockDetect::open(io, gpio, {"gpiochip0", 1, false, Bias::as_is}, {}, {});
    ASSERT_FALSE(dock);
    EXPECT_EQ(dock.error().code(), Errc::conflict);
}

}  // namespace
}  // namespace fieldlog::gpio::testing
