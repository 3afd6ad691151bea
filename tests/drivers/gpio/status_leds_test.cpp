#include "fieldlog/gpio/status_leds.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "fieldlog/gpio/simulated_gpio.hpp"

namespace fieldlog::gpio {
namespace {

TEST(StatusPatterns, IdleDeviceShowsNothing) {
    auto patterns = status_patterns({}, true);
    EXPECT_EQ(patterns.status, LedPattern::off);
    EXPECT_EQ(patterns.battery, LedPattern::off);
}

TEST(StatusPatterns, MostUrgentConditionWinsTheStatusLed) {
    EXPECT_EQ(status_patterns({true, false, false, false}, false).status, LedPattern::on);
    EXPECT_EQ(status_patterns({true, true, false, false}, false).status, LedPattern::slow_blink);
    EXPECT_EQ(status_patterns({true, true, false, true}, false).status, LedPattern::double_flash);
    EXPECT_EQ(status_patterns({true, true, true, true}, false).status, LedPattern::fast_blink);
}

TEST(StatusPatterns, LowBatteryGoesToTheBatteryLedWhenThereIsOne) {
    auto patterns = status_patterns({true, false, false, true}, true);
    EXPECT_EQ(patterns.status, LedPattern::on);
    EXPECT_EQ(patterns.battery, LedPattern::double_flash);
}

TEST(StatusLeds, DrivesBothLeds) {
    boost::asio::io_context io;
    SimulatedGpio gpio(io);
    auto status = Led::open(io, gpio, {"gpiochip0", 1, false, Bias::as_is});
    auto battery = Led::open(io, gpio, {"gpiochip0", 2, false, Bias::as_is});
    ASSERT_TRUE(status && battery);
    StatusLeds leds(**status, battery->get());
    leds.show({true, false, false, true});
    EXPECT_EQ((*status)->pattern(), LedPattern::on);
    EXPECT_EQ((*battery)->pattern(), LedPattern::double_flash);
    EXPECT_EQ(gpio.output_level("gpiochip0", 1), true);
    EXPECT_EQ(gpio.output_level("gpiochip0", 2), true);
    leds.show({});
    EXPECT_EQ(gpio.output_level("gpiochip0", 1), false);
    EXPECT_EQ(gpio.output_level("gpiochip0", 2), false);
}

}  // namespace
}  // namespace fieldlog::gpio
