// A GPIO backend in memory, for tests and for running the daemon on a desk: tests set the
// electrical level of inputs and read what outputs drive.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "fieldlog/gpio/gpio.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::gpio {

struct SimulatedChip {
    std::string name;   // "gpiochip0"
    std::string label;  // "fieldlog-sim"
    unsigned lines = 32;
};

// Behaves like the real backend where callers can tell: chips are found by name, label, path or
// number; a line can be held once; edges reach their handler through the event loop; active-low
// inverts. Unrequested inputs float low.
class SimulatedGpio final : public Gpio {
public:
    explicit SimulatedGpio(boost::asio::io_context& io,
                           std::vector<SimulatedChip> chips = {{"gpiochip0", "fieldlog-sim", 32}});
    ~SimulatedGpio() override;
    SimulatedGpio(const SimulatedGpio&) = delete;
    SimulatedGpio& operator=(const SimulatedGpio&) = delete;

    [[nodiscard]] Result<std::unique_ptr<InputLine>> request_input(const LineSpec& spec,
                                                                   EdgeHandler on_edge) override;
    [[nodiscard]] Result<std::unique_ptr<OutputLine>> request_output(const LineSpec& spec,
                                                                     bool initial_active) override;

    // Sets the electrical level on an input; a change is an edge. chip may be a name or label.
    // Returns false for an unknown chip or offset.
    bool set_level(const std::string& chip, unsigned offset, bool high);
    // The electrical level an output drives, or nothing when no output holds the line.
    std::optional<bool> output_level(const std::string& chip, unsigned offset) const;
    // How many times the output level changed since the line was requested.
    std::size_t output_changes(const std::string& chip, unsigned offset) const;
    // Makes the line fail like unplugged hardware: reads and writes return error and an input's
    // handler receives it once. std::nullopt heals the line (its input handler stays stopped).
    void set_fault(const std::string& chip, unsigned offset, std::optional<Error> error);

private:
    struct State;
    boost::asio::io_context& io_;
    std::shared_ptr<State> state_;
};

}  // namespace fieldlog::gpio
