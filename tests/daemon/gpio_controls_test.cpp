// fieldlogd's GPIO glue in-process, on the simulated backend: what a press, a dock or a failing
// line does, what the status LEDs show and when, and how bad line specs are reported.
#include "gpio_controls.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

#include "device_status.hpp"
#include "fieldlog/config/reference.hpp"
#include "fieldlog/domain/records.hpp"
#include "fieldlog/domain/service.hpp"
#include "fieldlog/store/store.hpp"
#include "temp_dir.hpp"

namespace fieldlog::daemon {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using gpio::LedPattern;
using ::testing::HasSubstr;

constexpr const char* chip = "gpiochip0";
constexpr unsigned button_line = 17;
constexpr unsigned dock_line = 27;
constexpr unsigned status_line = 22;
constexpr unsigned battery_line = 23;

gpio::DeviceStatus status_of(bool pending, bool syncing = false, bool error = false,
                             bool low_battery = false) {
    gpio::DeviceStatus s;
    s.records_pending = pending;
    s.syncing = syncing;
    s.error = error;
    s.low_battery = low_battery;
    return s;
}

bool run_until(boost::asio::io_context& io, const std::function<bool()>& done,
               std::chrono::milliseconds deadline = 5s) {
    auto until = std::chrono::steady_clock::now() + deadline;
    while (!done()) {
        if (std::chrono::steady_clock::now() >= until) return false;
        io.restart();
        io.run_for(5ms);
    }
    return true;
}

void run_for(boost::asio::io_context& io, std::chrono::milliseconds time) {
    io.restart();
    io.run_for(time);
}

config::GpioLineConfig line(unsigned offset, bool active_low = false) {
    config::GpioLineConfig l;
    l.chip = chip;
    l.offset = offset;
    l.active_low = active_low;
    return l;
}

// A Raspberry Pi wiring: the button to ground with a pull-up (active-low), the dock line
// active-high, an LED on each output.
config::GpioConfig pi_config(bool battery_led = true) {
    config::GpioConfig c;
    c.enabled = true;
    c.backend = config::GpioConfig::Backend::simulated;
    c.button = config::GpioButtonConfig{line(button_line, true), 10ms, 300ms};
    c.button->line.bias = config::GpioLineConfig::Bias::pull_up;
    c.dock = config::GpioDockConfig{line(dock_line), 10ms};
    c.status_led = line(status_line);
    if (battery_led) c.battery_led = line(battery_line);
    return c;
}

class GpioControlsTest : public ::testing::Test {
protected:
    void SetUp() override {
        gpio_.set_level(chip, button_line, true);  // released: the pull-up holds it high
    }

    void open(const config::GpioConfig& config) {
        GpioEvents events;
        events.on_short_press = [this] { ++short_presses_; };
        events.on_long_press = [this] { ++long_presses_; };
        events.on_docked = [this] { ++docks_; };
        events.on_undocked = [this] { ++undocks_; };
        events.on_error = [this](const Error& e) { errors_.push_back(e.message()); };
        auto controls = GpioControls::open(io_, gpio_, config, std::move(events));
        ASSERT_TRUE(controls) << controls.error().to_string();
        controls_ = std::move(*controls);
    }

    Error open_fails(const config::GpioConfig& config) {
        auto controls = GpioControls::open(io_, gpio_, config, {});
        EXPECT_FALSE(controls) << "the lines were granted";
        return controls ? Error(Errc::internal, "") : controls.error();
    }

    void set_button(bool pressed) { gpio_.set_level(chip, button_line, !pressed); }

