#include "fieldlog/power/sysfs_power.hpp"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "fieldlog/files.hpp"
#include "fieldlog/power/uevent_watch.hpp"
#include "power_tracker.hpp"

namespace fieldlog::power {
namespace {

namespace fs = std::filesystem;

// sysfs attributes report a size of one page whatever they hold.
constexpr std::size_t kMaxAttributeBytes = 4096;
// A class directory lists a handful of supplies; this bounds a tree gone wrong.
constexpr std::size_t kMaxSupplies = 64;

std::string_view trim(std::string_view text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\t' ||
                             text.back() == '\r')) {
        text.remove_suffix(1);
    }
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    return text;
}

// The attribute's text, or nothing when the supply does not offer it.
Result<std::optional<std::string>> read_attribute(const fs::path& file) {
    auto text = read_file(file, kMaxAttributeBytes);
    if (!text) {
        if (text.error().code() == Errc::not_found) {
            return std::optional<std::string>();
        }
        return text.error();
    }
    return std::optional<std::string>(std::string(trim(*text)));
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
        return std::nullopt;
    }
    return value;
}

Error garbage(const fs::path& file, std::string_view text, std::string_view expected) {
    std::string shown(text.substr(0, 40));
    return Error(Errc::invalid_argument,
                 file.string() + ": '" + shown + "' is not " + std::string(expected));
}

struct Battery {
    int percent = 0;
    ChargeState charge = ChargeState::unknown;
};

Result<std::optional<int>> percent_from_pair(const fs::path& dir, const char* now_name,
                                             const char* full_name) {
    auto now_text = read_attribute(dir / now_name);
    auto full_text = read_attribute(dir / full_name);
    if (!now_text) return now_text.error();
    if (!full_text) return full_text.error();
    if (!*now_text || !*full_text) {
        return std::optional<int>();
    }
    auto now = parse_integer(**now_text);
    if (!now || *now < 0) {
        return garbage(dir / now_name, **now_text, "a non-negative whole number");
    }
    auto full = parse_integer(**full_text);
    if (!full || *full <= 0) {
        return garbage(dir / full_name, **full_text, "a positive whole number");
    }
    // A gauge may report slightly more than full after charging.
    double ratio = static_cast<double>(*now) / static_cast<double>(*full);
    return std::optional<int>(static_cast<int>(std::lround(std::min(1.0, ratio) * 100.0)));
}

ChargeState parse_status(std::string_view text) {
    if (text == "Charging") return ChargeState::charging;
    if (text == "Discharging") return ChargeState::discharging;
    if (text == "Not charging") return ChargeState::not_charging;
    if (text == "Full") return ChargeState::full;
    return ChargeState::unknown;
}

Result<Battery> read_battery(const fs::path& dir, std::vector<std::string>& warnings) {
    Battery battery;
    auto capacity = read_attribute(dir / "capacity");
    if (!capacity) {
        return capacity.error();
    }
    if (*capacity) {
        auto value = parse_integer(**capacity);
        if (!value || *value < 0 || *value > 100) {
            return garbage(dir / "capacity", **capacity, "a whole number from 0 to 100");
        }
        battery.percent = static_cast<int>(*value);
    } else {
        auto percent = percent_from_pair(dir, "energy_now", "energy_full");
        if (percent && !*percent) {
            percent = percent_from_pair(dir, "charge_now", "charge_full");
        }
        if (!percent) {
            return percent.error();
        }
        if (!*percent) {
            return Error(Errc::not_found,
                         "battery " + dir.string() +
                             " reports no level: no capacity, energy_now/energy_full or "
                             "charge_now/charge_full");
        }
        battery.percent = **percent;
    }
    auto status = read_attribute(dir / "status");
    if (!status) {
        warnings.push_back(status.error().message());
    } else if (*status) {
        battery.charge = parse_status(**status);
        if (battery.charge == ChargeState::unknown && **status != "Unknown") {
            warnings.push_back(garbage(dir / "status", **status, "a known charge state").message());
        }
    }
    return battery;
}

// Charging wins over discharging (one pack charging means a charger is in), then the states in
// order of what an inspector must know.
ChargeState combine(ChargeState a, ChargeState b) {
    auto rank = [](ChargeState s) {
        switch (s) {
            case ChargeState::charging:
                return 4;
            case ChargeState::discharging:
                return 3;
            case ChargeState::not_charging:
                return 2;
            case ChargeState::full:
                return 1;
            case ChargeState::unknown:
                return 0;
        }
        return 0;
    };
    return rank(a) >= rank(b) ? a : b;
}

bool is_external_type(std::string_view type) {
    return type == "Mains" || type.starts_with("USB") || type == "Wireless";
}

}  // namespace

Status validate(const SysfsPowerConfig& config) {
    if (config.poll_interval < std::chrono::milliseconds(1) ||
        config.poll_interval > std::chrono::hours(1)) {
        return Error(Errc::invalid_argument,
                     "power poll interval must be from 1 ms to 1 hour, not " +
                         std::to_string(config.poll_interval.count()) + " ms");
    }
    return validate(config.low_battery);
}

