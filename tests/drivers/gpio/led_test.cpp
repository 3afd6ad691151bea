#include "fieldlog/gpio/led.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fieldlog/gpio/simulated_gpio.hpp"
#include "gpio_harness.hpp"

namespace fieldlog::gpio::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

constexpr unsigned kLed = 6;

// Short enough to watch several cycles quickly; the tests compare phases with each other, never
// with the clock, so a loaded machine stretches them without failing them.
constexpr LedTiming kFast{100ms, 40ms, 30ms, 400ms};

class LedOn : public GpioTest {
protected:
    void open(const LedTiming& timing = kFast) {
        auto led = Led::open(io_, harness_->gpio(), line(kLed), timing);
        ASSERT_TRUE(led) << led.error().to_string();
        led_ = std::move(*led);
    }
    std::optional<bool> lit() const { return harness_->output(kLed); }
    std::vector<Transition> record(std::size_t transitions) {
        return record_output(io_, *harness_, kLed, [&](const std::vector<Transition>& seen) {
            return seen.size() >= transitions;
        });
    }

    std::unique_ptr<Led> led_;
};

TEST_P(LedOn, StartsOffAndSteadyPatternsApplyAtOnce) {
    open();
    EXPECT_EQ(lit(), false);
    led_->set(LedPattern::on);
    EXPECT_EQ(lit(), true);
    EXPECT_EQ(led_->pattern(), LedPattern::on);
    led_->set(LedPattern::off);
    EXPECT_EQ(lit(), false);
}

TEST_P(LedOn, SteadyOnStaysOn) {
    open();
    led_->set(LedPattern::on);
    auto changes = record_output(
        io_, *harness_, kLed, [](const std::vector<Transition>& seen) { return !seen.empty(); },
        150ms);
    EXPECT_TRUE(changes.empty());
    EXPECT_EQ(lit(), true);
}

TEST_P(LedOn, SlowBlinkAlternates) {
    open();
    led_->set(LedPattern::slow_blink);
    EXPECT_EQ(lit(), true) << "a blink starts lit, so a change shows at once";
    auto changes = record(4);
    ASSERT_EQ(changes.size(), 4u);
    for (std::size_t i = 0; i < changes.size(); ++i) {
        EXPECT_EQ(changes[i].high, i % 2 == 1) << "change " << i;
    }
}

TEST_P(LedOn, FastBlinkIsFasterThanSlowBlink) {
    open();
    led_->set(LedPattern::slow_blink);
    auto slow = record(3);
    ASSERT_EQ(slow.size(), 3u);
    led_->set(LedPattern::fast_blink);
    auto fast = record(3);
    ASSERT_EQ(fast.size(), 3u);
    EXPECT_LT(fast[2].at - fast[0].at, slow[2].at - slow[0].at);
}

TEST_P(LedOn, DoubleFlashShowsTwoFlashesThenAPause) {
    open();
    led_->set(LedPattern::double_flash);
    // Lit at once, then: dark, lit (second flash), dark (pause), lit, dark, lit, dark.
    auto changes = record(7);
    ASSERT_EQ(changes.size(), 7u);
    for (std::size_t i = 0; i < changes.size(); ++i) {
        EXPECT_EQ(changes[i].high, i % 2 == 1) << "change " << i;
    }
    auto flash = changes[2].at - changes[1].at;
    auto pause = changes[3].at - changes[2].at;
    EXPECT_GT(pause, flash * 3) << "the pause after two flashes is much longer than a flash";
    auto within_cycle = changes[5].at - changes[3].at;
    auto across_cycles = changes[3].at - changes[1].at;
    EXPECT_LT(within_cycle, across_cycles);
}

TEST_P(LedOn, APatternChangeTakesEffectAtOnce) {
    open({20000ms, 200ms, 120ms, 2000ms});
    led_->set(LedPattern::slow_blink);
    EXPECT_EQ(lit(), true);
    led_->set(LedPattern::off);
    EXPECT_EQ(lit(), false);
    led_->set(LedPattern::fast_blink);
    EXPECT_EQ(lit(), true);
    auto changes = record(2);
    ASSERT_EQ(changes.size(), 2u) << "the old pattern's timer must not stall the new one";
}

TEST_P(LedOn, SettingTheSamePatternDoesNotRestartIt) {
    open({200ms, 40ms, 30ms, 400ms});
    led_->set(LedPattern::slow_blink);
    auto first = record(1);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_FALSE(first[0].high);
    led_->set(LedPattern::slow_blink);
    EXPECT_EQ(lit(), false) << "a restart would have lit the LED again";
}

TEST_P(LedOn, DestroyingTheLedTurnsItOff) {
    open();
    led_->set(LedPattern::on);
    led_.reset();
    run_for(io_, 20ms);
    if (GetParam() == Backend::simulated) {
        // A released line has no driver in the simulation, so read the level it was left at.
        EXPECT_EQ(lit(), std::nullopt);
    } else {
        EXPECT_EQ(lit(), false);
    }
}

INSTANTIATE_TEST_SUITE_P(Backends, LedOn, ::testing::Values(Backend::simulated, Backend::libgpiod),
                         backend_name);

TEST(Led, RejectsTimingOutOfRange) {
    EXPECT_TRUE(validate(LedTiming{}));
    EXPECT_FALSE(validate(LedTiming{0ms, 200ms, 120ms, 2000ms}));
    EXPECT_FALSE(validate(LedTiming{1000ms, 200ms, 120ms, 300ms}));
    EXPECT_FALSE(validate(LedTiming{1000ms, 200ms, 120ms, 70000ms}));
}

TEST(Led, ReportsWriteErrorsAndCarriesOn) {
    boost::asio::io_context io;
    SimulatedGpio gpio(io);
    std::vector<std::string> errors;
    auto led = Led::open(io, gpio, {"gpiochip0", 3, false, Bias::as_is}, kFast,
                         [&](const Error& e) { errors.push_back(e.message()); });
    ASSERT_TRUE(led);
    gpio.set_fault("gpiochip0", 3, Error(Errc::io, "line gone"));
    (*led)->set(LedPattern::fast_blink);
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_THAT(errors[0], HasSubstr("line gone"));
    gpio.set_fault("gpiochip0", 3, std::nullopt);
    auto before = gpio.output_changes("gpiochip0", 3);
    ASSERT_TRUE(run_until(io, [&] { return gpio.output_changes("gpiochip0", 3) > before; }));
}

TEST(Led, SteadyPatternsArmNoTimer) {
    boost::asio::io_context io;
    SimulatedGpio gpio(io);
    auto led = Led::open(io, gpio, {"gpiochip0", 3, false, Bias::as_is}, kFast);
    ASSERT_TRUE(led);
    (*led)->set(LedPattern::fast_blink);
    (*led)->set(LedPattern::on);
    // Only the cancelled blink step may still complete; after that nothing wakes the loop.
    EXPECT_LE(io.run_for(50ms), 1u);
    io.restart();
    EXPECT_EQ(io.run_for(50ms), 0u);
    EXPECT_EQ(gpio.output_level("gpiochip0", 3), true);
}

}  // namespace
}  // namespace fieldlog::gpio::testing
