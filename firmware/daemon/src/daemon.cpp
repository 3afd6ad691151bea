#include "daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/object.hpp>
#include <cstdlib>
#include <iostream>

#include "control_server.hpp"
#include "device_status.hpp"
#include "fieldlog/camera/inotify_camera_inbox.hpp"
#include "fieldlog/config/reference.hpp"
#include "fieldlog/domain/records.hpp"
#include "fieldlog/domain/service.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/gnss/replay_gnss.hpp"
#include "fieldlog/gnss/serial_gnss.hpp"
#include "fieldlog/power/sysfs_power.hpp"
#include "fieldlog/store/store.hpp"
#include "fieldlog/sync/client/network_watch.hpp"
#include "fieldlog/sync/client/uploader.hpp"
#include "gpio_controls.hpp"
#include "systemd_notifier.hpp"

namespace fieldlog::daemon {

namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Under systemd, stderr goes to the journal, which reads "<N>" prefixes as the priority.
void log_line(std::string_view level, std::string_view message) {
    static const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    std::string prefix;
    if (journal) {
        prefix = level == "error" ? "<3>" : level == "warning" ? "<4>" : "<6>";
    }
    std::cerr << prefix << "fieldlogd: " << level << ": " << message << std::endl;
}

// The uploader behind the inspection service's SyncControl.
class UploaderControl final : public domain::SyncControl {
public:
    explicit UploaderControl(sync::client::Uploader& uploader) : uploader_(uploader) {}

    void written() override { uploader_.notify_written(); }
    void sync(bool wait, std::function<void(Result<json::value>)> done) override {
        uploader_.request_sync(wait, std::move(done));
    }
    json::object status() const override { return uploader_.status().to_json(); }

private:
    sync::client::Uploader& uploader_;
};

gnss::GnssOptions gnss_options(const config::GnssConfig& config) {
    gnss::GnssOptions options;
    options.max_fix_age = config.max_fix_age;
    options.max_hdop = config.max_hdop;
    options.min_satellites = config.min_satellites;
    return options;
}

// status.gnss: what the inspector needs to know before relying on positions.
json::object gnss_status(const gnss::Gnss* receiver) {
    if (receiver == nullptr) return json::object{{"enabled", false}};
    gnss::GnssStatus status = receiver->status();
    json::object out{{"enabled", true},
                     {"fix_state", gnss::fix_state_name(status.fix_state)},
                     {"connected", status.connected},
                     {"satellites_used", status.satellites_used}};
    out["hdop"] = status.hdop ? json::value(*status.hdop) : json::value(nullptr);
    // The receiver's UTC time of its latest position report, whether or not it made a fix.
    out["last_fix_ms"] =
        status.gnss_time_ms ? json::value(*status.gnss_time_ms) : json::value(nullptr);
    if (!status.last_error.empty()) out["last_error"] = status.last_error;
    return out;
}

// status.power: the latest reading, or why there is none.
json::object power_status(const power::Power* supply) {
    if (supply == nullptr) return json::object{{"enabled", false}};
    auto state = supply->state();
    if (!state) return json::object{{"enabled", true}, {"error", state.error().to_string()}};
    json::object out{{"enabled", true},
                     {"charge", power::charge_state_name(state->charge)},
                     {"external_power", state->external_power},
                     {"low_battery", state->low_battery}};
    out["battery_percent"] =
        state->battery_percent ? json::value(*state->battery_percent) : json::value(nullptr);
    return out;
}

// Where an ingested inbox photo goes: inbox_dir/ingested/<name>, numbered if the name is taken.
std::filesystem::path ingested_path(const std::filesystem::path& photo) {
    std::filesystem::path dir = photo.parent_path() / "ingested";
    std::filesystem::path target = dir / photo.filename();
    for (int n = 1; std::filesystem::exists(target) && n < 10000; ++n) {
        target =
            dir / (photo.stem().string() + "-" + std::to_string(n) + photo.extension().string());
    }
    return target;
}

}  // namespace

