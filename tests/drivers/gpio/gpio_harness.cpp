#include "gpio_harness.hpp"

#include <filesystem>
#include <fstream>
#include <utility>

#include "fieldlog/gpio/libgpiod_gpio.hpp"
#include "fieldlog/gpio/simulated_gpio.hpp"

namespace fieldlog::gpio::testing {
namespace {

namespace fs = std::filesystem;

constexpr unsigned kLinesNeeded = 8;

class SimulatedHarness final : public GpioHarness {
public:
    explicit SimulatedHarness(boost::asio::io_context& io)
        : gpio_(io, {{"gpiochip0", "fieldlog-sim", 16}}) {}
    Gpio& gpio() override { return gpio_; }
    std::string chip() const override { return "gpiochip0"; }
    std::string chip_label() const override { return "fieldlog-sim"; }
    unsigned chip_lines() const override { return 16; }
    void drive(unsigned offset, bool high) override { gpio_.set_level(chip(), offset, high); }
    std::optional<bool> output(unsigned offset) const override {
        return gpio_.output_level(chip(), offset);
    }

private:
    SimulatedGpio gpio_;
};

// A gpio-sim bank set up beforehand (configfs, as root): its sysfs attributes let a test pull
// an input up or down and read what an output drives.
struct SimBank {
    fs::path sysfs;  // .../gpio-sim.N/gpiochipM
    std::string name;
    std::string label;
    unsigned lines = 0;
};

std::string read_trimmed(const fs::path& path) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    return text;
}

std::optional<SimBank> find_sim_bank() {
    std::error_code ec;
    for (fs::directory_iterator dev("/sys/bus/platform/devices", ec), end; !ec && dev != end;
         dev.increment(ec)) {
        if (!dev->path().filename().string().starts_with("gpio-sim")) {
            continue;
        }
        std::error_code inner;
        for (fs::directory_iterator chip(dev->path(), inner), chip_end; !inner && chip != chip_end;
             chip.increment(inner)) {
            std::string name = chip->path().filename().string();
            if (!name.starts_with("gpiochip") ||
                !fs::exists(chip->path() / ("sim_gpio" + std::to_string(kLinesNeeded - 1)))) {
                continue;
            }
            SimBank bank{chip->path(), name, name, 0};
            while (fs::exists(chip->path() / ("sim_gpio" + std::to_string(bank.lines)))) {
                ++bank.lines;
            }
            if (auto label = read_trimmed(fs::path("/sys/bus/gpio/devices") / name / "label");
                !label.empty()) {
                bank.label = label;
            }
            return bank;
        }
    }
    return std::nullopt;
}

class LibgpiodHarness final : public GpioHarness {
public:
    LibgpiodHarness(boost::asio::io_context& io, SimBank bank)
        : gpio_(io, "fieldlog-test"), bank_(std::move(bank)) {}
    Gpio& gpio() override { return gpio_; }
    std::string chip() const override { return bank_.name; }
    std::string chip_label() const override { return bank_.label; }
    unsigned chip_lines() const override { return bank_.lines; }
    void drive(unsigned offset, bool high) override {
        std::ofstream out(bank_.sysfs / ("sim_gpio" + std::to_string(offset)) / "pull");
        out << (high ? "pull-up" : "pull-down");
    }
    std::optional<bool> output(unsigned offset) const override {
        auto text = read_trimmed(bank_.sysfs / ("sim_gpio" + std::to_string(offset)) / "value");
        if (text.empty()) {
            return std::nullopt;
        }
        return text == "1";
    }

private:
    LibgpiodGpio gpio_;
    SimBank bank_;
};

}  // namespace

std::string unavailable_reason(Backend backend) {
    if (backend == Backend::simulated) {
        return {};
    }
    if (!have_gpio_chips()) {
        return "no /dev/gpiochip* on this machine";
    }
    if (!find_sim_bank()) {
        return "no gpio-sim bank with " + std::to_string(kLinesNeeded) +
               " lines to drive (create one through configfs to run these tests)";
    }
    return {};
}

std::unique_ptr<GpioHarness> make_harness(Backend backend, boost::asio::io_context& io) {
    if (backend == Backend::simulated) {
        return std::make_unique<SimulatedHarness>(io);
    }
    return std::make_unique<LibgpiodHarness>(io, *find_sim_bank());
}

std::string backend_name(const ::testing::TestParamInfo<Backend>& info) {
    return info.param == Backend::simulated ? "simulated" : "libgpiod";
}

void PrintTo(Backend backend, std::ostream* out) {
    *out << (backend == Backend::simulated ? "simulated" : "libgpiod");
}

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds deadline) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) {
            return done();
        }
        if (io.stopped()) {
            io.restart();
        }
        io.run_for(std::chrono::milliseconds(1));
    }
    return true;
}

void run_for(boost::asio::io_context& io, std::chrono::milliseconds time) {
    const auto until = std::chrono::steady_clock::now() + time;
    run_until(
        io, [&] { return std::chrono::steady_clock::now() >= until; }, time * 2);
}

std::vector<Transition> record_output(
    boost::asio::io_context& io, const GpioHarness& harness, unsigned offset,
    const std::function<bool(const std::vector<Transition>&)>& done,
    std::chrono::milliseconds deadline) {
    std::vector<Transition> changes;
    std::optional<bool> last = harness.output(offset);
    run_until(
        io,
        [&] {
            auto now = harness.output(offset);
            if (now && now != last) {
                changes.push_back({*now, std::chrono::steady_clock::now()});
                last = now;
            }
            return done(changes);
        },
        deadline);
    return changes;
}

void GpioTest::SetUp() {
    if (auto reason = unavailable_reason(GetParam()); !reason.empty()) {
        GTEST_SKIP() << reason;
    }
    harness_ = make_harness(GetParam(), io_);
}

LineSpec GpioTest::line(unsigned offset, bool active_low) const {
    return {harness_->chip(), offset, active_low, Bias::as_is};
}

}  // namespace fieldlog::gpio::testing
