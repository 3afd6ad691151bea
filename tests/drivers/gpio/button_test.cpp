#include "fieldlog/gpio/button.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fieldlog/gpio/simulated_gpio.hpp"
#include "gpio_harness.hpp"

namespace fieldlog::gpio::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// A typical wiring: a switch to ground with a pull-up, so the line reads low while pressed.
constexpr unsigned kButton = 2;

class ButtonOn : public GpioTest {
protected:
    void SetUp() override {
        GpioTest::SetUp();
        if (IsSkipped()) {
            return;
        }
        harness_->drive(kButton, true);  // released
    }

    void open(ButtonConfig config) {
        auto button = Button::open(io_, harness_->gpio(), line(kButton, true), config,
                                   {[this] { ++short_presses_; }, [this] { ++long_presses_; },
                                    [this](const Error& e) { errors_.push_back(e.to_string()); }});
        ASSERT_TRUE(button) << button.error().to_string();
        button_ = std::move(*button);
    }

    void press() { harness_->drive(kButton, false); }
    void release() { harness_->drive(kButton, true); }
    // Contact bounce: a burst of edges that ends pressed or released.
    void bounce_to(bool pressed) {
        const bool final_high = !pressed;
        for (int i = 0; i < 3; ++i) {
            harness_->drive(kButton, final_high);
            harness_->drive(kButton, !final_high);
        }
        harness_->drive(kButton, final_high);
    }

    std::unique_ptr<Button> button_;
    int short_presses_ = 0;
    int long_presses_ = 0;
    std::vector<std::string> errors_;
};

TEST_P(ButtonOn, ShortPressIsReportedOnRelease) {
    open({30ms, 5000ms});
    press();
    ASSERT_TRUE(run_until(io_, [&] { return button_->pressed(); }));
    EXPECT_EQ(short_presses_, 0);
    release();
    ASSERT_TRUE(run_until(io_, [&] { return short_presses_ == 1; }));
    EXPECT_EQ(long_presses_, 0);
    EXPECT_FALSE(button_->pressed());
}

TEST_P(ButtonOn, BouncesWithinTheDebounceTimeGiveOnePress) {
    open({40ms, 5000ms});
    bounce_to(true);
    ASSERT_TRUE(run_until(io_, [&] { return button_->pressed(); }));
    bounce_to(false);
    ASSERT_TRUE(run_until(io_, [&] { return short_presses_ >= 1; }));
    run_for(io_, 100ms);
    EXPECT_EQ(short_presses_, 1);
    EXPECT_EQ(long_presses_, 0);
}

TEST_P(ButtonOn, GlitchShorterThanTheDebounceTimeIsNoPress) {
    open({40ms, 5000ms});
    press();
    release();
    run_for(io_, 120ms);
    EXPECT_FALSE(button_->pressed());
    EXPECT_EQ(short_presses_, 0);
}

TEST_P(ButtonOn, LongPressFiresWhileHeldAndItsReleaseFiresNothing) {
    open({20ms, 150ms});
    press();
    ASSERT_TRUE(run_until(io_, [&] { return long_presses_ == 1; }));
    EXPECT_TRUE(button_->pressed());
    release();
    ASSERT_TRUE(run_until(io_, [&] { return !button_->pressed(); }));
    run_for(io_, 50ms);
    EXPECT_EQ(long_presses_, 1);
    EXPECT_EQ(short_presses_, 0);
}

TEST_P(ButtonOn, PressesAfterALongPressAreCountedAfresh) {
    open({20ms, 150ms});
    press();
    ASSERT_TRUE(run_until(io_, [&] { return long_presses_ == 1; }));
    release();
    ASSERT_TRUE(run_until(io_, [&] { return !button_->pressed(); }));
    press();
    ASSERT_TRUE(run_until(io_, [&] { return button_->pressed(); }));
    release();
    ASSERT_TRUE(run_until(io_, [&] { return short_presses_ == 1; }));
    EXPECT_EQ(long_presses_, 1);
}

TEST_P(ButtonOn, AButtonHeldAtStartCountsOnlyFromItsNextPress) {
    press();
    open({20ms, 5000ms});
    EXPECT_TRUE(button_->pressed());
    release();
    ASSERT_TRUE(run_until(io_, [&] { return !button_->pressed(); }));
    run_for(io_, 40ms);
    EXPECT_EQ(short_presses_, 0);
    press();
    ASSERT_TRUE(run_until(io_, [&] { return button_->pressed(); }));
    release();
    ASSERT_TRUE(run_until(io_, [&] { return short_presses_ == 1; }));
}

TEST_P(ButtonOn, HandlersMayDestroyTheButton) {
    auto button = Button::open(io_, harness_->gpio(), line(kButton, true), {20ms, 5000ms},
                               {[this] {
                                    ++short_presses_;
                                    button_.reset();
                                },
                                {},
                                {}});
    ASSERT_TRUE(button) << button.error().to_string();
    button_ = std::move(*button);
    press();
    ASSERT_TRUE(run_until(io_, [&] { return button_->pressed(); }));
    release();
    ASSERT_TRUE(run_until(io_, [&] { return short_presses_ == 1; }));
    EXPECT_EQ(button_, nullptr);
    press();
    run_for(io_, 40ms);
}

INSTANTIATE_TEST_SUITE_P(Backends, ButtonOn,
                         ::testing::Values(Backend::simulated, Backend::libgpiod), backend_name);

TEST(Button, RejectsConfigOutOfRange) {
    EXPECT_FALSE(validate(ButtonConfig{0ms, 1000ms}));
    EXPECT_FALSE(validate(ButtonConfig{50ms, 50ms}));
    EXPECT_FALSE(validate(ButtonConfig{50ms, 61000ms}));
    EXPECT_TRUE(validate(ButtonConfig{}));
    boost::asio::io_context io;
    SimulatedGpio gpio(io);
    auto button =
        Button::open(io, gpio, {"gpiochip0", 0, false, Bias::as_is}, {2000ms, 3000ms}, {});
    ASSERT_FALSE(button);
    EXPECT_EQ(button.error().code(), Errc::invalid_argument);
    EXPECT_THAT(button.error().message(), HasSubstr("2000 ms"));
}

TEST(Button, ReportsAFailingLine) {
    boost::asio::io_context io;
    SimulatedGpio gpio(io);
    std::vector<std::string> errors;
    auto button = Button::open(io, gpio, {"gpiochip0", 0, false, Bias::as_is}, {},
                               {{}, {}, [&](const Error& e) { errors.push_back(e.message()); }});
    ASSERT_TRUE(button);
    gpio.set_fault("gpiochip0", 0, Error(Errc::io, "cable cut"));
    ASSERT_TRUE(run_until(io, [&] { return !errors.empty(); }));
    EXPECT_THAT(errors[0], HasSubstr("cable cut"));
}

}  // namespace
}  // namespace fieldlog::gpio::testing
