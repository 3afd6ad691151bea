// Power as Linux reports it under /sys/class/power_supply.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "fieldlog/files.hpp"
#include "fieldlog/power/power.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::power {

struct SysfsPowerConfig {
    // Tests point this at a tree of their own.
    std::filesystem::path root = "/sys/class/power_supply";
    // A reading on a timer as well as on uevents, for gauges that announce no level changes;
    // each wakes the device, so it is slow by default. Tests use a short one with a fixture tree,
    // which the kernel sends no uevents for.
    std::chrono::milliseconds poll_interval = std::chrono::minutes(5);
    LowBatteryConfig low_battery;
    // Read again on each power_supply uevent from the kernel (UeventWatch). Off in tests that
    // count the loop's wake-ups, since the host's own supplies could send one.
    bool watch_uevents = true;
};

// Checks poll_interval (1 ms to 1 hour) and low_battery.
[[nodiscard]] Status validate(const SysfsPowerConfig& config);

// Reads every supply under root once. Battery supplies (type "Battery") give the level from
// capacity, or from energy_now/energy_full or charge_now/charge_full where a fuel gauge offers
// no capacity, and the charge state from status; a battery whose present is 0 is skipped; with
// several batteries the level is their mean. Mains, USB* and Wireless supplies count as external
// power when online is 1. A missing root is not_found; a battery without a readable level gives
// invalid_argument (garbage) or not_found (no level file), naming the file. Smaller oddities
// (an unknown status, a supply without a type) become warnings. low_battery is left false.
[[nodiscard]] Result<PowerState> read_power_supplies(const std::filesystem::path& root);

class SysfsPower final : public Power {
public:
    // Reads once at once (a failed reading is a state, reported by state(), not a failure to
    // open), then on each power_supply uevent and every poll_interval. Fails only on a bad
    // config: without a uevent socket it polls alone, and uevent_error() says why.
    [[nodiscard]] static Result<std::unique_ptr<SysfsPower>> open(boost::asio::io_context& io,
                                                                  const SysfsPowerConfig& config);
    // The same with uevents read from a datagram socket of the caller's instead of the kernel's
    // (one end of a socketpair in tests); config.watch_uevents is ignored.
    [[nodiscard]] static Result<std::unique_ptr<SysfsPower>> open(boost::asio::io_context& io,
                                                                  const SysfsPowerConfig& config,
                                                                  UniqueFd uevent_socket);
    ~SysfsPower() override;
    SysfsPower(const SysfsPower&) = delete;
    SysfsPower& operator=(const SysfsPower&) = delete;

    [[nodiscard]] Result<PowerState> state() const override;
    void on_change(ChangeHandler handler) override;
    // Reads now, e.g. when the dock line says a charger came or went, rather than at the next
    // poll; the poll schedule is kept. Handlers run inside this call when the state changed.
    void refresh();
    // Why changes are not watched (the supply is then only polled); empty while they are, or
    // when watch_uevents is off.
    const std::string& uevent_error() const;

private:
    struct Impl;
    // uevents: nothing when not watched, else the socket or why there is none.
    [[nodiscard]] static Result<std::unique_ptr<SysfsPower>> start(
        boost::asio::io_context& io, const SysfsPowerConfig& config,
        std::optional<Result<UniqueFd>> uevents);
    explicit SysfsPower(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::power
