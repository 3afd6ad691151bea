#include "daemon.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/json/object.hpp>
#include <cstdlib>
#include <iostream>

#include "control_server.hpp"
#include "fieldlog/config/reference.hpp"
#include "fieldlog/domain/records.hpp"
#include "fieldlog/domain/service.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/store/store.hpp"
#include "fieldlog/sync/client/network_watch.hpp"
#include "fieldlog/sync/client/uploader.hpp"
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
    std::unique_ptr<domain::InspectionService> service;
    std::unique_ptr<ControlServer> server;
    SystemdNotifier notifier{io};
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    void device_log(std::string_view level, std::string_view event, std::string message) {
        log_line(level, message);
        service->log(level, event, message, [](const Error& error) {
            log_line("error", "cannot write the device log: " + error.to_string());
        });
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

    void handle(const std::string& op, const json::object& args, ControlServer::Reply reply) {
        reply = logging_failures(op, std::move(reply));
        if (op != "status") {
            service->execute(op, args, std::move(reply));
            return;
        }
        auto uptime = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::steady_clock::now() - started)
                          .count();
        service->execute(op, args,
                         [reply = std::move(reply), uptime, data_dir = config.data_dir.string(),
                          config_file = config_path.string()](Result<json::value> result) {
                             if (result && result->is_object()) {
                                 auto& obj = result->as_object();
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
        if (!(fresh->sync == config.sync)) {
            device_log("warning", "config_reload",
                       "the [sync] settings take effect at the next start");
        }
        service->replace_reference(
            std::make_shared<const config::ReferenceData>(std::move(*reference)));
        device_log("info", "config_reload",
                   "configuration reloaded from " + config_path.string() + ": " +
                       std::to_string(service->reference()->sites.size()) + " sites");
        notifier.status("running");
    }
};

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Daemon::~Daemon() {
    if (impl_->server) impl_->server->stop();
    if (impl_->store) impl_->store->close();
    if (impl_->network) impl_->network->stop();
    if (impl_->uploader) impl_->uploader->stop();
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
        auto uploader =
            sync::client::Uploader::create(impl->io, *impl->store, std::move(uploader_options));
        if (!uploader) return uploader.error();
        impl->uploader = std::move(*uploader);
        service_options.sync = std::make_shared<UploaderControl>(*impl->uploader);
    }
    impl->service = std::make_unique<domain::InspectionService>(
        *impl->store, std::make_shared<const config::ReferenceData>(std::move(*reference)),
        std::move(service_options));

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
            impl->io, [raw] { raw->uploader->notify_network_changed(); });
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