struct Daemon::Impl {
    std::filesystem::path config_path;
    config::DaemonConfig config;
    asio::io_context io{1};
    asio::signal_set signals{io, SIGTERM, SIGINT, SIGHUP};
    std::unique_ptr<store::Store> store;
    // Only with [sync] enabled. Store callbacks reach the uploader (a write's trigger), so the
    // store is closed before the uploader goes.
    std::unique_ptr<sync::client::Uploader> uploader;
    std::unique_ptr<sync::client::NetworkWatch> network;
    // Only with [gnss]: one of the two backends, and gnss pointing at it. The service asks it
    // for the current fix, so it outlives the service.
    std::unique_ptr<gnss::SerialGnss> serial_gnss;
    std::unique_ptr<gnss::ReplayGnss> replay_gnss;
    gnss::Gnss* gnss = nullptr;
    std::unique_ptr<domain::InspectionService> service;
    // Only with [camera].
    std::unique_ptr<camera::InotifyCameraInbox> inbox;
    // Only with [power]; polls on a timer, so it goes when the daemon stops.
    std::unique_ptr<power::SysfsPower> power;
    bool low_battery = false;
    std::string power_error;
    // Only with [gpio]: the backend, the lines on it (which go first), and, with status LEDs,
    // what they show.
    GpioBackend gpio_backend;
    std::unique_ptr<GpioControls> gpio_controls;
    std::unique_ptr<StatusTracker> status_leds;
    std::unique_ptr<ControlServer> server;
    SystemdNotifier notifier{io};
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    void device_log(std::string_view level, std::string_view event, std::string message) {
        log_line(level, message);
        service->log(level, event, message, [this](const Error& error) {
            log_line("error", "cannot write the device log: " + error.to_string());
            operation_finished(error);
        });
        // The entry waits in the outbox like any record; the count runs after its commit.
        operation_finished(json::value());
    }

    // Failures of the device itself (not of the request) go to the device log for supervisors.
    ControlServer::Reply logging_failures(const std::string& op, ControlServer::Reply reply) {
        return [this, op, reply = std::move(reply)](Result<json::value> result) {
            // A failed sync is the uploader's state (status.sync.last_error), not a fault of
            // the device; the uploader logs what an operator must see itself.
            if (!result && op != "sync") {
                Errc code = result.error().code();
                if (code != Errc::invalid_argument && code != Errc::not_found &&
                    code != Errc::conflict && code != Errc::too_large) {
                    log_line("error", op + ": " + result.error().to_string());
                    if (code != Errc::no_space) {
                        service->log("error", "request_failed",
                                     op + ": " + result.error().to_string());
                    }
                }
            }
            reply(std::move(result));
        };
    }

    // The status LEDs follow every finished operation (the outbox may have grown, the store may
    // have failed); from any thread.
    void operation_finished(const Result<json::value>& result) {
        if (!status_leds) return;
        bool fault = !result && is_store_fault(result.error().code());
        asio::post(io, [this, fault] {
            if (status_leds) status_leds->operation_finished(fault);
        });
    }

    void stop_drivers() {
        status_leds.reset();
        gpio_controls.reset();
        power.reset();
        if (inbox) inbox->stop();
        if (serial_gnss) serial_gnss->stop();
        if (replay_gnss) replay_gnss->stop();
    }

    // Low battery and failed readings go to the device log once per change.
    void power_changed(const Result<power::PowerState>& state) {
        if (!state) {
            if (state.error().to_string() != power_error) {
                power_error = state.error().to_string();
                device_log("warning", "power_read_failed", "cannot read power: " + power_error);
            }
            return;
        }
        power_error.clear();
        std::string level =
            state->battery_percent ? std::to_string(*state->battery_percent) + "%" : "no battery";
        if (state->low_battery && !low_battery) {
            device_log("warning", "low_battery", "battery low: " + level);
        } else if (!state->low_battery && low_battery) {
            device_log("info", "battery_ok", "battery recovered: " + level);
        }
        low_battery = state->low_battery;
        if (status_leds) status_leds->set_low_battery(low_battery);
    }

    // An inbox photo goes in as `photo.add {path}` would: into the open inspection, the store
    // work on the store thread. Once the record is durable the file moves to ingested/, so a
    // restart does not offer it again; a refused file stays where it is.
    void ingest_photo(const std::filesystem::path& path) {
        service->execute(
            "photo.add", json::object{{"path", path.string()}},
            [this, path](Result<json::value> result) {
                operation_finished(result);
                if (!result) {
                    device_log("warning", "camera_skipped",
                               "camera inbox: " + path.string() +
                                   " left in the inbox: " + result.error().to_string());
                    return;
                }
                std::string id;
                bool duplicate = false;
                if (result->is_object()) {
                    const auto& obj = result->as_object();
                    if (const auto* photo = obj.if_contains("photo"); photo && photo->is_object()) {
                        if (const auto* pid = photo->as_object().if_contains("id");
                            pid && pid->is_string()) {
                            id = pid->as_string();
                        }
                    }
                    if (const auto* dup = obj.if_contains("duplicate"); dup && dup->is_bool()) {
                        duplicate = dup->as_bool();
                    }
                }
                std::error_code ec;
                std::filesystem::create_directories(path.parent_path() / "ingested", ec);
                std::filesystem::path target = ingested_path(path);
                if (!ec) std::filesystem::rename(path, target, ec);
                if (ec) {
                    device_log("warning", "camera_ingested",
                               "camera inbox: " + path.string() + " stored as photo " + id +
                                   " but not moved to " + target.string() + ": " + ec.message());
                    return;
                }
                device_log("info", "camera_ingested",
                           "camera inbox: " + path.filename().string() +
                               (duplicate ? " was already stored as photo " : " stored as photo ") +
                               id);
            });
    }

