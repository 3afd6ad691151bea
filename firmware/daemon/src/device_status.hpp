// What the status LEDs show, worked out from the events that change it instead of a polling
// timer (design invariant 8): an operation finishing, the uploader's status changing, power
// changing. An idle device therefore costs no wake-ups for its LEDs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "fieldlog/gpio/status_leds.hpp"
#include "fieldlog/store/store.hpp"
#include "fieldlog/sync/client/uploader.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::daemon {

struct StatusInputs {
    std::int64_t pending_entries = 0;              // outbox entries not yet acknowledged
    std::optional<sync::client::SyncStatus> sync;  // nothing without [sync]
    bool store_failed = false;
    bool low_battery = false;
};

// records_pending: the outbox holds entries. syncing: a round is running. error: syncing
// stopped (an operator must act), an attempt failed for a reason other than the server being
// out of reach, or the store failed. Being out of reach is a field device's normal state and
// shows as records pending, not as an error, so an offline device stays steady and asleep.
gpio::DeviceStatus device_status(const StatusInputs& inputs);

// Whether a failed operation failed through the device's store or disk (database, corrupt,
// io, no_space, internal) rather than through the request or the uploader.
bool is_store_fault(Errc code);

// Keeps the inputs, re-counts the outbox when they may have changed and hands each resulting
// DeviceStatus to show. Every method runs on the event loop thread; the store is read on its own
// thread, one count at a time however many refreshes arrive meanwhile.
class StatusTracker {
public:
    using Show = std::function<void(const gpio::DeviceStatus&)>;

    // The store must stay open while counts can be queued (fieldlogd closes it last).
    StatusTracker(boost::asio::io_context& io, store::Store& store, Show show);
    ~StatusTracker();
    StatusTracker(const StatusTracker&) = delete;
    StatusTracker& operator=(const StatusTracker&) = delete;

    // The uploader's new status; when it acknowledged or parked entries since the last one, the
    // outbox may have emptied, so it re-counts.
    void set_sync(const sync::client::SyncStatus& status);
    void set_low_battery(bool low);
    // An operation finished. fault: it failed through the device (database, disk, I/O), not
    // through the request; the error stays until a later write commits.
    void operation_finished(bool fault);
    // Re-counts the outbox and shows the result.
    void refresh();

    const gpio::DeviceStatus& shown() const;

private:
    struct Impl;
    std::shared_ptr<Impl> impl_;
};

}  // namespace fieldlog::daemon
