#include "device_status.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <utility>

namespace fieldlog::daemon {

namespace asio = boost::asio;
namespace json = boost::json;
using sync::client::SyncState;

gpio::DeviceStatus device_status(const StatusInputs& inputs) {
    gpio::DeviceStatus status;
    status.records_pending = inputs.pending_entries > 0;
    status.low_battery = inputs.low_battery;
    status.error = inputs.store_failed;
    if (inputs.sync) {
        const auto& sync = *inputs.sync;
        status.syncing = sync.state == SyncState::syncing;
        if (sync.state == SyncState::stopped ||
            (sync.state == SyncState::backoff && !sync.last_error.empty() && !sync.unreachable)) {
            status.error = true;
        }
    }
    return status;
}

bool is_store_fault(Errc code) {
    return code == Errc::database || code == Errc::corrupt || code == Errc::io ||
           code == Errc::no_space || code == Errc::internal;
}

struct StatusTracker::Impl : std::enable_shared_from_this<StatusTracker::Impl> {
    Impl(asio::io_context& context, store::Store& s, Show show_status)
        : io(context), store(s), show(std::move(show_status)) {}

    void publish() {
        shown = device_status(inputs);
        if (show) show(shown);
    }

    void count() {
        if (counting) {
            count_again = true;
            return;
        }
        counting = true;
        struct Counts {
            std::int64_t pending = 0;
            std::int64_t head = 0;
        };
        auto counts = std::make_shared<Counts>();
        store.submit_read(
            [counts](store::Database& db) -> Result<json::value> {
                auto stmt = db.prepare(
                    "SELECT (SELECT COUNT(*) FROM outbox), "
                    "(SELECT COALESCE(MAX(seq), 0) FROM evidence_chain)");
                if (!stmt) return stmt.error();
                auto row = (*stmt)->step();
                if (!row) return row.error();
                counts->pending = (*stmt)->int64(0);
                counts->head = (*stmt)->int64(1);
                (*stmt)->reset();
                return json::value();
            },
            // On the store thread: back to the loop, unless the tracker has gone meanwhile.
            [weak = weak_from_this(), &context = io, counts](Result<json::value> result) {
                asio::post(context, [weak, counts, ok = result.has_value()] {
                    if (auto self = weak.lock()) self->counted(ok, counts->pending, counts->head);
                });
            });
    }

    void counted(bool ok, std::int64_t pending, std::int64_t head) {
        counting = false;
        if (!ok) {
            fail();
        } else {
            inputs.pending_entries = pending;
            if (inputs.store_failed) {
                // The first count after a failure fixes where the chain stood; a write that
                // commits after that moves the head on and shows the store works again.
                if (!head_after_failure) {
                    head_after_failure = head;
                } else if (head > *head_after_failure) {
                    inputs.store_failed = false;
                    head_after_failure.reset();
                }
            }
        }
        publish();
        if (count_again) {
            count_again = false;
            count();
        }
    }

    void fail() {
        inputs.store_failed = true;
        head_after_failure.reset();
    }

    asio::io_context& io;
    store::Store& store;
    Show show;
    StatusInputs inputs;
    gpio::DeviceStatus shown;
    bool counting = false;
    bool count_again = false;
    std::optional<std::int64_t> head_after_failure;
};

StatusTracker::StatusTracker(asio::io_context& io, store::Store& store, Show show)
    : impl_(std::make_shared<Impl>(io, store, std::move(show))) {}

StatusTracker::~StatusTracker() = default;

void StatusTracker::set_sync(const sync::client::SyncStatus& status) {
    // Only an acknowledgement or a parked entry changes the outbox; an attempt that failed
    // leaves it as it was, and counting would wake the store thread at every probe of a server
    // out of reach.
    const auto& before = impl_->inputs.sync;
    bool outbox_changed = !before || before->sent_entries != status.sent_entries ||
                          before->parked_entries != status.parked_entries ||
                          before->acked_seq != status.acked_seq;
    impl_->inputs.sync = status;
    impl_->publish();  // syncing shows at once; the count follows
    if (outbox_changed) impl_->count();
}

void StatusTracker::set_low_battery(bool low) {
    if (impl_->inputs.low_battery == low) return;
    impl_->inputs.low_battery = low;
    impl_->publish();
}

void StatusTracker::operation_finished(bool fault) {
    if (fault) impl_->fail();
    impl_->count();
}

void StatusTracker::refresh() { impl_->count(); }

const gpio::DeviceStatus& StatusTracker::shown() const { return impl_->shown; }

}  // namespace fieldlog::daemon
