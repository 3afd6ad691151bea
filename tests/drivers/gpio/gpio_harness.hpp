// Runs one test body over both GPIO backends. The simulated one always runs; the libgpiod one
// needs a kernel gpio-sim chip whose inputs the test can drive, and skips with the reason when
// the machine has none.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "fieldlog/gpio/gpio.hpp"

namespace fieldlog::gpio::testing {

enum class Backend { simulated, libgpiod };

class GpioHarness {
public:
    virtual ~GpioHarness() = default;
    virtual Gpio& gpio() = 0;
    // How tests name the chip, by name and by label.
    virtual std::string chip() const = 0;
    virtual std::string chip_label() const = 0;
    virtual unsigned chip_lines() const = 0;
    // Sets the electrical level seen by an input.
    virtual void drive(unsigned offset, bool high) = 0;
    // The electrical level an output drives; nothing when unknown.
    virtual std::optional<bool> output(unsigned offset) const = 0;
};

// Empty when the backend can run here, else why not.
std::string unavailable_reason(Backend backend);
std::unique_ptr<GpioHarness> make_harness(Backend backend, boost::asio::io_context& io);
std::string backend_name(const ::testing::TestParamInfo<Backend>& info);
void PrintTo(Backend backend, std::ostream* out);

// Runs the loop until done() holds or the deadline passes; returns done().
bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds deadline = std::chrono::seconds(5));
// Runs the loop for a short while, to show that nothing more happens.
void run_for(boost::asio::io_context& io, std::chrono::milliseconds time);

struct Transition {
    bool high;
    std::chrono::steady_clock::time_point at;
};
// Samples an output while running the loop, recording each change, until done(changes) holds
// or the deadline passes.
std::vector<Transition> record_output(
    boost::asio::io_context& io, const GpioHarness& harness, unsigned offset,
    const std::function<bool(const std::vector<Transition>&)>& done,
    std::chrono::milliseconds deadline = std::chrono::seconds(5));

class GpioTest : public ::testing::TestWithParam<Backend> {
protected:
    void SetUp() override;
    LineSpec line(unsigned offset, bool active_low = false) const;

    boost::asio::io_context io_;
    std::unique_ptr<GpioHarness> harness_;
};

}  // namespace fieldlog::gpio::testing
