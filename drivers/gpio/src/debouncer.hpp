// Turns the raw edges of an input into stable levels: a level counts once it has held for the
// debounce time, so contact bounce within that time is never seen.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

#include "fieldlog/gpio/gpio.hpp"

namespace fieldlog::gpio {

class Debouncer {
public:
    // owner guards the timer's handler: once it has expired the handler returns untouched.
    Debouncer(boost::asio::io_context& io, std::chrono::milliseconds debounce, bool initial,
              std::function<void(bool stable)> on_change);

    void set_owner(std::weak_ptr<void> owner) { owner_ = std::move(owner); }
    // line is read when the level settles, so the decision rests on the line as it is then.
    void set_line(const InputLine* line) { line_ = line; }

    void edge(bool level);
    void stop();
    bool stable() const { return stable_; }

private:
    void settle();

    boost::asio::steady_timer timer_;
    std::chrono::milliseconds debounce_;
    bool stable_;
    bool last_edge_;
    std::uint64_t generation_ = 0;
    std::function<void(bool)> on_change_;
    std::weak_ptr<void> owner_;
    const InputLine* line_ = nullptr;
};

}  // namespace fieldlog::gpio
