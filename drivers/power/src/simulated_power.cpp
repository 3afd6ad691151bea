#include "fieldlog/power/simulated_power.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <utility>

#include "power_tracker.hpp"

namespace fieldlog::power {

struct SimulatedPower::Impl : std::enable_shared_from_this<SimulatedPower::Impl> {
    Impl(boost::asio::io_context& io_context, const LowBatteryConfig& config)
        : io(io_context), tracker(config, no_battery()) {}

    static PowerState no_battery() {
        PowerState state;
        state.external_power = true;
        return state;
    }

    void post(Result<PowerState> reading) {
        boost::asio::post(io, [weak = weak_from_this(), reading = std::move(reading)]() mutable {
            auto self = weak.lock();
            if (!self) {
                return;
            }
            auto changed = self->tracker.update(std::move(reading));
            if (changed && self->handler) {
                auto call = self->handler;  // may be replaced from inside itself
                call(*changed);
            }
        });
    }

    boost::asio::io_context& io;
    PowerTracker tracker;
    ChangeHandler handler;
};

Result<std::unique_ptr<SimulatedPower>> SimulatedPower::open(boost::asio::io_context& io,
                                                             const LowBatteryConfig& config) {
    if (auto valid = validate(config); !valid) {
        return valid.error();
    }
    return std::unique_ptr<SimulatedPower>(new SimulatedPower(std::make_shared<Impl>(io, config)));
}

SimulatedPower::SimulatedPower(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

SimulatedPower::~SimulatedPower() = default;

void SimulatedPower::set(PowerState reading) { impl_->post(std::move(reading)); }

void SimulatedPower::set_error(Error error) { impl_->post(std::move(error)); }

Result<PowerState> SimulatedPower::state() const { return impl_->tracker.current(); }

void SimulatedPower::on_change(ChangeHandler handler) { impl_->handler = std::move(handler); }

}  // namespace fieldlog::power