Result<PowerState> read_power_supplies(const fs::path& root) {
    std::error_code ec;
    auto status = fs::status(root, ec);
    if (ec || !fs::exists(status)) {
        return Error(Errc::not_found,
                     "power supply directory " + root.string() + " does not exist");
    }
    if (!fs::is_directory(status)) {
        return Error(Errc::invalid_argument,
                     "power supply directory " + root.string() + " is not a directory");
    }
    std::vector<fs::path> supplies;
    for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
        if (supplies.size() == kMaxSupplies) {
            return Error(Errc::too_large, "power supply directory " + root.string() +
                                              " lists more than " + std::to_string(kMaxSupplies) +
                                              " supplies");
        }
        supplies.push_back(it->path());
    }
    if (ec) {
        return errno_error(ec.value(), "cannot list", root);
    }
    std::sort(supplies.begin(), supplies.end());

    PowerState state;
    int batteries = 0;
    int percent_sum = 0;
    bool online = false;
    for (const auto& dir : supplies) {
        auto type = read_attribute(dir / "type");
        if (!type || !*type) {
            state.warnings.push_back("power supply " + dir.string() +
                                     " has no readable type; ignored");
            continue;
        }
        if (**type == "Battery") {
            auto present = read_attribute(dir / "present");
            if (present && *present && **present == "0") {
                continue;  // an empty battery bay
            }
            auto battery = read_battery(dir, state.warnings);
            if (!battery) {
                return battery.error();
            }
            ++batteries;
            percent_sum += battery->percent;
            state.charge = combine(state.charge, battery->charge);
        } else if (is_external_type(**type)) {
            auto value = read_attribute(dir / "online");
            if (!value) {
                state.warnings.push_back(value.error().message());
            } else if (!*value) {
                state.warnings.push_back("power supply " + dir.string() +
                                         " has no online attribute; taken as offline");
            } else if (**value == "1") {
                online = true;
            } else if (**value != "0") {
                state.warnings.push_back(
                    garbage(dir / "online", **value, "0 or 1; taken as offline").message());
            }
        }
    }
    if (batteries > 0) {
        state.battery_percent =
            static_cast<int>(std::lround(static_cast<double>(percent_sum) / batteries));
    }
    // Some handhelds list only the battery: its charge state tells that a charger is in.
    state.external_power = online || batteries == 0 || state.charge == ChargeState::charging ||
                           state.charge == ChargeState::not_charging;
    return state;
}

struct SysfsPower::Impl : std::enable_shared_from_this<SysfsPower::Impl> {
    Impl(boost::asio::io_context& io, const SysfsPowerConfig& power_config)
        : config(power_config),
          timer(io),
          tracker(power_config.low_battery, read_power_supplies(power_config.root)) {}

    void schedule() {
        auto now = std::chrono::steady_clock::now();
        next += config.poll_interval;
        // After a suspend the schedule has fallen behind: start afresh rather than catch up.
        if (next <= now) {
            next = now + config.poll_interval;
        }
        timer.expires_at(next);
        timer.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
            auto self = weak.lock();
            if (!self || self->stopped || ec) {
                return;
            }
            self->schedule();
            self->refresh();
        });
    }

    void refresh() {
        auto changed = tracker.update(read_power_supplies(config.root));
        if (changed && handler) {
            auto call = handler;  // may be replaced from inside itself
            call(*changed);
        }
    }

    // Changes announced by the kernel come in between polls.
    UeventWatch::Listener on_uevent() {
        return [weak = weak_from_this()] {
            auto self = weak.lock();
            if (self && !self->stopped) self->refresh();
        };
    }

    // The poll carries on alone; uevent_error() says why.
    UeventWatch::ErrorListener on_uevent_error() {
        return [weak = weak_from_this()](const Error& error) {
            if (auto self = weak.lock()) self->uevent_error = error.message();
        };
    }

    SysfsPowerConfig config;
    std::unique_ptr<UeventWatch> uevents;
    std::string uevent_error;
    boost::asio::steady_timer timer;
    std::chrono::steady_clock::time_point next = std::chrono::steady_clock::now();
    PowerTracker tracker;
    ChangeHandler handler;
    bool stopped = false;
};

Result<std::unique_ptr<SysfsPower>> SysfsPower::open(boost::asio::io_context& io,
                                                     const SysfsPowerConfig& config) {
    if (!config.watch_uevents) return start(io, config, std::nullopt);
    return start(io, config, open_kernel_uevent_socket());
}

Result<std::unique_ptr<SysfsPower>> SysfsPower::open(boost::asio::io_context& io,
                                                     const SysfsPowerConfig& config,
                                                     UniqueFd uevent_socket) {
    return start(io, config, Result<UniqueFd>(std::move(uevent_socket)));
}

Result<std::unique_ptr<SysfsPower>> SysfsPower::start(boost::asio::io_context& io,
                                                      const SysfsPowerConfig& config,
                                                      std::optional<Result<UniqueFd>> uevents) {
    if (auto valid = validate(config); !valid) {
        return valid.error();
    }
    auto impl = std::make_shared<Impl>(io, config);
    if (uevents && !*uevents) {
        impl->uevent_error = uevents->error().message();
    } else if (uevents) {
        auto watch = UeventWatch::open(io, std::move(**uevents), "power_supply", impl->on_uevent(),
                                       impl->on_uevent_error());
        if (watch) {
            impl->uevents = std::move(*watch);
        } else {
            impl->uevent_error = watch.error().message();
        }
    }
    impl->schedule();
    return std::unique_ptr<SysfsPower>(new SysfsPower(std::move(impl)));
}

SysfsPower::SysfsPower(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

SysfsPower::~SysfsPower() {
    impl_->stopped = true;
    impl_->timer.cancel();
    if (impl_->uevents) impl_->uevents->stop();
}

const std::string& SysfsPower::uevent_error() const { return impl_->uevent_error; }

Result<PowerState> SysfsPower::state() const { return impl_->tracker.current(); }

void SysfsPower::on_change(ChangeHandler handler) { impl_->handler = std::move(handler); }

void SysfsPower::refresh() { impl_->refresh(); }

}  // namespace fieldlog::power
