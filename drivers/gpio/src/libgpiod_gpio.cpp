#include "fieldlog/gpio/libgpiod_gpio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <gpiod.hpp>
#include <stdexcept>
#include <system_error>
#include <utility>
#include <vector>

namespace fieldlog::gpio {
namespace {

// Bounds the events read in one wake-up, so a line stuck oscillating cannot starve the loop;
// whatever is left is read on the next turn.
constexpr int kMaxReadsPerWake = 16;

Error to_error(const std::exception& e, const LineSpec& spec, std::string_view action) {
    std::string message = std::string(action) + " GPIO line " + describe(spec) + ": " + e.what();
    if (const auto* system = dynamic_cast<const std::system_error*>(&e)) {
        switch (system->code().value()) {
            case ENOENT:
            case ENODEV:
                return Error(Errc::not_found, std::move(message));
            case EBUSY:
                return Error(Errc::conflict, std::move(message));
            case EACCES:
            case EPERM:
                return Error(Errc::permission, std::move(message));
            case EINVAL:
                return Error(Errc::invalid_argument, std::move(message));
            default:
                return Error(Errc::io, std::move(message));
        }
    }
    if (dynamic_cast<const std::out_of_range*>(&e) != nullptr ||
        dynamic_cast<const std::invalid_argument*>(&e) != nullptr) {
        return Error(Errc::invalid_argument, std::move(message));
    }
    return Error(Errc::io, std::move(message));
}

std::bitset<32> request_flags(const LineSpec& spec) {
    std::bitset<32> flags;
    if (spec.active_low) {
        flags |= gpiod::line_request::FLAG_ACTIVE_LOW;
    }
    switch (spec.bias) {
        case Bias::as_is:
            break;
        case Bias::disabled:
            flags |= gpiod::line_request::FLAG_BIAS_DISABLE;
            break;
        case Bias::pull_up:
            flags |= gpiod::line_request::FLAG_BIAS_PULL_UP;
            break;
        case Bias::pull_down:
            flags |= gpiod::line_request::FLAG_BIAS_PULL_DOWN;
            break;
    }
    return flags;
}

// OPEN_LOOKUP tries the string as a path, a name, a label and a number, in that order.
gpiod::line find_line(const LineSpec& spec) {
    gpiod::chip chip(spec.chip, gpiod::chip::OPEN_LOOKUP);
    return chip.get_line(spec.offset);
}

class LibgpiodInput final : public InputLine {
public:
    // The state the loop's handlers reach through a weak_ptr: once the line is destroyed, a
    // completion still queued finds nothing and returns.
    struct Impl : std::enable_shared_from_this<Impl> {
        Impl(boost::asio::io_context& io, LineSpec line_spec, gpiod::line gpio_line,
             EdgeHandler handler)
            : spec(std::move(line_spec)),
              line(std::move(gpio_line)),
              events(io),
              on_edge(std::move(handler)) {}
        ~Impl() {
            if (events.is_open()) {
                events.release();
            }
        }
        Impl(const Impl&) = delete;
        Impl& operator=(const Impl&) = delete;

        void arm() {
            events.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                              [weak = weak_from_this()](const boost::system::error_code& ec) {
                                  if (auto self = weak.lock()) {
                                      self->on_readable(ec);
                                  }
                              });
        }

        void on_readable(const boost::system::error_code& ec) {
            if (stopped) {
                return;
            }
            if (ec) {
                fail(Error(Errc::io, "waiting for events on GPIO line " + describe(spec) + ": " +
                                         ec.message()));
                return;
            }
            // Asio registers the fd edge-triggered, so everything pending is read now: a level
            // left unread would not wake the loop again until the next edge.
            std::vector<bool> levels;
            try {
                for (int i = 0;
                     i < kMaxReadsPerWake && line.event_wait(std::chrono::nanoseconds(0)); ++i) {
                    for (const auto& event : line.event_read_multiple()) {
                        // With both edges requested the kernel names the edge by the logical level
                        // after it, so on an active-low line a rising edge means "became active".
                        levels.push_back(event.event_type == gpiod::line_event::RISING_EDGE);
                    }
                }
            } catch (const std::exception& e) {
                fail(to_error(e, spec, "cannot read events of"));
                return;
            }
            arm();
            for (bool level : levels) {
                if (stopped) {
                    return;
                }
                if (on_edge) {
                    on_edge(level);
                }
            }
        }

