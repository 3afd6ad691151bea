#include "fieldlog/gpio/simulated_gpio.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <utility>

namespace fieldlog::gpio {
namespace {

// Shared between an input line and the callbacks posted for it, so a callback still queued
// when the line goes away finds it stopped.
struct Delivery {
    EdgeHandler on_edge;
    bool stopped = false;
};

enum class Use { none, input, output };

struct SimLine {
    bool high = false;  // the electrical level: driven by the test for inputs, by us for outputs
    Use use = Use::none;
    LineSpec spec;
    std::weak_ptr<Delivery> delivery;
    std::size_t changes = 0;
    std::optional<Error> fault;
};

struct SimChip {
    SimulatedChip chip;
    std::vector<SimLine> lines;
};

}  // namespace

struct SimulatedGpio::State {
    std::vector<SimChip> chips;

    // The same lookup as libgpiod's OPEN_LOOKUP: path, name, label or number.
    SimChip* find_chip(const std::string& id) {
        for (auto& c : chips) {
            const std::string& name = c.chip.name;
            if (id == name || id == "/dev/" + name || id == c.chip.label ||
                (name.starts_with("gpiochip") && id == name.substr(8))) {
                return &c;
            }
        }
        return nullptr;
    }

    SimLine* find_line(const std::string& chip, unsigned offset) {
        SimChip* c = find_chip(chip);
        if (c == nullptr || offset >= c->lines.size()) {
            return nullptr;
        }
        return &c->lines[offset];
    }

    Result<SimLine*> claim(const LineSpec& spec) {
        SimChip* c = find_chip(spec.chip);
        if (c == nullptr) {
            return Error(Errc::not_found,
                         "cannot request GPIO line " + describe(spec) + ": no such GPIO chip");
        }
        if (spec.offset >= c->lines.size()) {
            return Error(Errc::invalid_argument, "cannot request GPIO line " + describe(spec) +
                                                     ": the chip has only " +
                                                     std::to_string(c->lines.size()) + " lines");
        }
        SimLine& line = c->lines[spec.offset];
        if (line.use != Use::none) {
            return Error(Errc::conflict,
                         "cannot request GPIO line " + describe(spec) + ": line is busy");
        }
        if (line.fault) {
            return Error(line.fault->code(), "cannot request GPIO line " + describe(spec) + ": " +
                                                 line.fault->message());
        }
        return &line;
    }
};

namespace {

class SimInput final : public InputLine {
public:
    SimInput(std::shared_ptr<void> state, SimLine* line, std::shared_ptr<Delivery> delivery)
        : state_(std::move(state)), line_(line), delivery_(std::move(delivery)) {}
    ~SimInput() override {
        delivery_->stopped = true;
        line_->use = Use::none;
        line_->delivery.reset();
    }
    SimInput(const SimInput&) = delete;
    SimInput& operator=(const SimInput&) = delete;

    Result<bool> read() const override {
        if (line_->fault) {
            return Error(line_->fault->code(), "cannot read GPIO line " + describe(line_->spec) +
                                                   ": " + line_->fault->message());
        }
        return line_->high != line_->spec.active_low;
    }
    const LineSpec& spec() const override { return line_->spec; }

private:
    std::shared_ptr<void> state_;  // keeps line_ valid
    SimLine* line_;
    std::shared_ptr<Delivery> delivery_;
};

class SimOutput final : public OutputLine {
public:
    SimOutput(std::shared_ptr<void> state, SimLine* line) : state_(std::move(state)), line_(line) {}
    ~SimOutput() override { line_->use = Use::none; }
    SimOutput(const SimOutput&) = delete;
    SimOutput& operator=(const SimOutput&) = delete;

    Status write(bool active) override {
        if (line_->fault) {
            return Error(line_->fault->code(), "cannot write GPIO line " + describe(line_->spec) +
                                                   ": " + line_->fault->message());
        }
        bool high = active != line_->spec.active_low;
        if (high != line_->high) {
            line_->high = high;
            ++line_->changes;
        }
        return {};
    }
    const LineSpec& spec() const override { return line_->spec; }

private:
    std::shared_ptr<void> state_;  // keeps line_ valid
    SimLine* line_;
};

}  // namespace

SimulatedGpio::SimulatedGpio(boost::asio::io_context& io, std::vector<SimulatedChip> chips)
    : io_(io), state_(std::make_shared<State>()) {
    for (auto& chip : chips) {
        std::vector<SimLine> lines(chip.lines);
        state_->chips.push_back({std::move(chip), std::move(lines)});
    }
}

SimulatedGpio::~SimulatedGpio() = default;

Result<std::unique_ptr<InputLine>> SimulatedGpio::request_input(const LineSpec& spec,
                                                                EdgeHandler on_edge) {
    auto line = state_->claim(spec);
    if (!line) {
        return line.error();
    }
    SimLine* l = *line;
    auto delivery = std::make_shared<Delivery>();
    delivery->on_edge = std::move(on_edge);
    l->use = Use::input;
    l->spec = spec;
    l->delivery = delivery;
    return std::unique_ptr<InputLine>(std::make_unique<SimInput>(state_, l, std::move(delivery)));
}

Result<std::unique_ptr<OutputLine>> SimulatedGpio::request_output(const LineSpec& spec,
                                                                  bool initial_active) {
    auto line = state_->claim(spec);
    if (!line) {
        return line.error();
    }
    SimLine* l = *line;
    l->use = Use::output;
    l->spec = spec;
    l->changes = 0;
    l->high = initial_active != spec.active_low;
    return std::unique_ptr<OutputLine>(std::make_unique<SimOutput>(state_, l));
}

bool SimulatedGpio::set_level(const std::string& chip, unsigned offset, bool high) {
    SimLine* line = state_->find_line(chip, offset);
    if (line == nullptr) {
        return false;
    }
    if (line->use == Use::output || line->high == high) {
        return true;  // an output drives itself; no change is no edge
    }
    line->high = high;
    if (line->use == Use::input) {
        bool active = high != line->spec.active_low;
        boost::asio::post(io_, [weak = line->delivery, active] {
            auto delivery = weak.lock();
            if (delivery && !delivery->stopped && delivery->on_edge) {
                delivery->on_edge(active);
            }
        });
    }
    return true;
}

std::optional<bool> SimulatedGpio::output_level(const std::string& chip, unsigned offset) const {
    const SimLine* line = state_->find_line(chip, offset);
    if (line == nullptr || line->use != Use::output) {
        return std::nullopt;
    }
    return line->high;
}

std::size_t SimulatedGpio::output_changes(const std::string& chip, unsigned offset) const {
    const SimLine* line = state_->find_line(chip, offset);
    return line == nullptr ? 0 : line->changes;
}

void SimulatedGpio::set_fault(const std::string& chip, unsigned offset,
                              std::optional<Error> error) {
    SimLine* line = state_->find_line(chip, offset);
    if (line == nullptr) {
        return;
    }
    line->fault = error;
    if (error && line->use == Use::input) {
        Error event_error(error->code(), "GPIO line " + describe(line->spec) +
                                             " stopped delivering events: " + error->message());
        boost::asio::post(io_, [weak = line->delivery, event_error] {
            auto delivery = weak.lock();
            if (delivery && !delivery->stopped) {
                delivery->stopped = true;
                if (delivery->on_edge) {
                    delivery->on_edge(event_error);
                }
            }
        });
    }
}

}  // namespace fieldlog::gpio
