// The inspection domain: validates each operation of the control protocol (docs/protocol.md)
// and turns it into store jobs, judging readings, ingesting photos and keeping the device log.
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/config/reference.hpp"
#include "fieldlog/store/store.hpp"

namespace fieldlog::domain {

namespace ops {
struct OpenInspectionHint;
}

// A GNSS position and time, attached to records when the receiver has a fresh fix.
struct Fix {
    double lat = 0;
    double lon = 0;
    std::int64_t gnss_time_ms = 0;
};

// The uploader as the inspection service sees it. The daemon plugs the sync client in here;
// without one, `sync` is refused and `status` reports sync as disabled. Every method may be
// called from any thread.
class SyncControl {
public:
    virtual ~SyncControl() = default;
    // A write committed durably; the uploader decides when it goes out (its batch age cap).
    virtual void written() = 0;
    // The `sync` operation: start now. Without wait, done runs at once with the sync status;
    // with wait, once the outbox is drained or the attempt failed.
    virtual void sync(bool wait, std::function<void(Result<boost::json::value>)> done) = 0;
    // The "sync" fields only the uploader knows: enabled, state, last_success_ms, last_error,
    // next_attempt_ms.
    virtual boost::json::object status() const = 0;
};

struct ServiceOptions {
    std::size_t max_photo_bytes = std::size_t{32} * 1024 * 1024;
    int default_utc_offset_minutes = 0;
    std::size_t device_log_max_entries = 10000;
    std::function<std::int64_t()> wall_clock_ms;
    std::function<std::optional<Fix>()> current_fix;
    std::shared_ptr<SyncControl> sync;
};

class InspectionService {
public:
    InspectionService(store::Store& store, std::shared_ptr<const config::ReferenceData> reference,
                      ServiceOptions options);

    // Checks op and args, then queues the work on the store; done runs on the store thread
    // with the reply's result object, after the commit when the operation writes. A request
    // that fails validation calls done at once, on the caller's thread.
    void execute(std::string_view op, const boost::json::object& args, store::Store::Done done);
    [[nodiscard]] Result<boost::json::value> execute_sync(std::string_view op,
                                                          const boost::json::object& args);

    // Appends to the device log; failures are reported to on_error, never thrown.
    void log(std::string_view level, std::string_view event, std::string_view message,
             std::function<void(const Error&)> on_error = {});

    // Swaps in reloaded reference data from the config files; requests already queued keep the
    // data they began with. While the device holds reference data from the office, that stays
    // in use and the config files' data is only the fallback.
    void replace_reference(std::shared_ptr<const config::ReferenceData> reference);
    // The data requests are judged against: the office's newest applied version, else the
    // config files'.
    std::shared_ptr<const config::ReferenceData> reference() const;

    // Reference data from the office (docs/sync-protocol.md). At start: takes the version the
    // store holds, if any, in place of the config files' data.
    [[nodiscard]] Status load_office_reference();
    // Checks a bundle as the server sent it (shape, SHA-256, this device, a version newer than
    // the one held, every entry) and applies it in one store transaction together with a
    // device-log entry; then requests use it. done runs on the store thread with the version
    // applied, or why the bundle was refused, in which case nothing changed.
    void apply_reference_bundle(std::string body, std::function<void(Result<std::int64_t>)> done);
    // The office version in use; 0 while the config files' data is.
    std::int64_t office_reference_version() const;

    static bool is_known_op(std::string_view op);

private:
    struct References;

    store::Store& store_;
    ServiceOptions options_;
    // Shared with store completions, which may finish after a request began.
    std::shared_ptr<References> references_;
    // Shared with write jobs, which may run after the service is gone.
    std::shared_ptr<ops::OpenInspectionHint> open_hint_;
};

}  // namespace fieldlog::domain