    boost::asio::io_context io_;
    gpio::SimulatedGpio gpio_{io_};
    std::unique_ptr<GpioControls> controls_;
    int short_presses_ = 0;
    int long_presses_ = 0;
    int docks_ = 0;
    int undocks_ = 0;
    std::vector<std::string> errors_;
};

TEST_F(GpioControlsTest, ShortPressCallsTheSyncCallbackOnRelease) {
    open(pi_config());
    EXPECT_EQ(controls_->button_pressed(), false);
    set_button(true);
    ASSERT_TRUE(run_until(io_, [&] { return controls_->button_pressed() == true; }));
    EXPECT_EQ(short_presses_, 0);
    set_button(false);
    ASSERT_TRUE(run_until(io_, [&] { return short_presses_ == 1; }));
    EXPECT_EQ(long_presses_, 0);
}

TEST_F(GpioControlsTest, LongPressCallsTheMarkCallbackWhileHeld) {
    open(pi_config());
    set_button(true);
    ASSERT_TRUE(run_until(io_, [&] { return long_presses_ == 1; }));
    EXPECT_EQ(controls_->button_pressed(), true);
    set_button(false);
    run_for(io_, 100ms);
    EXPECT_EQ(short_presses_, 0);
    EXPECT_EQ(long_presses_, 1);
}

TEST_F(GpioControlsTest, DockLineCallsDockAndUndock) {
    open(pi_config());
    EXPECT_EQ(controls_->docked(), false);
    gpio_.set_level(chip, dock_line, true);
    ASSERT_TRUE(run_until(io_, [&] { return docks_ == 1; }));
    EXPECT_EQ(controls_->docked(), true);
    gpio_.set_level(chip, dock_line, false);
    ASSERT_TRUE(run_until(io_, [&] { return undocks_ == 1; }));
    EXPECT_EQ(controls_->docked(), false);
    EXPECT_EQ(docks_, 1);
}

TEST_F(GpioControlsTest, LedPatternsFollowTheDeviceStatus) {
    open(pi_config());
    EXPECT_EQ(controls_->status_led(), LedPattern::off);
    EXPECT_EQ(gpio_.output_level(chip, status_line), false);

    controls_->show(status_of(true));
    EXPECT_EQ(controls_->status_led(), LedPattern::on);
    EXPECT_EQ(gpio_.output_level(chip, status_line), true);
    EXPECT_EQ(controls_->battery_led(), LedPattern::off);

    controls_->show(status_of(true, true));
    EXPECT_EQ(controls_->status_led(), LedPattern::slow_blink);
    controls_->show(status_of(true, false, true, true));
    EXPECT_EQ(controls_->status_led(), LedPattern::fast_blink);
    EXPECT_EQ(controls_->battery_led(), LedPattern::double_flash);
    // The blink runs on the loop: the line toggles.
    auto before = gpio_.output_changes(chip, status_line);
    run_for(io_, 450ms);
    EXPECT_GE(gpio_.output_changes(chip, status_line), before + 2);

    controls_->show(status_of(false));
    EXPECT_EQ(controls_->status_led(), LedPattern::off);
    EXPECT_EQ(controls_->battery_led(), LedPattern::off);
}

TEST_F(GpioControlsTest, LowBatteryGoesOnTheStatusLedWithoutABatteryLed) {
    open(pi_config(false));
    EXPECT_EQ(controls_->battery_led(), std::nullopt);
    controls_->show(status_of(true, false, false, true));
    EXPECT_EQ(controls_->status_led(), LedPattern::double_flash);
}

TEST_F(GpioControlsTest, ActiveLowLedIsLitByTheLowLevel) {
    auto config = pi_config(false);
    config.status_led->active_low = true;
    open(config);
    EXPECT_EQ(gpio_.output_level(chip, status_line), true);  // off
    controls_->show(status_of(true));
    EXPECT_EQ(gpio_.output_level(chip, status_line), false);
}

TEST_F(GpioControlsTest, StatusJsonNamesStatesAndPatterns) {
    open(pi_config());
    controls_->show(status_of(true));
    auto status = controls_->status_json();
    EXPECT_TRUE(status.at("enabled").as_bool());
    EXPECT_EQ(status.at("backend").as_string(), "simulated");
    EXPECT_EQ(status.at("button").as_string(), "released");
    EXPECT_FALSE(status.at("docked").as_bool());
    EXPECT_EQ(status.at("leds").at("status").as_string(), "on");
    EXPECT_EQ(status.at("leds").at("battery").as_string(), "off");
    EXPECT_TRUE(status.at("last_error").is_null());

    config::GpioConfig dock_only;
    dock_only.enabled = true;
    dock_only.dock = config::GpioDockConfig{line(5), 10ms};
    controls_.reset();
    open(dock_only);
    status = controls_->status_json();
    EXPECT_TRUE(status.at("button").is_null());
    EXPECT_TRUE(status.at("leds").at("status").is_null());
    EXPECT_FALSE(controls_->has_status_leds());
    controls_->show(status_of(false, false, true));  // nothing to show it on, and no failure
}

TEST_F(GpioControlsTest, BadLineSpecsNameTheTable) {
    auto no_chip = pi_config();
    no_chip.button->line.chip = "pinctrl-rp1";
    auto error = open_fails(no_chip);
    EXPECT_EQ(error.code(), Errc::not_found);
    EXPECT_THAT(error.message(), HasSubstr("[gpio.button]"));
    EXPECT_THAT(error.message(), HasSubstr("pinctrl-rp1:17"));
    EXPECT_THAT(error.message(), HasSubstr("no such GPIO chip"));

    auto beyond = pi_config();
    beyond.status_led->offset = 40;
    error = open_fails(beyond);
    EXPECT_EQ(error.code(), Errc::invalid_argument);
    EXPECT_THAT(error.message(), HasSubstr("[gpio.status_led]"));
    EXPECT_THAT(error.message(), HasSubstr("only 32 lines"));

    // "0" is gpiochip0 by number: the same line twice, which config checks cannot see.
    auto twice = pi_config();
    twice.battery_led->chip = "0";
    twice.battery_led->offset = status_line;
    error = open_fails(twice);
    EXPECT_EQ(error.code(), Errc::conflict);
    EXPECT_THAT(error.message(), HasSubstr("[gpio.battery_led]"));
    EXPECT_THAT(error.message(), HasSubstr("busy"));

    // Nothing was left held: a good config opens afterwards.
    open(pi_config());
}

TEST_F(GpioControlsTest, EachLineFailureIsReportedOnce) {
    open(pi_config());
    controls_->show(status_of(false, false, true));  // fast blink: a write every 100 ms
    gpio_.set_fault(chip, status_line, Error(Errc::io, "device unplugged"));
    gpio_.set_fault(chip, button_line, Error(Errc::io, "device unplugged"));
    run_for(io_, 500ms);
    ASSERT_EQ(errors_.size(), 2u) << ::testing::PrintToString(errors_);
    EXPECT_THAT(errors_, ::testing::Contains(HasSubstr("[gpio.status_led]")));
    EXPECT_THAT(errors_, ::testing::Contains(HasSubstr("[gpio.button]")));
    EXPECT_THAT(std::string(controls_->status_json().at("last_error").as_string()),
                HasSubstr("device unplugged"));
}

TEST_F(GpioControlsTest, ReleasesItsLinesAndDarkensItsLeds) {
    open(pi_config());
    controls_->show(status_of(true));
    EXPECT_EQ(gpio_.output_level(chip, status_line), true);
    controls_.reset();
    EXPECT_EQ(gpio_.output_level(chip, status_line), std::nullopt);  // released
    open(pi_config());                                               // every line can be had again
}

// ---- gpio.simulate ----

TEST(SimulateGpio, DrivesTheConfiguredInputByItsLogicalLevel) {
    boost::asio::io_context io;
    auto config = pi_config();
    auto backend = make_gpio_backend(io, config);
    ASSERT_NE(backend.simulated, nullptr);
    int short_presses = 0;
    GpioEvents events;
    events.on_short_press = [&] { ++short_presses; };
    auto controls = GpioControls::open(io, *backend.gpio, config, events);
    ASSERT_TRUE(controls) << controls.error().to_string();

    auto pressed = simulate_gpio(backend.simulated, config,
                                 json::object{{"line", "button"}, {"active", true}});
    ASSERT_TRUE(pressed) << pressed.error().to_string();
    EXPECT_EQ(pressed->as_object().at("level").as_string(), "low");  // active-low
    ASSERT_TRUE(run_until(io, [&] { return (*controls)->button_pressed() == true; }));
    ASSERT_TRUE(simulate_gpio(backend.simulated, config,
                              json::object{{"line", "button"}, {"active", false}}));
    ASSERT_TRUE(run_until(io, [&] { return short_presses == 1; }));

    auto docked =
        simulate_gpio(backend.simulated, config, json::object{{"line", "dock"}, {"active", true}});
    ASSERT_TRUE(docked);
    EXPECT_EQ(docked->as_object().at("level").as_string(), "high");
    ASSERT_TRUE(run_until(io, [&] { return (*controls)->docked() == true; }));
}

TEST(SimulateGpio, RefusesClearly) {
    boost::asio::io_context io;
    auto config = pi_config();
    auto backend = make_gpio_backend(io, config);
    auto press = json::object{{"line", "button"}, {"active", true}};

    auto real = config;
    real.backend = config::GpioConfig::Backend::libgpiod;
    auto refused = simulate_gpio(nullptr, real, press);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code(), Errc::conflict);
    EXPECT_THAT(refused.error().message(), HasSubstr("backend = \"simulated\""));
    refused = simulate_gpio(nullptr, config::GpioConfig{}, press);
    ASSERT_FALSE(refused);
    EXPECT_THAT(refused.error().message(), HasSubstr("no [gpio] table"));