    void handle(const std::string& op, const json::object& args, ControlServer::Reply reply) {
        reply = logging_failures(op, std::move(reply));
        if (op == "gpio.simulate") {
            reply(simulate_gpio(gpio_backend.simulated, config.gpio, args));
            return;
        }
        if (op != "status") {
            service->execute(op, args,
                             [this, reply = std::move(reply)](Result<json::value> result) {
                                 operation_finished(result);
                                 reply(std::move(result));
                             });
            return;
        }
        auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
        service->execute(op, args,
                         [reply = std::move(reply), uptime, data_dir = config.data_dir.string(),
                          config_file = config_path.string(), gnss_now = gnss_status(gnss),
                          power_now = power_status(power.get()),
                          gpio_now = gpio_controls ? gpio_controls->status_json()
                                                   : json::object{{"enabled", false}}](
                             Result<json::value> result) {
                             if (result && result->is_object()) {
                                 auto& obj = result->as_object();
                                 obj["gnss"] = gnss_now;
                                 obj["power"] = power_now;
                                 obj["gpio"] = gpio_now;
                                 obj["version"] = FIELDLOG_VERSION;
                                 obj["uptime_s"] = uptime;
                                 obj["data_dir"] = data_dir;
                                 obj["config_file"] = config_file;
                             }
                             reply(std::move(result));
                         });
    }

    void wait_for_signal() {
        signals.async_wait([this](boost::system::error_code ec, int signal) {
            if (ec) {
                return;
            }
            if (signal == SIGHUP) {
                reload();
                wait_for_signal();
                return;
            }
            device_log("info", "stop",
                       std::string("stopping on ") + (signal == SIGTERM ? "SIGTERM" : "SIGINT"));
            notifier.stopping();
            notifier.stop_watchdog();
            server->stop();
            // Exchanges in flight are abandoned: the server takes the resend as a replay.
            if (network) network->stop();
            if (uploader) uploader->stop();
            stop_drivers();
            // Queued writes still commit: the store drains its queue when closed.
        });
    }

