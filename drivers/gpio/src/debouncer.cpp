#include "debouncer.hpp"

#include <utility>

namespace fieldlog::gpio {

Debouncer::Debouncer(boost::asio::io_context& io, std::chrono::milliseconds debounce, bool initial,
                     std::function<void(bool stable)> on_change)
    : timer_(io),
      debounce_(debounce),
      stable_(initial),
      last_edge_(initial),
      on_change_(std::move(on_change)) {}

void Debouncer::edge(bool level) {
    last_edge_ = level;
    // Each edge restarts the wait; a generation number retires a handler that was already
    // queued when the timer was re-armed.
    auto generation = ++generation_;
    timer_.expires_after(debounce_);
    timer_.async_wait([this, owner = owner_, generation](const boost::system::error_code&) {
        auto alive = owner.lock();
        if (!alive || generation != generation_) {
            return;
        }
        settle();
    });
}

void Debouncer::stop() {
    ++generation_;
    timer_.cancel();
}

void Debouncer::settle() {
    bool level = last_edge_;
    if (line_ != nullptr) {
        if (auto now = line_->read()) {
            level = *now;
        }
    }
    if (level != stable_) {
        stable_ = level;
        if (on_change_) {
            on_change_(level);
        }
    }
}

}  // namespace fieldlog::gpio