        void fail(Error error) {
            stopped = true;
            if (on_edge) {
                on_edge(std::move(error));
            }
        }

        void stop() {
            stopped = true;
            // The fd belongs to libgpiod: release it rather than let Asio close it.
            boost::system::error_code ignored;
            events.cancel(ignored);
            if (events.is_open()) {
                events.release();
            }
            try {
                line.release();
            } catch (const std::exception&) {
                // Nothing to do: the kernel frees the line when the fd closes.
            }
        }

        LineSpec spec;
        gpiod::line line;
        boost::asio::posix::stream_descriptor events;
        EdgeHandler on_edge;
        bool stopped = false;
    };

    explicit LibgpiodInput(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
    ~LibgpiodInput() override { impl_->stop(); }
    LibgpiodInput(const LibgpiodInput&) = delete;
    LibgpiodInput& operator=(const LibgpiodInput&) = delete;

    Result<bool> read() const override {
        try {
            return impl_->line.get_value() != 0;
        } catch (const std::exception& e) {
            return to_error(e, impl_->spec, "cannot read");
        }
    }
    const LineSpec& spec() const override { return impl_->spec; }

private:
    std::shared_ptr<Impl> impl_;
};

class LibgpiodOutput final : public OutputLine {
public:
    LibgpiodOutput(LineSpec spec, gpiod::line line)
        : spec_(std::move(spec)), line_(std::move(line)) {}
    ~LibgpiodOutput() override {
        try {
            line_.release();
        } catch (const std::exception&) {
            // Nothing to do: the kernel frees the line when the fd closes.
        }
    }
    LibgpiodOutput(const LibgpiodOutput&) = delete;
    LibgpiodOutput& operator=(const LibgpiodOutput&) = delete;

    Status write(bool active) override {
        try {
            line_.set_value(active ? 1 : 0);
            return {};
        } catch (const std::exception& e) {
            return to_error(e, spec_, "cannot write");
        }
    }
    const LineSpec& spec() const override { return spec_; }

private:
    LineSpec spec_;
    gpiod::line line_;
};

}  // namespace

LibgpiodGpio::LibgpiodGpio(boost::asio::io_context& io, std::string consumer)
    : io_(io), consumer_(std::move(consumer)) {}

Result<std::unique_ptr<InputLine>> LibgpiodGpio::request_input(const LineSpec& spec,
                                                               EdgeHandler on_edge) {
    std::shared_ptr<LibgpiodInput::Impl> impl;
    try {
        gpiod::line line = find_line(spec);
        line.request({consumer_, gpiod::line_request::EVENT_BOTH_EDGES, request_flags(spec)});
        impl = std::make_shared<LibgpiodInput::Impl>(io_, spec, line, std::move(on_edge));
        int fd = impl->line.event_get_fd();
        boost::system::error_code ec;
        impl->events.assign(fd, ec);
        if (ec) {
            impl->line.release();
            return Error(Errc::io, "cannot watch events of GPIO line " + describe(spec) + ": " +
                                       ec.message());
        }
    } catch (const std::exception& e) {
        return to_error(e, spec, "cannot request");
    }
    impl->arm();
    return std::unique_ptr<InputLine>(std::make_unique<LibgpiodInput>(std::move(impl)));
}

Result<std::unique_ptr<OutputLine>> LibgpiodGpio::request_output(const LineSpec& spec,
                                                                 bool initial_active) {
    try {
        gpiod::line line = find_line(spec);
        line.request({consumer_, gpiod::line_request::DIRECTION_OUTPUT, request_flags(spec)},
                     initial_active ? 1 : 0);
        return std::unique_ptr<OutputLine>(std::make_unique<LibgpiodOutput>(spec, std::move(line)));
    } catch (const std::exception& e) {
        return to_error(e, spec, "cannot request");
    }
}

bool have_gpio_chips() {
    std::error_code ec;
    for (std::filesystem::directory_iterator it("/dev", ec), end; !ec && it != end;
         it.increment(ec)) {
        if (it->path().filename().string().starts_with("gpiochip")) {
            return true;
        }
    }
    return false;
}

}  // namespace fieldlog::gpio