    void reload() {
        notifier.reloading();
        auto fresh = config::load_daemon_config(config_path);
        if (!fresh) {
            device_log(
                "error", "config_reload_failed",
                "config reload refused, the running config stays: " + fresh.error().message());
            notifier.status("running; last reload refused");
            return;
        }
        auto reference = config::load_reference_data(fresh->sites_file, fresh->standards_dir);
        if (!reference) {
            device_log(
                "error", "config_reload_failed",
                "config reload refused, the running config stays: " + reference.error().message());
            notifier.status("running; last reload refused");
            return;
        }
        if (fresh->device_id != config.device_id || fresh->data_dir != config.data_dir ||
            fresh->control_socket != config.control_socket ||
            fresh->synchronous != config.synchronous) {
            device_log("warning", "config_reload",
                       "device.id, device.data_dir, control.socket and store.synchronous take "
                       "effect at the next start");
        }
        if (!(fresh->gnss == config.gnss) || !(fresh->camera == config.camera) ||
            !(fresh->power == config.power) || !(fresh->gpio == config.gpio)) {
            device_log("warning", "config_reload",
                       "the [gnss], [camera], [power] and [gpio] settings take effect at the next "
                       "start");
        }
        if (!(fresh->sync == config.sync)) {
            device_log("warning", "config_reload",
                       "the [sync] settings take effect at the next start");
        }
        service->replace_reference(
            std::make_shared<const config::ReferenceData>(std::move(*reference)));
        const std::int64_t office = service->office_reference_version();
        device_log("info", "config_reload",
                   "configuration reloaded from " + config_path.string() + ": " +
                       std::to_string(service->reference()->sites.size()) + " sites" +
                       (office > 0 ? " (the office's reference data version " +
                                         std::to_string(office) + " stays in use)"
                                   : std::string()));
        notifier.status("running");
    }
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Daemon::~Daemon() {
    if (impl_->server) impl_->server->stop();
    if (impl_->store) impl_->store->close();
    if (impl_->network) impl_->network->stop();
    if (impl_->uploader) impl_->uploader->stop();
    impl_->stop_drivers();
}

Result<std::unique_ptr<Daemon>> Daemon::start(const std::filesystem::path& config_path) {
    auto impl = std::make_unique<Impl>();
    impl->config_path = config_path;
    auto config = config::load_daemon_config(config_path);
    if (!config) return config.error();
    impl->config = std::move(*config);
    auto reference =
        config::load_reference_data(impl->config.sites_file, impl->config.standards_dir);
    if (!reference) return reference.error();

    store::StoreOptions options;
    options.data_dir = impl->config.data_dir;
    options.device_id = impl->config.device_id;
    options.synchronous_full = impl->config.synchronous == config::DaemonConfig::Synchronous::full;
    auto store = store::Store::open(options, domain::all_record_kinds());
    if (!store) return store.error();
    impl->store = std::move(*store);

    Impl* raw = impl.get();
    domain::ServiceOptions service_options;
    service_options.max_photo_bytes = impl->config.max_photo_bytes;
    service_options.default_utc_offset_minutes = impl->config.default_utc_offset_minutes;
    service_options.device_log_max_entries = impl->config.device_log_max_entries;
    if (impl->config.sync.enabled) {
        sync::client::UploaderOptions uploader_options;
        uploader_options.config = impl->config.sync;
        uploader_options.device_log = [raw](std::string_view level, std::string_view event,
                                            std::string message) {
            raw->device_log(level, event, std::move(message));
        };
        uploader_options.on_status_change = [raw] {
            if (raw->status_leds) raw->status_leds->set_sync(raw->uploader->status());
        };
        // Reference data from the office goes through the service, which the uploader only
        // calls from the loop, once the service exists.
        uploader_options.reference.current_version = [raw] {
            return raw->service->office_reference_version();
        };
        uploader_options.reference.apply = [raw](std::string body, auto done) {
            raw->service->apply_reference_bundle(std::move(body), std::move(done));
        };
        auto uploader =
            sync::client::Uploader::create(impl->io, *impl->store, std::move(uploader_options));
        if (!uploader) return uploader.error();
        impl->uploader = std::move(*uploader);
        service_options.sync = std::make_shared<UploaderControl>(*impl->uploader);
    }
    if (const auto& gnss_config = impl->config.gnss;
        gnss_config.source == config::GnssConfig::Source::serial) {
        gnss::SerialGnssOptions serial;
        serial.device = gnss_config.device;
        serial.baud_rate = gnss_config.baud_rate;
        serial.gnss = gnss_options(gnss_config);
        auto receiver = gnss::SerialGnss::open(impl->io, std::move(serial));
        if (!receiver) return Error(receiver.error()).context("[gnss]");
        impl->serial_gnss = std::move(*receiver);
        impl->gnss = impl->serial_gnss.get();
    } else if (gnss_config.source == config::GnssConfig::Source::replay) {
        gnss::ReplayOptions replay;
        replay.gnss = gnss_options(gnss_config);
        replay.interval = gnss_config.replay_interval;
        replay.loop = gnss_config.replay_loop;
        auto receiver =
            gnss::ReplayGnss::from_file(impl->io, gnss_config.replay_file, std::move(replay));
        if (!receiver) return Error(receiver.error()).context("[gnss]");
        impl->replay_gnss = std::move(*receiver);
        impl->gnss = impl->replay_gnss.get();
    }
    if (impl->gnss != nullptr) {
        // Design invariant 6: a fresh, good fix goes on every record that takes a position.
        service_options.current_fix = [receiver = impl->gnss]() -> std::optional<domain::Fix> {
            auto fix = receiver->current_fix();
            if (!fix) return std::nullopt;
            return domain::Fix{fix->lat, fix->lon, fix->gnss_time_ms};
        };
    }
    impl->service = std::make_unique<domain::InspectionService>(
        *impl->store, std::make_shared<const config::ReferenceData>(std::move(*reference)),
        std::move(service_options));
    // The office's newest applied reference data, when there is any, goes before the files'.
    if (auto loaded = impl->service->load_office_reference(); !loaded) {
        log_line("error",
                 "the config files' reference data is in use: " + loaded.error().to_string());
    }

    // Photos are offered from the event loop only, so none arrives before the start entry.
    if (!impl->config.camera.inbox_dir.empty()) {
        const auto& camera_config = impl->config.camera;
        std::error_code ec;
        std::filesystem::create_directories(camera_config.inbox_dir, ec);
        if (ec) {
            return Error(Errc::io, "[camera] cannot create inbox_dir " +
                                       camera_config.inbox_dir.string() + ": " + ec.message());
        }
        impl->inbox = std::make_unique<camera::InotifyCameraInbox>(
            impl->io,
            camera::InotifyInboxConfig{camera_config.inbox_dir, camera_config.inbox_settle});
        auto watching = impl->inbox->start(
            [raw](const std::filesystem::path& path) -> Status {
                raw->ingest_photo(path);
                return {};
            },
            [raw](const std::filesystem::path& path, const Error& why) {
                raw->device_log("warning", "camera_skipped",
                                "camera inbox: " + path.string() + " skipped: " + why.to_string());
            });
        if (!watching) return Error(watching.error()).context("[camera]");
    }
    if (const auto& power_config = impl->config.power; power_config.enabled) {
        power::SysfsPowerConfig sysfs;
        sysfs.root = power_config.sysfs_root;
        sysfs.poll_interval = power_config.poll_interval;
        sysfs.low_battery.low_percent = power_config.low_battery_percent;
        sysfs.low_battery.hysteresis_percent = power_config.low_battery_hysteresis_percent;
        auto supply = power::SysfsPower::open(impl->io, sysfs);
        if (!supply) return Error(supply.error()).context("[power]");
        impl->power = std::move(*supply);
        if (const std::string& why = impl->power->uevent_error(); !why.empty()) {
            log_line("warning", "no power-supply events, the battery is read every " +
                                    std::to_string(power_config.poll_interval.count()) +
                                    " ms only: " + why);
        }
        // The first reading is reported like any change.
        asio::post(impl->io, [raw] {
            if (raw->power) raw->power_changed(raw->power->state());
        });
        impl->power->on_change(
            [raw](const Result<power::PowerState>& state) { raw->power_changed(state); });
    }
    if (const auto& gpio_config = impl->config.gpio; gpio_config.enabled) {
        impl->gpio_backend = make_gpio_backend(impl->io, gpio_config);
        GpioActions actions;
        actions.service = impl->service.get();
        actions.uploader = impl->uploader.get();
        actions.device_log = [raw](std::string_view level, std::string_view event,
                                   std::string message) {
            raw->device_log(level, event, std::move(message));
        };
        actions.mark_done = [raw](const Result<json::value>& result) {
            raw->operation_finished(result);
        };
        auto controls = GpioControls::open(impl->io, *impl->gpio_backend.gpio, gpio_config,
                                           gpio_events(impl->io, std::move(actions)));
        if (!controls) return controls.error();
        impl->gpio_controls = std::move(*controls);
        if (impl->gpio_controls->has_status_leds()) {
            impl->status_leds = std::make_unique<StatusTracker>(
                impl->io, *impl->store, [raw](const gpio::DeviceStatus& status) {
                    if (raw->gpio_controls) raw->gpio_controls->show(status);
                });
            if (impl->uploader) impl->status_leds->set_sync(impl->uploader->status());
            impl->status_leds->refresh();
        }
    }
    impl->server = std::make_unique<ControlServer>(
        impl->io, ControlLimits{impl->config.max_request_bytes, impl->config.max_clients},
        [raw](const std::string& op, const json::object& args, ControlServer::Reply reply) {
            raw->handle(op, args, std::move(reply));
        });
    if (auto listening = impl->server->listen(impl->config.control_socket); !listening) {
        return listening.error();
    }
    impl->device_log("info", "start",
                     "fieldlogd " FIELDLOG_VERSION " started: device " + impl->config.device_id +
                         ", data in " + impl->config.data_dir.string() + ", control socket " +
                         impl->config.control_socket.string());
    if (impl->uploader) {
        // A link coming up is the moment to try; without netlink the probes still run.
        auto network = sync::client::NetworkWatch::open(
            impl->io, [raw] { raw->uploader->notify_network_changed(); },
            std::chrono::milliseconds(500),
            [](const Error& error) {
                log_line("warning", "network-change events stopped, sync relies on its probes: " +
                                        error.message());
            });
        if (network) {
            impl->network = std::move(*network);
        } else {
            log_line("warning", "no network-change events, sync relies on its probes: " +
                                    network.error().message());
        }
        asio::post(impl->io, [raw] { raw->uploader->start(); });
    }
    return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

int Daemon::run() {
    impl_->wait_for_signal();
    impl_->notifier.ready("running");
    impl_->notifier.start_watchdog();
    impl_->io.run();
    impl_->store->close();
    log_line("info", "stopped");
    return 0;
}

}  // namespace fieldlog::daemon
