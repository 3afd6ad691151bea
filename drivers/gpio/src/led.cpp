#include "fieldlog/gpio/led.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <utility>
#include <vector>

namespace fieldlog::gpio {
namespace {

struct Step {
    bool lit;
    std::chrono::milliseconds length;
};

// One cycle of the pattern; a single step is steady and needs no timer.
std::vector<Step> steps_of(LedPattern pattern, const LedTiming& t) {
    switch (pattern) {
        case LedPattern::off:
            return {{false, {}}};
        case LedPattern::on:
            return {{true, {}}};
        case LedPattern::slow_blink:
            return {{true, t.slow_blink / 2}, {false, t.slow_blink - t.slow_blink / 2}};
        case LedPattern::fast_blink:
            return {{true, t.fast_blink / 2}, {false, t.fast_blink - t.fast_blink / 2}};
        case LedPattern::double_flash:
            return {{true, t.flash},
                    {false, t.flash},
                    {true, t.flash},
                    {false, t.double_flash_period - 3 * t.flash}};
    }
    return {{false, {}}};
}

}  // namespace

std::string_view pattern_name(LedPattern pattern) {
    switch (pattern) {
        case LedPattern::off:
            return "off";
        case LedPattern::on:
            return "on";
        case LedPattern::slow_blink:
            return "slow_blink";
        case LedPattern::fast_blink:
            return "fast_blink";
        case LedPattern::double_flash:
            return "double_flash";
    }
    return "unknown";
}

Status validate(const LedTiming& timing) {
    using std::chrono::milliseconds;
    const std::pair<const char*, milliseconds> times[] = {
        {"slow blink", timing.slow_blink},
        {"fast blink", timing.fast_blink},
        {"flash", timing.flash},
        {"double flash period", timing.double_flash_period}};
    for (const auto& [name, time] : times) {
        // Blink halves are at least 1 ms each.
        if (time < milliseconds(2) || time > milliseconds(60000)) {
            return Error(Errc::invalid_argument, std::string("LED ") + name +
                                                     " time must be from 2 ms to 60000 ms, not " +
                                                     std::to_string(time.count()) + " ms");
        }
    }
    if (timing.double_flash_period <= 3 * timing.flash) {
        return Error(Errc::invalid_argument,
                     "LED double flash period must exceed three flash times (" +
                         std::to_string(3 * timing.flash.count()) + " ms), not " +
                         std::to_string(timing.double_flash_period.count()) + " ms");
    }
    return {};
}

struct Led::Impl : std::enable_shared_from_this<Led::Impl> {
    Impl(boost::asio::io_context& io, const LedTiming& led_timing,
         std::function<void(const Error&)> error_handler)
        : timing(led_timing), on_error(std::move(error_handler)), timer(io) {}

    void show(LedPattern new_pattern) {
        pattern = new_pattern;
        steps = steps_of(new_pattern, timing);
        step = 0;
        ++generation;
        timer.cancel();
        write(steps[0].lit);
        if (steps.size() > 1) {
            timer.expires_after(steps[0].length);
            arm();
        }
    }

    void arm() {
        timer.async_wait(
            [weak = weak_from_this(), generation = generation](const boost::system::error_code&) {
                auto self = weak.lock();
                if (self && generation == self->generation) {
                    self->next_step();
                }
            });
    }

    void next_step() {
        step = (step + 1) % steps.size();
        write(steps[step].lit);
        if (stopped) {
            return;  // on_error let go of the LED
        }
        // From the last deadline, not from now, so a late wake-up does not stretch the pattern.
        timer.expires_at(timer.expiry() + steps[step].length);
        arm();
    }

    void write(bool lit) {
        if (!line) {
            return;
        }
        if (auto written = line->write(lit); !written && on_error) {
            on_error(written.error());
        }
    }

    void stop() {
        stopped = true;
        ++generation;
        timer.cancel();
    }

    LedTiming timing;
    std::function<void(const Error&)> on_error;
    boost::asio::steady_timer timer;
    std::unique_ptr<OutputLine> line;
    LedPattern pattern = LedPattern::off;
    std::vector<Step> steps;
    std::size_t step = 0;
    std::uint64_t generation = 0;
    bool stopped = false;
};

Result<std::unique_ptr<Led>> Led::open(boost::asio::io_context& io, Gpio& gpio,
                                       const LineSpec& line, const LedTiming& timing,
                                       std::function<void(const Error&)> on_error) {
    if (auto valid = validate(timing); !valid) {
        return valid.error();
    }
    auto output = gpio.request_output(line, false);
    if (!output) {
        return output.error();
    }
    auto impl = std::make_shared<Impl>(io, timing, std::move(on_error));
    impl->line = std::move(*output);
    impl->steps = steps_of(LedPattern::off, timing);
    return std::unique_ptr<Led>(new Led(std::move(impl)));
}

Led::Led(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Led::~Led() {
    impl_->stop();
    // Best effort: the process may be going down because the line failed.
    (void)impl_->line->write(false);
}

void Led::set(LedPattern pattern) {
    if (pattern != impl_->pattern) {
        impl_->show(pattern);
    }
}

LedPattern Led::pattern() const { return impl_->pattern; }

}  // namespace fieldlog::gpio