    auto bad = simulate_gpio(backend.simulated, config, {{"line", "led"}, {"active", true}});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), Errc::invalid_argument);
    bad = simulate_gpio(backend.simulated, config, {{"line", "dock"}});
    ASSERT_FALSE(bad);
    EXPECT_THAT(bad.error().message(), HasSubstr("active"));
    bad = simulate_gpio(backend.simulated, config, {{"line", "dock"}, {"active", 1}});
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code(), Errc::invalid_argument);
    bad = simulate_gpio(backend.simulated, config,
                        {{"line", "dock"}, {"active", true}, {"hold_ms", 5}});
    ASSERT_FALSE(bad);
    EXPECT_THAT(bad.error().message(), HasSubstr("hold_ms"));

    auto no_dock = config;
    no_dock.dock.reset();
    auto missing = simulate_gpio(backend.simulated, no_dock, {{"line", "dock"}, {"active", true}});
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code(), Errc::not_found);
    EXPECT_THAT(missing.error().message(), HasSubstr("[gpio.dock]"));
}

TEST(SimulateGpio, OffersEveryChipTheConfigNames) {
    auto config = pi_config();
    config.chip = "pinctrl-bcm2711";
    config.button->line.chip = "pinctrl-bcm2711";
    config.dock->line.chip = "1";
    config.status_led->offset = 53;
    auto chips = simulated_chips(config);
    ASSERT_EQ(chips.size(), 3u);
    EXPECT_EQ(chips[0].label, "pinctrl-bcm2711");
    EXPECT_EQ(chips[1].label, "1");
    EXPECT_EQ(chips[2].label, chip);
    EXPECT_EQ(chips[2].lines, 54u);
    boost::asio::io_context io;
    auto backend = make_gpio_backend(io, config);
    auto controls = GpioControls::open(io, *backend.gpio, config, {});
    EXPECT_TRUE(controls) << controls.error().to_string();
}

