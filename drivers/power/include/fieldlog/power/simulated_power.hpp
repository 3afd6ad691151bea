// Power in memory, for tests and for running the daemon on a desk.
#pragma once

#include <memory>

#include "fieldlog/power/power.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::power {

class SimulatedPower final : public Power {
public:
    // Starts as a device on external power without a battery. Fails only on a bad config.
    [[nodiscard]] static Result<std::unique_ptr<SimulatedPower>> open(
        boost::asio::io_context& io, const LowBatteryConfig& config = {});
    ~SimulatedPower() override;
    SimulatedPower(const SimulatedPower&) = delete;
    SimulatedPower& operator=(const SimulatedPower&) = delete;

    // What the hardware reports; low_battery is worked out here as in the real backend. The
    // change reaches handlers through the event loop.
    void set(PowerState reading);
    // A failed reading, as when the fuel gauge stops answering.
    void set_error(Error error);

    [[nodiscard]] Result<PowerState> state() const override;
    void on_change(ChangeHandler handler) override;

private:
    struct Impl;
    explicit SimulatedPower(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::power
