// The device's uploader: drains the store's outbox to the office server in signed batches,
// photos first, and forgets an entry only once the server's acknowledgement covers it
// (docs/sync-protocol.md). It runs on the daemon's io_context and never blocks it: store work
// goes to the store thread, network work to libcurl's multi interface.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fieldlog/config/daemon_config.hpp"
#include "fieldlog/error.hpp"
#include "fieldlog/store/store.hpp"
#include "fieldlog/sync/client/upload_transport.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::sync::client {

// idle: nothing to send, or waiting for a batch to fill or age; syncing: exchanges in flight;
// backoff: waiting to retry after a failure; stopped: the server refused the device (401, 403,
// a diverged chain) or the token is unusable, and an operator must act. Only the `sync`
// operation restarts a stopped uploader.
enum class SyncState { idle, syncing, backoff, stopped };

std::string_view state_name(SyncState state);

struct SyncStatus {
    SyncState state = SyncState::idle;
    std::optional<std::int64_t> last_success_ms;  // wall clock of the last acknowledgement
    std::string last_error;                       // empty once an attempt succeeds
    std::optional<std::int64_t> next_attempt_ms;  // wall clock of the next scheduled attempt
    std::int64_t acked_seq = 0;                   // highest seq acknowledged since start
    std::int64_t sent_entries = 0;                // entries acknowledged since start
    std::int64_t parked_entries = 0;              // entries parked since start
    std::int64_t attempts = 0;                    // rounds begun since start
    // The last failure was the server being out of reach (no link, connection refused): the
    // normal state of a device in the field rather than something to put right.
    bool unreachable = false;
    // With reference data coming down (UploaderOptions::reference): when the server last
    // answered a request for it, and why the last request or bundle failed (empty once one
    // succeeds).
    bool reference_enabled = false;
    std::optional<std::int64_t> reference_checked_ms;
    std::string reference_error;

    // {enabled: true, state, last_success_ms, last_error, next_attempt_ms, attempts}, plus
    // reference_checked_ms and reference_error when reference data comes down: the fields of
    // the status operation's "sync" object that the store cannot answer.
    boost::json::object to_json() const;

    bool operator==(const SyncStatus&) const = default;
};

// Where downloaded reference data goes (sites, limits, assigned complaint cases; see
// docs/sync-protocol.md). Without apply the uploader only sends.
struct ReferenceHooks {
    // The version the device holds; 0 for none. Called on the loop.
    std::function<std::int64_t()> current_version;
    // Checks a bundle (the reply body) and applies it in one store transaction; done, on any
    // thread, gets the version applied or why the bundle was refused (nothing changed then).
    std::function<void(std::string body, std::function<void(Result<std::int64_t>)> done)> apply;
    // After the server answered, rounds ask again only this much later; a `sync` that waits
    // always asks.
    std::chrono::milliseconds check_interval{60'000};
};

struct UploaderOptions {
    config::SyncConfig config;
    // Records events an operator must see (an entry parked, syncing stopped) in the device log.
    std::function<void(std::string_view level, std::string_view event, std::string message)>
        device_log;
    std::function<std::int64_t()> wall_clock_ms;  // default: the system clock
    std::unique_ptr<UploadTransport> transport;   // default: libcurl over the io_context
    std::uint64_t random_seed = 0;                // backoff jitter; 0 draws one
    // Reference data is asked for once a round has drained the outbox, over the same
    // transport; a `sync` that waits is answered after it.
    ReferenceHooks reference;
    // Called on the loop thread each time the status() snapshot changes (a round begins or
    // ends, an error, an acknowledgement), so a display can follow without polling. It may call
    // status() but must not call back into the uploader otherwise.
    std::function<void()> on_status_change;
};

class Uploader {
public:
    using Done = std::function<void(Result<boost::json::value>)>;

    // Store jobs the uploader queued report back by posting to io, so io must outlive them:
    // close the store before destroying io (as fieldlogd does).
    [[nodiscard]] static Result<std::unique_ptr<Uploader>> create(boost::asio::io_context& io,
                                                                  store::Store& store,
                                                                  UploaderOptions options);
    ~Uploader();
    Uploader(const Uploader&) = delete;
    Uploader& operator=(const Uploader&) = delete;

    // Reads the device token and sends whatever the outbox already holds. Call on the loop.
    void start();
    // Abandons exchanges in flight (the server takes a resend as a replay) and answers waiting
    // sync requests with Errc::unavailable. Call on the loop.
    void stop();

    // Triggers; each may be called from any thread.
    // A write committed: the entries go out when a batch fills or its oldest is
    // batch_max_age old. It does not cut a backoff short.
    void notify_written();
    // The network changed, or the device was docked: try now, even during a backoff.
    void notify_network_changed();
    void notify_docked();
    // The `sync` operation: try now (restarting a stopped uploader). Without wait, done gets the
    // status at once; with wait, once the outbox is drained ({"drained": true, ...}) or the
    // attempt failed (the error). done runs on the loop thread.
    void request_sync(bool wait, Done done);

    // A consistent snapshot; may be called from any thread.
    SyncStatus status() const;

private:
    struct Impl;
    explicit Uploader(std::shared_ptr<Impl> impl);
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::sync::client
