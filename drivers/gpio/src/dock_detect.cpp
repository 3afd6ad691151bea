#include "fieldlog/gpio/dock_detect.hpp"

#include <boost/asio/io_context.hpp>
#include <optional>
#include <utility>

#include "debouncer.hpp"

namespace fieldlog::gpio {

Status validate(const DockConfig& config) {
    using std::chrono::milliseconds;
    if (config.debounce < milliseconds(1) || config.debounce > milliseconds(10000)) {
        return Error(Errc::invalid_argument, "dock debounce must be from 1 ms to 10000 ms, not " +
                                                 std::to_string(config.debounce.count()) + " ms");
    }
    return {};
}

struct DockDetect::Impl {
    explicit Impl(DockHandlers dock_handlers) : handlers(std::move(dock_handlers)) {}

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

    void on_stable(bool docked) {
        const auto& handler = docked ? handlers.on_docked : handlers.on_undocked;
        if (handler) {
            handler();
        }
    }

    void stop() {
        stopped = true;
        if (debouncer) {
            debouncer->stop();
        }
    }

    DockHandlers handlers;
    std::optional<Debouncer> debouncer;
    std::unique_ptr<InputLine> line;
    bool stopped = false;
};

Result<std::unique_ptr<DockDetect>> DockDetect::open(boost::asio::io_context& io, Gpio& gpio,
                                                     const LineSpec& line, const DockConfig& config,
                                                     DockHandlers handlers) {
    if (auto valid = validate(config); !valid) {
        return valid.error();
    }
    auto impl = std::make_shared<Impl>(std::move(handlers));
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
    impl->debouncer.emplace(io, config.debounce, *initial, [raw = impl.get()](bool docked) {
        // Runs only from the debouncer's timer, which holds the Impl alive meanwhile.
        raw->on_stable(docked);
    });
    impl->debouncer->set_owner(impl);
    impl->debouncer->set_line(impl->line.get());
    return std::unique_ptr<DockDetect>(new DockDetect(std::move(impl)));
}

DockDetect::DockDetect(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

DockDetect::~DockDetect() {
    impl_->stop();
    impl_->line.reset();
}

bool DockDetect::docked() const { return impl_->debouncer->stable(); }

}  // namespace fieldlog::gpio