// ---- what the LEDs are told ----

sync::client::SyncStatus sync_in(sync::client::SyncState state, std::string error = "",
                                 bool unreachable = false) {
    sync::client::SyncStatus s;
    s.state = state;
    s.last_error = std::move(error);
    s.unreachable = unreachable;
    return s;
}

TEST(DeviceStatus, OfflineIsNotAnError) {
    using sync::client::SyncState;
    auto offline = device_status(
        {5, sync_in(SyncState::backoff, "cannot reach the server", true), false, false});
    EXPECT_TRUE(offline.records_pending);
    EXPECT_FALSE(offline.error);
    EXPECT_EQ(gpio::status_patterns(offline, true).status, LedPattern::on);

    auto refused = device_status({5, sync_in(SyncState::backoff, "HTTP 500"), false, false});
    EXPECT_TRUE(refused.error);
    auto stopped = device_status({0, sync_in(SyncState::stopped, "token refused"), false, false});
    EXPECT_TRUE(stopped.error);
    // A retry in progress shows as syncing, the old error notwithstanding.
    auto retrying = device_status({5, sync_in(SyncState::syncing, "HTTP 500"), false, false});
    EXPECT_TRUE(retrying.syncing);
    EXPECT_FALSE(retrying.error);

    auto store = device_status({0, std::nullopt, true, true});
    EXPECT_TRUE(store.error);
    EXPECT_TRUE(store.low_battery);
    EXPECT_FALSE(store.records_pending);
    EXPECT_TRUE(is_store_fault(Errc::no_space));
    EXPECT_FALSE(is_store_fault(Errc::conflict));
    EXPECT_FALSE(is_store_fault(Errc::unavailable));
}

// A store with the domain's record kinds in a temp dir, and the inspection service on it.
struct ServiceOnStore {
    testing::TempDir dir;
    std::unique_ptr<store::Store> store;
    std::unique_ptr<domain::InspectionService> service;
};

