#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <vector>

#include "fieldlog/gpio/libgpiod_gpio.hpp"
#include "fieldlog/gpio/simulated_gpio.hpp"
#include "gpio_harness.hpp"

namespace fieldlog::gpio::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using GpioLines = GpioTest;

TEST_P(GpioLines, ReadsTheInputLevel) {
    harness_->drive(1, true);
    auto input = harness_->gpio().request_input(line(1), {});
    ASSERT_TRUE(input) << input.error().to_string();
    EXPECT_EQ((*input)->read().value(), true);
    harness_->drive(1, false);
    EXPECT_TRUE(run_until(io_, [&] { return !(*input)->read().value(); }));
}

TEST_P(GpioLines, ActiveLowInputReadsLowAsActive) {
    harness_->drive(2, false);
    auto input = harness_->gpio().request_input(line(2, true), {});
    ASSERT_TRUE(input) << input.error().to_string();
    EXPECT_EQ((*input)->read().value(), true);
}

TEST_P(GpioLines, ReportsEachEdgeOnTheLoop) {
    harness_->drive(3, false);
    std::vector<bool> levels;
    auto input = harness_->gpio().request_input(line(3), [&](const Result<bool>& level) {
        ASSERT_TRUE(level) << level.error().to_string();
        levels.push_back(*level);
    });
    ASSERT_TRUE(input) << input.error().to_string();
    harness_->drive(3, true);
    EXPECT_TRUE(levels.empty()) << "edges arrive through the loop, not inside drive()";
    ASSERT_TRUE(run_until(io_, [&] { return levels.size() == 1; }));
    harness_->drive(3, false);
    ASSERT_TRUE(run_until(io_, [&] { return levels.size() == 2; }));
    EXPECT_THAT(levels, ElementsAre(true, false));
}

TEST_P(GpioLines, ActiveLowEdgesAreLogical) {
    harness_->drive(4, true);
    std::vector<bool> levels;
    auto input = harness_->gpio().request_input(line(4, true), [&](const Result<bool>& level) {
        ASSERT_TRUE(level) << level.error().to_string();
        levels.push_back(*level);
    });
    ASSERT_TRUE(input) << input.error().to_string();
    harness_->drive(4, false);
    ASSERT_TRUE(run_until(io_, [&] { return levels.size() == 1; }));
    EXPECT_THAT(levels, ElementsAre(true));
}

TEST_P(GpioLines, NoEdgeReachesAHandlerAfterItsLineIsGone) {
    harness_->drive(5, false);
    int calls = 0;
    auto input = harness_->gpio().request_input(line(5), [&](const Result<bool>&) { ++calls; });
    ASSERT_TRUE(input) << input.error().to_string();
    harness_->drive(5, true);
    input->reset();
    run_for(io_, std::chrono::milliseconds(20));
    EXPECT_EQ(calls, 0);
}

TEST_P(GpioLines, DrivesAnOutput) {
    auto output = harness_->gpio().request_output(line(6), true);
    ASSERT_TRUE(output) << output.error().to_string();
    EXPECT_EQ(harness_->output(6), true);
    ASSERT_TRUE((*output)->write(false));
    EXPECT_EQ(harness_->output(6), false);
}

TEST_P(GpioLines, ActiveLowOutputDrivesLowWhenActive) {
    auto output = harness_->gpio().request_output(line(7, true), false);
    ASSERT_TRUE(output) << output.error().to_string();
    EXPECT_EQ(harness_->output(7), true);
    ASSERT_TRUE((*output)->write(true));
    EXPECT_EQ(harness_->output(7), false);
}

TEST_P(GpioLines, FindsTheChipByLabel) {
    LineSpec by_label{harness_->chip_label(), 1, false, Bias::as_is};
    auto output = harness_->gpio().request_output(by_label, true);
    ASSERT_TRUE(output) << output.error().to_string();
    EXPECT_EQ(harness_->output(1), true);
}

