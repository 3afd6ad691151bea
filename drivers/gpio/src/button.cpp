#include "fieldlog/gpio/button.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <optional>
#include <utility>

#include "debouncer.hpp"

namespace fieldlog::gpio {

Status validate(const ButtonConfig& config) {
    using std::chrono::milliseconds;
    if (config.debounce < milliseconds(1) || config.debounce > milliseconds(1000)) {
        return Error(Errc::invalid_argument, "button debounce must be from 1 ms to 1000 ms, not " +
                                                 std::to_string(config.debounce.count()) + " ms");
    }
    if (config.long_press <= config.debounce || config.long_press > milliseconds(60000)) {
        return Error(Errc::invalid_argument,
                     "button long-press time must exceed the debounce time and be at most "
                     "60000 ms, not " +
                         std::to_string(config.long_press.count()) + " ms");
    }
    return {};
}

struct Button::Impl : std::enable_shared_from_this<Button::Impl> {
    Impl(boost::asio::io_context& io, const ButtonConfig& button_config,
         ButtonHandlers button_handlers)
        : config(button_config), handlers(std::move(button_handlers)), long_timer(io) {}

    void on_edge(const Result<bool>& level) {
        if (stopped || !debouncer) {
            return;
        }
        if (!level) {
            stop();
            if (handlers.on_error) {
                handlers.on_error(level.error());
            }
            return;
        }
        debouncer->edge(*level);
    }

    void on_stable(bool pressed) {
        if (pressed) {
            press_active = true;
            long_fired = false;
            auto generation = ++long_generation;
            long_timer.expires_after(config.long_press);
            long_timer.async_wait(
                [weak = weak_from_this(), generation](const boost::system::error_code&) {
                    auto self = weak.lock();
                    if (self && !self->stopped && generation == self->long_generation) {
                        self->on_long_press_time();
                    }
                });
            return;
        }
        ++long_generation;
        long_timer.cancel();
        // A press that began before the button was opened has no known start: ignore it.
        bool was_short = press_active && !long_fired;
        press_active = false;
        if (was_short && handlers.on_short_press) {
            handlers.on_short_press();
        }
    }

    void on_long_press_time() {
        if (!press_active || long_fired) {
            return;
        }
        long_fired = true;
        if (handlers.on_long_press) {
            handlers.on_long_press();
        }
    }

    void stop() {
        stopped = true;
        if (debouncer) {
            debouncer->stop();
        }
        ++long_generation;
        long_timer.cancel();
    }

    ButtonConfig config;
    ButtonHandlers handlers;
    boost::asio::steady_timer long_timer;
    std::optional<Debouncer> debouncer;
    std::unique_ptr<InputLine> line;
    std::uint64_t long_generation = 0;
    bool press_active = false;
    bool long_fired = false;
    bool stopped = false;
};

Result<std::unique_ptr<Button>> Button::open(boost::asio::io_context& io, Gpio& gpio,
                                             const LineSpec& line, const ButtonConfig& config,
                                             ButtonHandlers handlers) {
    if (auto valid = validate(config); !valid) {
        return valid.error();
    }
    auto impl = std::make_shared<Impl>(io, config, std::move(handlers));
    auto input =
        gpio.request_input(line, [weak = std::weak_ptr<Impl>(impl)](const Result<bool>& level) {
            if (auto self = weak.lock()) {
                self->on_edge(level);
            }
        });
    if (!input) {
        return input.error();
    }
    impl->line = std::move(*input);
    auto initial = impl->line->read();
    if (!initial) {
        return initial.error();
    }
    impl->debouncer.emplace(io, config.debounce, *initial, [raw = impl.get()](bool pressed) {
        // Runs only from the debouncer's timer, which holds the Impl alive meanwhile.
        raw->on_stable(pressed);
    });
    impl->debouncer->set_owner(impl);
    impl->debouncer->set_line(impl->line.get());
    return std::unique_ptr<Button>(new Button(std::move(impl)));
}

Button::Button(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Button::~Button() {
    impl_->stop();
    impl_->line.reset();
}

bool Button::pressed() const { return impl_->debouncer->stable(); }

}  // namespace fieldlog::gpio