std::unique_ptr<ServiceOnStore> open_service() {
    auto on = std::make_unique<ServiceOnStore>();
    auto src = testing::source_dir();
    auto reference =
        config::load_reference_data(src / "config" / "sites.toml", src / "config" / "standards");
    if (!reference) {
        ADD_FAILURE() << reference.error().to_string();
        return nullptr;
    }
    store::StoreOptions options;
    options.data_dir = on->dir / "data";
    options.device_id = "test-device";
    auto opened = store::Store::open(options, domain::all_record_kinds());
    if (!opened) {
        ADD_FAILURE() << opened.error().to_string();
        return nullptr;
    }
    on->store = std::move(*opened);
    on->service = std::make_unique<domain::InspectionService>(
        *on->store, std::make_shared<const config::ReferenceData>(std::move(*reference)),
        domain::ServiceOptions{});
    return on;
}

TEST(StatusTracker, CountsTheOutboxAndClearsAStoreFaultOnceAWriteCommits) {
    auto on = open_service();
    ASSERT_TRUE(on);
    auto& store = on->store;
    auto& service = *on->service;

    boost::asio::io_context io;
    std::vector<gpio::DeviceStatus> shown;
    StatusTracker tracker(io, *store, [&](const gpio::DeviceStatus& s) { shown.push_back(s); });
    tracker.refresh();
    ASSERT_TRUE(run_until(io, [&] { return !shown.empty(); }));
    EXPECT_FALSE(tracker.shown().records_pending);

    auto started =
        service.execute_sync("inspection.start", json::object{{"site_id", "wwtp-east"},
                                                              {"kind", "wastewater_discharge"},
                                                              {"inspectors", json::array{"Li"}}});
    ASSERT_TRUE(started) << started.error().to_string();
    tracker.operation_finished(false);
    ASSERT_TRUE(run_until(io, [&] { return tracker.shown().records_pending; }));

    tracker.operation_finished(true);  // e.g. a write that met a full disk
    ASSERT_TRUE(run_until(io, [&] { return tracker.shown().error; }));
    tracker.refresh();  // reads alone do not clear it
    run_for(io, 100ms);
    EXPECT_TRUE(tracker.shown().error);
    ASSERT_TRUE(service.execute_sync("inspection.close", {}));
    tracker.operation_finished(false);
    ASSERT_TRUE(run_until(io, [&] { return !tracker.shown().error; }));

    tracker.set_low_battery(true);
    EXPECT_TRUE(tracker.shown().low_battery);
    store->close();
}

// A probe of a server out of reach changes nothing in the outbox, so it costs no count (and no
// store wake-up); an acknowledgement does.
TEST(StatusTracker, RecountsTheOutboxOnlyAfterTheUploaderTookEntriesOut) {
    auto on = open_service();
    ASSERT_TRUE(on);
    auto& store = on->store;
    auto& service = *on->service;
    ASSERT_TRUE(
        service.execute_sync("inspection.start", json::object{{"site_id", "wwtp-east"},
                                                              {"kind", "wastewater_discharge"},
                                                              {"inspectors", json::array{"Li"}}}));

    boost::asio::io_context io;
    StatusTracker tracker(io, *store, nullptr);
    sync::client::SyncStatus status;
    status.state = sync::client::SyncState::backoff;
    status.unreachable = true;
    status.last_error = "cannot reach the server";
    tracker.set_sync(status);  // the first status counts
    ASSERT_TRUE(run_until(io, [&] { return tracker.shown().records_pending; }));

    // Emptied behind the tracker's back: only the count would see it.
    ASSERT_TRUE(store->write([](store::WriteContext& ctx) -> Result<json::value> {
        auto del = ctx.db().prepare("DELETE FROM outbox");
        if (!del) return del.error();
        if (auto done = (*del)->run(); !done) return done.error();
        return json::value();
    }));
    status.attempts = 2;
    tracker.set_sync(status);  // another failed probe
    run_for(io, 50ms);
    EXPECT_TRUE(tracker.shown().records_pending) << "a failed probe does not count";

    status.sent_entries = 1;
    status.acked_seq = 1;
    status.state = sync::client::SyncState::idle;
    tracker.set_sync(status);
    EXPECT_TRUE(run_until(io, [&] { return !tracker.shown().records_pending; }));
    store->close();
}

}  // namespace
}  // namespace fieldlog::daemon