TEST_P(GpioLines, RefusesALineAlreadyInUse) {
    auto first = harness_->gpio().request_output(line(1), false);
    ASSERT_TRUE(first) << first.error().to_string();
    auto second = harness_->gpio().request_input(line(1), {});
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code(), Errc::conflict) << second.error().to_string();
    first->reset();
    EXPECT_TRUE(harness_->gpio().request_input(line(1), {})) << "a released line is free again";
}

TEST_P(GpioLines, RefusesAnUnknownChip) {
    auto input = harness_->gpio().request_input({"no-such-chip", 0, false, Bias::as_is}, {});
    ASSERT_FALSE(input);
    EXPECT_EQ(input.error().code(), Errc::not_found) << input.error().to_string();
    EXPECT_THAT(input.error().message(), HasSubstr("no-such-chip:0"));
}

TEST_P(GpioLines, RefusesAnOffsetBeyondTheChip) {
    auto output = harness_->gpio().request_output(line(harness_->chip_lines()), false);
    ASSERT_FALSE(output);
    EXPECT_EQ(output.error().code(), Errc::invalid_argument) << output.error().to_string();
}

INSTANTIATE_TEST_SUITE_P(Backends, GpioLines,
                         ::testing::Values(Backend::simulated, Backend::libgpiod), backend_name);

// These run on any machine: with no GPIO chip the real backend must still fail cleanly.
TEST(LibgpiodGpio, ReportsAMissingChipAsAnError) {
    boost::asio::io_context io;
    LibgpiodGpio gpio(io);
    auto input = gpio.request_input({"fieldlog-no-such-chip", 3, false, Bias::pull_up}, {});
    ASSERT_FALSE(input);
    EXPECT_EQ(input.error().code(), Errc::not_found) << input.error().to_string();
    EXPECT_THAT(input.error().message(), HasSubstr("fieldlog-no-such-chip:3"));
    auto output = gpio.request_output({"/dev/gpiochip999", 0, true, Bias::as_is}, false);
    ASSERT_FALSE(output);
    EXPECT_EQ(output.error().code(), Errc::not_found) << output.error().to_string();
}

TEST(SimulatedGpio, ReportsAFaultToTheEdgeHandlerOnce) {
    boost::asio::io_context io;
    SimulatedGpio gpio(io);
    std::vector<Result<bool>> events;
    auto input = gpio.request_input({"gpiochip0", 0, false, Bias::as_is},
                                    [&](const Result<bool>& level) { events.push_back(level); });
    ASSERT_TRUE(input);
    gpio.set_fault("gpiochip0", 0, Error(Errc::io, "unplugged"));
    gpio.set_level("gpiochip0", 0, true);
    ASSERT_TRUE(run_until(io, [&] { return !events.empty(); }));
    run_for(io, std::chrono::milliseconds(10));
    ASSERT_EQ(events.size(), 1u);
    ASSERT_FALSE(events[0]);
    EXPECT_THAT(events[0].error().message(), HasSubstr("unplugged"));
    EXPECT_FALSE((*input)->read());
}

TEST(SimulatedGpio, FindsChipsByNamePathLabelAndNumber) {
    boost::asio::io_context io;
    SimulatedGpio gpio(io, {{"gpiochip0", "first", 4}, {"gpiochip1", "second", 4}});
    for (const char* chip : {"gpiochip1", "/dev/gpiochip1", "second", "1"}) {
        auto output = gpio.request_output({chip, 2, false, Bias::as_is}, true);
        ASSERT_TRUE(output) << chip << ": " << output.error().to_string();
        EXPECT_EQ(gpio.output_level("gpiochip1", 2), true) << chip;
        EXPECT_EQ(gpio.output_level("gpiochip0", 2), std::nullopt) << chip;
    }
}

}  // namespace
}  // namespace fieldlog::gpio::testing
