// The uploader's state machine. Everything here runs on the io_context thread; store work is
// submitted to the store thread and its result posted back, HTTP goes through UploadTransport.
//
// A round (state syncing) repeats until the outbox has nothing after the cursor:
//   read a batch (store thread: entries, parked set, blob list, body, head signature)
//   -> upload its photos that the server does not hold complete (HEAD, then PATCH chunks)
//   -> POST the batch -> act on the reply:
//        200              delete the entries sent that acked_seq covers, read the next batch
//        409 + acked_seq  resume after acked_seq (sequence_gap); blob_missing: upload, resend
//        400/413/422      narrow the batch down to the refused entry, then park it
//        401/403, a diverged chain, an unusable token          -> stopped
//        5xx, 408, 429, no link, broken exchange, garbage reply  -> backoff
// Each failure path deletes nothing: only a well-formed 200 covering entries sent in that very
// request deletes, so a lying or broken server can delay delivery but never lose a record.
#include "fieldlog/sync/client/uploader.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>
#include <deque>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>

#include "fieldlog/clock.hpp"
#include "fieldlog/config/reference_set.hpp"
#include "fieldlog/digest.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/store/blob_store.hpp"
#include "reference_fetch.hpp"
#include "wire.hpp"

namespace fieldlog::sync::client {

namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

std::string_view state_name(SyncState state) {
    switch (state) {
        case SyncState::idle:
            return "idle";
        case SyncState::syncing:
            return "syncing";
        case SyncState::backoff:
            return "backoff";
        case SyncState::stopped:
            return "stopped";
    }
    return "idle";
}

json::object SyncStatus::to_json() const {
    json::object out{{"enabled", true}, {"state", state_name(state)}};
    out["last_success_ms"] = last_success_ms ? json::value(*last_success_ms) : nullptr;
    out["last_error"] = last_error.empty() ? json::value(nullptr) : json::value(last_error);
    out["next_attempt_ms"] = next_attempt_ms ? json::value(*next_attempt_ms) : nullptr;
    out["attempts"] = attempts;
    if (reference_enabled) {
        out["reference_checked_ms"] =
            reference_checked_ms ? json::value(*reference_checked_ms) : nullptr;
        out["reference_error"] =
            reference_error.empty() ? json::value(nullptr) : json::value(reference_error);
    }
    return out;
}

namespace {

// The server refuses larger bodies (docs/sync-protocol.md); a batch that would exceed this is
// split before it is sent.
constexpr std::size_t max_body_bytes = std::size_t{8} << 20;
constexpr std::size_t max_token_bytes = 4096;
// Entries refused in a row before the uploader suspects the server rather than the entries.
constexpr int max_consecutive_parks = 5;
constexpr int max_blob_missing_rounds = 3;
constexpr int max_offset_corrections = 3;
constexpr std::size_t max_remembered_blobs = 4096;
// A chunk whose PATCH broke is sent again in halves, down to this (or chunk_bytes if smaller).
constexpr std::size_t min_chunk_bytes = 16 * 1024;

struct BlobRef {
    std::string sha256;
    std::filesystem::path path;
    std::uint64_t size = 0;
    bool readable = false;  // the file exists with the size the blobs table records
    std::int64_t seq = 0;   // the photo entry that names it
    std::string record_id;
};

struct EntryInfo {
    std::int64_t seq;
    std::string kind;
    std::string record_id;
};

// One batch as read on the store thread: what the loop needs to send it and act on the reply.
struct Batch {
    bool empty = true;
    std::int64_t first_seq = 0;
    std::int64_t last_seq = 0;
    std::vector<EntryInfo> entries;
    std::set<std::int64_t> withheld;
    std::vector<BlobRef> blobs;
    std::string body;
    bool too_large = false;
};

std::optional<std::string> extension_for(std::string_view media_type) {
    if (media_type == "image/jpeg") return "jpg";
    return std::nullopt;
}

Status build_batch(store::Database& db, const store::Store& store,
                   const store::BlobStore& blob_store, std::int64_t after, std::size_t max_entries,
                   std::size_t max_bytes, Batch& out) {
    auto entries = store::read_outbox(db, after, max_entries, max_bytes);
    if (!entries) return entries.error();
    if (entries->empty()) return {};
    out.empty = false;
    out.first_seq = entries->front().entry.seq;
    out.last_seq = entries->back().entry.seq;

    std::map<std::int64_t, wire::Withheld> withheld;
    auto parked =
        db.prepare("SELECT seq, code, message FROM parked_entries WHERE seq >= ?1 AND seq <= ?2");
    if (!parked) return parked.error();
    (*parked)->bind(1, out.first_seq).bind(2, out.last_seq);
    for (;;) {
        auto row = (*parked)->step();
        if (!row) return row.error();
        if (!*row) break;
        withheld[(*parked)->int64(0)] = {(*parked)->text(1), (*parked)->text(2)};
        out.withheld.insert((*parked)->int64(0));
    }
    (*parked)->reset();

    auto pending =
        db.prepare("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox WHERE seq > ?1");
    if (!pending) return pending.error();
    (*pending)->bind(1, out.last_seq);
    auto pending_row = (*pending)->step();
    if (!pending_row) return pending_row.error();
    wire::Pending after_batch{(*pending)->int64(0), (*pending)->int64(1)};
    (*pending)->reset();

    auto blob_row = db.prepare("SELECT size, media_type FROM blobs WHERE sha256 = ?1");
    if (!blob_row) return blob_row.error();
    std::set<std::string> seen;
    for (const auto& e : *entries) {
        out.entries.push_back({e.entry.seq, e.entry.kind, e.entry.record_id});
        if (e.entry.kind != "photo" || e.entry.action != "put" ||
            out.withheld.contains(e.entry.seq)) {
            continue;
        }
        // A photo payload without a valid sha256 is the server's to refuse (bad_payload),
        // which parks the entry like any other refused record.
        auto sha = wire::photo_blob(e.payload);
        if (!sha || !seen.insert(*sha).second) continue;
        BlobRef ref;
        ref.sha256 = *sha;
        ref.seq = e.entry.seq;
        ref.record_id = e.entry.record_id;
        (*blob_row)->bind(1, *sha);
        auto row = (*blob_row)->step();
        if (!row) return row.error();
        if (*row) {
            std::int64_t size = (*blob_row)->int64(0);
            auto ext = extension_for((*blob_row)->text(1));
            if (size >= 0 && ext) {
                ref.size = static_cast<std::uint64_t>(size);
                ref.path = blob_store.path_of(ref.sha256, *ext);
                std::error_code ec;
                auto on_disk = std::filesystem::file_size(ref.path, ec);
                ref.readable = !ec && on_disk == ref.size;
            }
        }
        (*blob_row)->reset();
        out.blobs.push_back(std::move(ref));
    }

    store::Signature signature = store.sign_head(out.last_seq, entries->back().entry.entry_hash);
    out.body = wire::batch_body(store.public_key(), after_batch, *entries, withheld, signature);
    out.too_large = out.body.size() > max_body_bytes;
    return {};
}

Result<std::string> read_chunk(const std::filesystem::path& path, std::uint64_t offset,
                               std::size_t length) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error(errno, "cannot open photo", path);
    std::string chunk(length, '\0');
    std::size_t done = 0;
    while (done < length) {
        ssize_t n = ::pread(fd.get(), chunk.data() + done, length - done,
                            static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(errno, "cannot read photo", path);
        if (n == 0)
            return Error(Errc::corrupt, "photo " + path.string() + " is shorter than recorded");
        done += static_cast<std::size_t>(n);
    }
    return chunk;
}

Result<std::string> hash_file(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return errno_error(errno, "cannot open photo", path);
    Sha256Hasher hasher;
    std::vector<std::uint8_t> buffer(64 * 1024);
    for (;;) {
        ssize_t n = ::read(fd.get(), buffer.data(), buffer.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(errno, "cannot read photo", path);
        if (n == 0) break;
        hasher.update(std::span(buffer.data(), static_cast<std::size_t>(n)));
    }
    return to_hex(hasher.finish());
}

// The device token: the file must belong to nobody else (mode 0600 or stricter), hold one line
// of visible ASCII, and the token never appears in a message.
Result<std::string> read_token(const std::filesystem::path& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd) return errno_error(errno, "cannot open sync.token_file", path);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return errno_error(errno, "cannot stat sync.token_file", path);
    if (!S_ISREG(st.st_mode)) {
        return Error(Errc::invalid_argument,
                     "sync.token_file " + path.string() + " is not a regular file");
    }
    if ((st.st_mode & 077) != 0) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        return Error(Errc::permission, "sync.token_file " + path.string() + " has mode " + mode +
                                           "; the device token must be readable by its owner "
                                           "only (chmod 600 " +
                                           path.string() + ")");
    }
    std::string text(max_token_bytes + 1, '\0');
    std::size_t got = 0;
    while (got < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(errno, "cannot read sync.token_file", path);
        if (n == 0) break;
        got += static_cast<std::size_t>(n);
    }
    text.resize(got);
    if (text.size() > max_token_bytes) {
        return Error(Errc::invalid_argument, "sync.token_file " + path.string() +
                                                 " is larger than " +
                                                 std::to_string(max_token_bytes) + " bytes");
    }
    auto first = text.find_first_not_of(" \t\r\n");
    auto last = text.find_last_not_of(" \t\r\n");
    std::string token = first == std::string::npos ? "" : text.substr(first, last - first + 1);
    if (token.empty()) {
        return Error(Errc::invalid_argument, "sync.token_file " + path.string() + " is empty");
    }
    for (char c : token) {
        if (c < 0x21 || c > 0x7e) {
            return Error(Errc::invalid_argument,
                         "sync.token_file " + path.string() +
                             " must hold the token on one line of printable ASCII");
        }
    }
    return token;
}

std::string http_error_text(const HttpResponse& response,
                            const std::optional<wire::ServerError>& error) {
    std::string text = "HTTP " + std::to_string(response.status);
    if (error) {
        text += " " + error->code;
        if (!error->message.empty()) text += ": " + error->message;
    } else if (!response.body.empty()) {
        text += " with a reply that is not a protocol error object";
    }
    return text;
}

bool transient_status(int status) { return status == 408 || status == 429 || status >= 500; }

std::optional<std::uint64_t> byte_count_header(const HttpResponse& response,
                                               std::string_view name) {
    auto value = response.header(name);
    if (!value) return std::nullopt;
    return wire::parse_byte_count(*value);
}

bool upload_complete(const HttpResponse& response) {
    auto value = response.header("upload-complete");
    return value && *value == "?1";
}

}  // namespace

struct Uploader::Impl : std::enable_shared_from_this<Uploader::Impl> {
    Impl(asio::io_context& context, store::Store& s, UploaderOptions o)
        : io(context),
          store(s),
          config(std::move(o.config)),
          device_log(std::move(o.device_log)),
          wall_clock_ms(std::move(o.wall_clock_ms)),
          transport(std::move(o.transport)),
          random(o.random_seed != 0 ? o.random_seed : std::random_device{}()),
          timer(context),
          blob_store(store.database_path().parent_path() / "blobs"),
          entry_limit(config.batch_max_entries) {
        if (!wall_clock_ms) wall_clock_ms = [] { return SystemClock().wall_ms(); };
        std::string base = config.url;
        while (!base.empty() && base.back() == '/') base.pop_back();
        device_url = base + "/v1/devices/" + store.device_id();
        if (o.reference.apply) {
            reference = std::make_shared<ReferenceFetch>(io, std::move(o.reference), device_log,
                                                         wall_clock_ms);
            snapshot.reference_enabled = true;
        }
    }

    asio::io_context& io;
    store::Store& store;
    config::SyncConfig config;
    std::function<void(std::string_view, std::string_view, std::string)> device_log;
    std::function<std::int64_t()> wall_clock_ms;
    std::unique_ptr<UploadTransport> transport;
    std::mt19937_64 random;
    asio::steady_timer timer;
    std::uint64_t timer_epoch = 0;
    store::BlobStore blob_store;
    std::string device_url;
    std::string token;
    // Reference data, asked for once per round after the outbox drained (when hooks are set).
    std::shared_ptr<ReferenceFetch> reference;
    bool reference_asked = false;

    bool halted = false;
    SyncState state = SyncState::idle;
    int failures = 0;
    // A TLS failure was put in the device log since the last exchange that went through.
    bool tls_failure_logged = false;
    bool probing = false;  // the last failure was the server being out of reach
    bool age_timer_armed = false;
    bool dirty = false;  // a write arrived while a round was running
    bool fill_check_running = false;
    bool fill_check_again = false;
    std::vector<Done> waiters;

    // The round.
    std::int64_t cursor = 0;        // read entries after this seq
    std::int64_t expect_first = 0;  // after a 409 resume: the seq the outbox must continue with
    std::size_t entry_limit;
    std::int64_t isolate_until = 0;  // the end of a refused batch being narrowed down
    int consecutive_parks = 0;
    int blob_missing_rounds = 0;
    bool reread_after_blobs = false;  // after blob_missing: the batch is read again, not posted
    std::shared_ptr<Batch> batch;
    std::deque<BlobRef> blob_queue;
    std::set<std::string> complete_blobs;

    struct Upload {
        BlobRef ref;
        std::uint64_t offset = 0;
        std::size_t chunk = 0;
        int corrections = 0;    // 409 offset_mismatch answers followed, or impossible offsets
        int final_heads = 0;    // HEADs after sending the last byte without a 201
        bool rehashed = false;  // the local file was checked after a 422 hash_mismatch
    } upload;
    // A link that breaks before a whole chunk is through would fail the same chunk for ever:
    // after a broken PATCH the photo goes on in chunks half as large. Kept across rounds, for
    // the photo it was learnt on.
    std::string narrowed_blob;
    std::size_t narrowed_chunk = 0;

    mutable std::mutex status_mutex;
    SyncStatus snapshot;
    std::function<void()> on_status_change;  // UploaderOptions::on_status_change

    // ---- plumbing ----

    // Wraps a completion so that it runs only while the uploader lives and has not stopped.
    template <class F>
    auto guarded(F f) {
        return [weak = weak_from_this(), f = std::move(f)](auto&&... args) mutable {
            auto self = weak.lock();
            if (!self || self->halted) return;
            f(*self, std::forward<decltype(args)>(args)...);
        };
    }

    // A store completion (called on the store thread) that continues on the loop.
    template <class F>
    store::Store::Done on_loop(F f) {
        return [&context = io, g = guarded(std::move(f))](Result<json::value> result) mutable {
            asio::post(context, [g = std::move(g), result = std::move(result)]() mutable {
                g(std::move(result));
            });
        };
    }

    void publish() {
        update_status([](SyncStatus&) {});
    }

    template <class F>
    void update_status(F f) {
        bool changed = false;
        {
            std::lock_guard lock(status_mutex);
            SyncStatus before = snapshot;
            f(snapshot);
            snapshot.state = state;
            changed = !(snapshot == before);
        }
        // Outside the lock, since the listener reads status().
        if (changed && on_status_change && !halted) on_status_change();
    }

    void arm_timer(milliseconds delay, void (Impl::*then)()) {
        timer.expires_after(delay);
        std::uint64_t epoch = ++timer_epoch;
        timer.async_wait(guarded([epoch, then](Impl& self, const boost::system::error_code& ec) {
            if (ec || epoch != self.timer_epoch) return;
            (self.*then)();
        }));
        std::int64_t at = wall_clock_ms() + delay.count();
        update_status([&](SyncStatus& s) { s.next_attempt_ms = at; });
    }

    void cancel_timer() {
        ++timer_epoch;
        timer.cancel();
        age_timer_armed = false;
        update_status([](SyncStatus& s) { s.next_attempt_ms.reset(); });
    }

    std::vector<HttpHeader> auth_headers() const { return {{"Authorization", "Bearer " + token}}; }

    std::string blob_url(const std::string& sha256) const {
        return device_url + "/blobs/" + sha256;
    }

    void answer_waiters(const Result<json::value>& result) {
        auto answering = std::move(waiters);
        waiters.clear();
        for (auto& done : answering) done(result);
    }

    json::object status_json() const {
        std::lock_guard lock(status_mutex);
        return snapshot.to_json();
    }

    // Runs f on the loop, from any thread, unless the uploader is gone or stopped by then.
    template <class F>
    void post_here(F f) {
        asio::post(io, guarded([f = std::move(f)](Impl& self) mutable { f(self); }));
    }

    // ---- triggers ----

    void start() { begin_round(); }

    void on_written() {
        if (state == SyncState::syncing) {
            dirty = true;
            return;
        }
        if (state != SyncState::idle) return;  // a retry or an operator comes first
        if (!age_timer_armed) {
            age_timer_armed = true;
            arm_timer(config.batch_max_age, &Impl::age_reached);
        }
        check_fill();
    }

    void age_reached() {
        age_timer_armed = false;
        begin_round();
    }

    // A batch that is already full goes at once rather than waiting for its age.
    void check_fill() {
        if (fill_check_running) {
            fill_check_again = true;
            return;
        }
        fill_check_running = true;
        auto counts = std::make_shared<std::pair<std::int64_t, std::int64_t>>();
        store.submit_read(
            [counts](store::Database& db) -> Result<json::value> {
                auto stmt =
                    db.prepare("SELECT COUNT(*), COALESCE(SUM(LENGTH(payload)), 0) FROM outbox");
                if (!stmt) return stmt.error();
                auto row = (*stmt)->step();
                if (!row) return row.error();
                *counts = {(*stmt)->int64(0), (*stmt)->int64(1)};
                (*stmt)->reset();
                return json::value();
            },
            on_loop([counts](Impl& self, Result<json::value> result) {
                self.fill_check_running = false;
                if (self.state != SyncState::idle) return;
                bool full =
                    result &&
                    (counts->first >= static_cast<std::int64_t>(self.config.batch_max_entries) ||
                     counts->second >= static_cast<std::int64_t>(self.config.batch_max_bytes));
                if (full) {
                    self.begin_round();
                } else if (self.fill_check_again) {
                    self.fill_check_again = false;
                    self.check_fill();
                }
            }));
    }

    // A network change, a dock, the operator: try now, cutting a backoff short. Only the
    // operator (restart) brings a stopped uploader back.
    void on_explicit(bool restart) {
        if (state == SyncState::syncing) return;  // the round drains everything anyway
        if (state == SyncState::stopped) {
            if (!restart) return;
            token.clear();  // read again: the operator may have replaced it
            failures = 0;
        }
        // A new link may reach the server: its probes start short again.
        if (probing) failures = 0;
        begin_round();
    }

    void on_request(bool wait, Done done) {
        if (wait) waiters.push_back(done);
        on_explicit(true);
        if (wait) return;
        if (state == SyncState::stopped) {
            std::string error;
            {
                std::lock_guard lock(status_mutex);
                error = snapshot.last_error;
            }
            done(Error(Errc::permission, "syncing is stopped: " + error));
            return;
        }
        done(json::value(json::object{{"started", true}, {"sync", status_json()}}));
    }

    // ---- the round ----

    void begin_round() {
        cancel_timer();
        if (token.empty()) {
            auto read = read_token(config.token_file);
            if (!read) {
                stop_with(read.error().message(), Errc::permission);
                return;
            }
            token = std::move(*read);
        }
        state = SyncState::syncing;
        update_status([](SyncStatus& s) { ++s.attempts; });
        cursor = 0;
        expect_first = 0;
        dirty = false;
        entry_limit = config.batch_max_entries;
        isolate_until = 0;
        consecutive_parks = 0;
        blob_missing_rounds = 0;
        reference_asked = false;
        read_batch();
    }

    void read_batch() {
        auto next = std::make_shared<Batch>();
        store.submit_read(
            [next, &s = store, &blobs = blob_store, after = cursor, max_entries = entry_limit,
             max_bytes = config.batch_max_bytes](store::Database& db) -> Result<json::value> {
                auto built = build_batch(db, s, blobs, after, max_entries, max_bytes, *next);
                if (!built) return built.error();
                return json::value();
            },
            on_loop([next](Impl& self, Result<json::value> result) {
                self.on_batch_read(next, std::move(result));
            }));
    }

    void on_batch_read(std::shared_ptr<Batch> next, Result<json::value> result) {
        if (!result) {
            fail("cannot read the outbox: " + result.error().message(), false, std::nullopt);
            return;
        }
        batch = std::move(next);
        if (batch->empty) {
            finish_round();
            return;
        }
        if (expect_first != 0 && batch->first_seq != expect_first) {
            stop_with("the server holds entries up to " + std::to_string(expect_first - 1) +
                          " but this device's outbox continues at " +
                          std::to_string(batch->first_seq) + ": entries " +
                          std::to_string(expect_first) + " to " +
                          std::to_string(batch->first_seq - 1) +
                          " were acknowledged earlier and are no longer on the device",
                      Errc::conflict);
            return;
        }
        if (batch->too_large && batch->entries.size() > 1) {
            entry_limit = std::max<std::size_t>(1, batch->entries.size() / 2);
            read_batch();
            return;
        }
        reread_after_blobs = false;
        blob_queue.assign(batch->blobs.begin(), batch->blobs.end());
        next_blob();
    }

    void finish_round() {
        if (reference && !reference_asked) {
            // Still syncing: writes meanwhile wait for the round (dirty), and a `sync` that
            // waits is answered with the reference data current.
            reference_asked = true;
            reference->run(*transport, device_url + "/reference", auth_headers(), !waiters.empty(),
                           guarded([](Impl& self, ReferenceOutcome outcome) {
                               if (outcome.asked) {
                                   self.update_status([&](SyncStatus& s) {
                                       if (outcome.checked_ms) {
                                           s.reference_checked_ms = outcome.checked_ms;
                                       }
                                       s.reference_error = outcome.error;
                                   });
                               }
                               self.finish_round();
                           }));
            return;
        }
        state = SyncState::idle;
        failures = 0;
        tls_failure_logged = false;
        update_status([](SyncStatus& s) {
            s.last_error.clear();
            s.next_attempt_ms.reset();
        });
        answer_waiters(json::value(json::object{{"drained", true}, {"sync", status_json()}}));
        if (dirty) {
            dirty = false;
            on_written();
        }
    }

    void post_batch() {
        HttpRequest request{"POST", device_url + "/batches", auth_headers(),
                            std::move(batch->body)};
        request.headers.push_back({"Content-Type", "application/json"});
        transport->send(std::move(request), guarded([](Impl& self, Result<HttpResponse> reply) {
                            self.on_batch_reply(std::move(reply));
                        }));
    }

    void on_batch_reply(Result<HttpResponse> reply) {
        if (!reply) {
            fail_exchange(reply.error());
            return;
        }
        const HttpResponse& response = *reply;
        auto retry_after = retry_after_of(response);
        if (response.status == 200) {
            on_accepted(response);
            return;
        }
        auto error = wire::parse_error(response.body);
        std::string what = http_error_text(response, error);
        if (response.status == 401 || response.status == 403) {
            stop_with("the server refused this device (" + what +
                          "): check the device token (sync.token_file) and the device's "
                          "enrolment at the server",
                      Errc::permission);
            return;
        }
        if (response.status == 409 && error) {
            if (error->code == "blob_missing") {
                on_blob_missing(*error);
                return;
            }
            if (error->code == "replay_mismatch") {
                stop_with(
                    "the server holds different entries under this device's sequence "
                    "numbers (" +
                        what +
                        "): the device id may be in use by another device, or the store "
                        "was restored from an old copy",
                    Errc::conflict);
                return;
            }
            if (error->acked_seq) {
                resume_after(*error->acked_seq, what);
                return;
            }
        }
        if ((response.status == 400 || response.status == 413 || response.status == 422) && error) {
            on_refused(response.status, *error, what);
            return;
        }
        fail(what + " from " + device_url + "/batches", false, retry_after);
    }

    std::optional<milliseconds> retry_after_of(const HttpResponse& response) {
        if (!transient_status(response.status)) return std::nullopt;
        auto value = response.header("retry-after");
        if (!value) return std::nullopt;
        return wire::parse_retry_after(*value, wall_clock_ms());
    }

    void on_accepted(const HttpResponse& response) {
        auto acked = wire::parse_acked_seq(response.body);
        if (!acked) {
            fail("the server answered 200 without a valid acked_seq; nothing was deleted", false,
                 std::nullopt);
            return;
        }
        if (*acked > batch->last_seq) {
            fail("protocol error: the server acknowledged entry " + std::to_string(*acked) +
                     " but the last entry sent was " + std::to_string(batch->last_seq) +
                     "; nothing was deleted",
                 false, std::nullopt);
            return;
        }
        if (*acked < batch->first_seq) {
            fail("the server answered 200 but acknowledged none of entries " +
                     std::to_string(batch->first_seq) + " to " + std::to_string(batch->last_seq) +
                     " (acked_seq " + std::to_string(*acked) + ")",
                 false, std::nullopt);
            return;
        }
        acknowledge(batch->first_seq, *acked);
    }

    // Deletes exactly the entries sent in this request that the acknowledgement covers.
    void acknowledge(std::int64_t first, std::int64_t acked) {
        store.submit_write(
            [first, acked](store::WriteContext& ctx) -> Result<json::value> {
                auto stmt = ctx.db().prepare("DELETE FROM outbox WHERE seq >= ?1 AND seq <= ?2");
                if (!stmt) return stmt.error();
                (*stmt)->bind(1, first).bind(2, acked);
                if (auto done = (*stmt)->run(); !done) return done.error();
                return json::value(ctx.db().changes());
            },
            on_loop([first, acked](Impl& self, Result<json::value> result) {
                if (!result) {
                    self.fail("cannot delete acknowledged entries: " + result.error().message(),
                              false, std::nullopt);
                    return;
                }
                self.on_acknowledged(first, acked);
            }));
    }

    void on_acknowledged(std::int64_t first, std::int64_t acked) {
        failures = 0;
        tls_failure_logged = false;
        bool delivered_records =
            static_cast<std::size_t>(acked - first + 1) >
            static_cast<std::size_t>(
                std::count_if(batch->withheld.begin(), batch->withheld.end(),
                              [&](std::int64_t seq) { return seq >= first && seq <= acked; }));
        if (delivered_records) consecutive_parks = 0;
        std::int64_t now = wall_clock_ms();
        update_status([&](SyncStatus& s) {
            s.last_success_ms = now;
            s.last_error.clear();
            s.acked_seq = std::max(s.acked_seq, acked);
            s.sent_entries += acked - first + 1;
        });
        if (isolate_until != 0 && acked >= isolate_until) {
            entry_limit = config.batch_max_entries;
            isolate_until = 0;
        }
        cursor = acked;
        expect_first = 0;
        blob_missing_rounds = 0;
        read_batch();
    }

    // A 409 with acked_seq (sequence_gap): the server holds entries 1..acked_seq. Those of them
    // sent in this request are acknowledged like a 200's; the round goes on after acked_seq.
    void resume_after(std::int64_t acked, const std::string& what) {
        if (acked > batch->last_seq) {
            fail("protocol error: " + what + " with acked_seq " + std::to_string(acked) +
                     " beyond the last entry sent, " + std::to_string(batch->last_seq) +
                     "; nothing was deleted",
                 false, std::nullopt);
            return;
        }
        if (acked >= batch->first_seq) {
            acknowledge(batch->first_seq, acked);
            return;
        }
        if (acked + 1 == batch->first_seq) {
            fail("protocol error: " + what + ", yet acked_seq " + std::to_string(acked) +
                     " is right before the first entry sent",
                 false, std::nullopt);
            return;
        }
        // The server wants entries before this batch: the outbox must still hold them.
        cursor = acked;
        expect_first = acked + 1;
        read_batch();
    }

    // A 400, 413 or 422 with a protocol error: one entry (or the batch's size) is refused for
    // good. Halve the batch until the refused entry stands alone, then park it.
    void on_refused(int status, const wire::ServerError& error, const std::string& what) {
        if (batch->entries.size() > 1) {
            entry_limit = std::max<std::size_t>(1, batch->entries.size() / 2);
            isolate_until = std::max(isolate_until, batch->last_seq);
            read_batch();
            return;
        }
        const EntryInfo& entry = batch->entries.front();
        if (batch->withheld.contains(entry.seq)) {
            stop_with("the server refuses entry " + std::to_string(entry.seq) + " (" + entry.kind +
                          " " + entry.record_id + ") even without its payload (" + what +
                          "); the entries after it cannot be delivered",
                      Errc::conflict);
            return;
        }
        park(entry, status, error.code, error.message.empty() ? what : error.message);
    }

    void park(const EntryInfo& entry, int status, std::string code, std::string message) {
        if (++consecutive_parks > max_consecutive_parks) {
            stop_with("the server refused " + std::to_string(max_consecutive_parks) +
                          " entries in a row, the last " + std::to_string(entry.seq) + " (" + code +
                          ": " + message + "); check the server before more are parked",
                      Errc::conflict);
            return;
        }
        std::int64_t now = wall_clock_ms();
        store.submit_write(
            [seq = entry.seq, now, status, code,
             message](store::WriteContext& ctx) -> Result<json::value> {
                auto stmt = ctx.db().prepare(
                    "INSERT OR IGNORE INTO parked_entries (seq, kind, record_id, parked_ms, "
                    "http_status, code, message, payload) SELECT o.seq, c.kind, c.record_id, ?2, "
                    "?3, ?4, ?5, o.payload FROM outbox o JOIN evidence_chain c ON c.seq = o.seq "
                    "WHERE o.seq = ?1");
                if (!stmt) return stmt.error();
                (*stmt)->bind(1, seq).bind(2, now).bind(3, status).bind(4, code).bind(5, message);
                if (auto done = (*stmt)->run(); !done) return done.error();
                return json::value(ctx.db().changes());
            },
            on_loop([entry, status, code, message](Impl& self, Result<json::value> result) {
                if (!result) {
                    self.fail("cannot park entry " + std::to_string(entry.seq) + ": " +
                                  result.error().message(),
                              false, std::nullopt);
                    return;
                }
                self.update_status([](SyncStatus& s) { ++s.parked_entries; });
                if (self.device_log) {
                    self.device_log(
                        "warning", "sync_parked",
                        "entry " + std::to_string(entry.seq) + " (" + entry.kind + " " +
                            entry.record_id + ") is parked: " +
                            (status != 0 ? "the server refused it with HTTP " +
                                               std::to_string(status) + " " + code + ": "
                                         : code + ": ") +
                            message +
                            ". The record stays on the device and the entries after it go on.");
                }
                self.read_batch();
            }));
    }

    // ---- photos ----

    void next_blob() {
        while (!blob_queue.empty() && complete_blobs.contains(blob_queue.front().sha256)) {
            blob_queue.pop_front();
        }
        if (blob_queue.empty()) {
            if (reread_after_blobs) {
                reread_after_blobs = false;
                read_batch();
            } else {
                post_batch();
            }
            return;
        }
        upload = Upload{};
        upload.ref = blob_queue.front();
        if (!upload.ref.readable) {
            park_photo("blob_unreadable", "its photo file " + upload.ref.sha256 +
                                              " is missing on the device or not the size recorded");
            return;
        }
        head_blob();
    }

    void park_photo(std::string code, std::string message) {
        park({upload.ref.seq, "photo", upload.ref.record_id}, 0, std::move(code),
             std::move(message));
    }

    void blob_done() {
        if (narrowed_blob == upload.ref.sha256) narrowed_blob.clear();
        if (complete_blobs.size() >= max_remembered_blobs) complete_blobs.clear();
        complete_blobs.insert(upload.ref.sha256);
        if (!blob_queue.empty()) blob_queue.pop_front();
        next_blob();
    }

    void head_blob() {
        transport->send(HttpRequest{"HEAD", blob_url(upload.ref.sha256), auth_headers(), {}},
                        guarded([](Impl& self, Result<HttpResponse> reply) {
                            self.on_head(std::move(reply));
                        }));
    }

    bool blob_reply_failed(const Result<HttpResponse>& reply, std::string_view request) {
        if (!reply) {
            fail_exchange(reply.error());
            return true;
        }
        if (reply->status == 401 || reply->status == 403) {
            auto error = wire::parse_error(reply->body);
            stop_with("the server refused this device (" + http_error_text(*reply, error) +
                          "): check the device token (sync.token_file) and the device's "
                          "enrolment at the server",
                      Errc::permission);
            return true;
        }
        if (transient_status(reply->status)) {
            fail(http_error_text(*reply, wire::parse_error(reply->body)) + " to " +
                     std::string(request) + " " + blob_url(upload.ref.sha256),
                 false, retry_after_of(*reply));
            return true;
        }
        return false;
    }

    void on_head(Result<HttpResponse> reply) {
        if (blob_reply_failed(reply, "HEAD")) return;
        const HttpResponse& response = *reply;
        if (response.status == 404) {
            upload.offset = 0;
            send_chunk();
            return;
        }
        if (response.status != 200) {
            fail("unexpected " + http_error_text(response, wire::parse_error(response.body)) +
                     " to HEAD " + blob_url(upload.ref.sha256),
                 false, std::nullopt);
            return;
        }
        if (upload_complete(response)) {
            blob_done();
            return;
        }
        auto offset = byte_count_header(response, "upload-offset");
        auto length = byte_count_header(response, "upload-length");
        // An offset the file cannot have, or an upload of another length: start over.
        bool usable =
            offset && *offset < upload.ref.size && (!length || *length == upload.ref.size);
        upload.offset = usable ? *offset : 0;
        send_chunk();
    }

    std::size_t chunk_limit() const {
        return narrowed_blob == upload.ref.sha256 ? narrowed_chunk : config.chunk_bytes;
    }

    void send_chunk() {
        std::size_t length = static_cast<std::size_t>(
            std::min<std::uint64_t>(chunk_limit(), upload.ref.size - upload.offset));
        upload.chunk = length;
        auto chunk = std::make_shared<std::string>();
        store.submit_read(
            [chunk, path = upload.ref.path, offset = upload.offset,
             length](store::Database&) -> Result<json::value> {
                auto bytes = read_chunk(path, offset, length);
                if (!bytes) return bytes.error();
                *chunk = std::move(*bytes);
                return json::value();
            },
            on_loop([chunk](Impl& self, Result<json::value> result) {
                if (!result) {
                    self.park_photo("blob_unreadable", result.error().message());
                    return;
                }
                self.patch(std::move(*chunk));
            }));
    }

    void patch(std::string chunk) {
        HttpRequest request{"PATCH", blob_url(upload.ref.sha256), auth_headers(), std::move(chunk)};
        request.headers.push_back({"Upload-Offset", std::to_string(upload.offset)});
        request.headers.push_back({"Upload-Length", std::to_string(upload.ref.size)});
        request.headers.push_back({"Content-Type", "application/offset+octet-stream"});
        transport->send(std::move(request), guarded([](Impl& self, Result<HttpResponse> reply) {
                            self.on_patch(std::move(reply));
                        }));
    }

    void on_patch(Result<HttpResponse> reply) {
        if (!reply && reply.error().code() == Errc::io) {
            // Broken or timed out after connecting: the server keeps only whole chunks.
            std::size_t floor = std::min(config.chunk_bytes, min_chunk_bytes);
            narrowed_chunk = std::max(floor, upload.chunk / 2);
            narrowed_blob = upload.ref.sha256;
        }
        if (blob_reply_failed(reply, "PATCH")) return;
        const HttpResponse& response = *reply;
        auto offset = byte_count_header(response, "upload-offset");
        switch (response.status) {
            case 201:
                if (upload_complete(response)) {
                    blob_done();
                    return;
                }
                break;
            case 204: {
                std::uint64_t expected = upload.offset + upload.chunk;
                if (offset && *offset == expected) {
                    upload.offset = expected;
                    if (upload.offset < upload.ref.size) {
                        send_chunk();
                    } else if (++upload.final_heads <= 1) {
                        head_blob();  // the last byte went without a 201: ask
                    } else {
                        break;
                    }
                    return;
                }
                // An offset that did not grow by the chunk, or grew beyond it: not to be trusted.
                if (++upload.corrections > max_offset_corrections) break;
                upload.offset = 0;
                send_chunk();
                return;
            }
            case 409:
                if (++upload.corrections > max_offset_corrections) break;
                upload.offset = offset && *offset < upload.ref.size ? *offset : 0;
                send_chunk();
                return;
            case 422:
                if (!upload.rehashed) {
                    check_local_hash();
                    return;
                }
                break;
            default:
                break;
        }
        fail("the server's answers to PATCH " + blob_url(upload.ref.sha256) +
                 " do not add up (last: " +
                 http_error_text(response, wire::parse_error(response.body)) + ")",
             false, std::nullopt);
    }

    // After a 422 hash_mismatch: a photo file that no longer matches its name is corrupt on
    // the device, and its record is parked; one that matches is uploaded once more from 0.
    void check_local_hash() {
        upload.rehashed = true;
        auto actual = std::make_shared<std::string>();
        store.submit_read(
            [actual, path = upload.ref.path](store::Database&) -> Result<json::value> {
                auto hex = hash_file(path);
                if (!hex) return hex.error();
                *actual = std::move(*hex);
                return json::value();
            },
            on_loop([actual](Impl& self, Result<json::value> result) {
                if (!result) {
                    self.park_photo("blob_unreadable", result.error().message());
                    return;
                }
                if (*actual != self.upload.ref.sha256) {
                    self.park_photo("blob_corrupt",
                                    "its photo file no longer matches its SHA-256 " +
                                        self.upload.ref.sha256 + " (now " + *actual + ")");
                    return;
                }
                self.upload.offset = 0;
                self.send_chunk();
            }));
    }

    void on_blob_missing(const wire::ServerError& error) {
        if (++blob_missing_rounds > max_blob_missing_rounds) {
            blob_missing_rounds = 0;
            fail("the server keeps reporting photos missing after they were uploaded", false,
                 std::nullopt);
            return;
        }
        blob_queue.clear();
        for (const auto& sha : error.missing_blobs) {
            for (const auto& ref : batch->blobs) {
                if (ref.sha256 == sha) {
                    complete_blobs.erase(sha);
                    blob_queue.push_back(ref);
                }
            }
        }
        if (blob_queue.empty()) {
            fail("the server reports photos missing that this batch does not name", false,
                 std::nullopt);
            return;
        }
        // The batch body went with the request: read it again once the photos are up.
        reread_after_blobs = true;
        next_blob();
    }

    // ---- outcomes ----

    void fail(std::string message, bool link_down, std::optional<milliseconds> retry_after) {
        transport->cancel();
        ++failures;
        // Out of reach, probes back off to probe_max: a link coming up, a dock or the operator
        // tries at once anyway (on_explicit), so a probe only has to notice the server itself
        // coming back, and each costs an idle device several wake-ups.
        milliseconds delay =
            link_down ? wire::equal_jitter(failures, config.probe_interval,
                                           std::max(config.probe_max.value_or(config.retry_max),
                                                    config.probe_interval),
                                           random)
                      : wire::full_jitter(failures, config.retry_initial, config.retry_max, random);
        if (retry_after) delay = std::max(delay, *retry_after);
        probing = link_down;
        state = SyncState::backoff;
        update_status([&](SyncStatus& s) {
            s.last_error = message;
            s.unreachable = link_down;
        });
        arm_timer(delay, &Impl::begin_round);
        answer_waiters(Error(Errc::unavailable, "sync failed: " + message + "; next attempt in " +
                                                    std::to_string((delay.count() + 999) / 1000) +
                                                    " s"));
    }

    // An exchange that got no HTTP reply. A TLS failure (the server's certificate not trusted,
    // a client certificate refused) is a setting to put right rather than a link to wait for,
    // so it also goes to the device log: once per run of failures, not at every retry, and
    // synced to the office with the rest once the setting is fixed.
    void fail_exchange(const Error& error) {
        if (error.code() == Errc::permission && !tls_failure_logged && device_log) {
            tls_failure_logged = true;
            device_log("error", "sync_tls_failed",
                       error.message() +
                           ". Nothing is sent until this is put right (sync.ca_file, "
                           "sync.client_cert); records stay on the device.");
        }
        fail(error.message(), error.code() == Errc::unavailable, std::nullopt);
    }

    void stop_with(std::string message, Errc code) {
        transport->cancel();
        cancel_timer();
        state = SyncState::stopped;
        update_status([&](SyncStatus& s) {
            s.last_error = message;
            s.unreachable = false;
        });
        if (device_log) {
            device_log("error", "sync_stopped",
                       "syncing stopped: " + message +
                           ". Records stay on the device; run 'fieldlog sync' once this is "
                           "put right.");
        }
        answer_waiters(Error(code, "syncing stopped: " + message));
    }

    void halt() {
        if (halted) return;
        halted = true;
        ++timer_epoch;
        timer.cancel();
        // Dropping the transport closes curl's kept connections too, so nothing of the
        // uploader keeps the io_context running.
        transport->cancel();
        transport.reset();
        answer_waiters(Error(Errc::unavailable, "the daemon is stopping"));
    }
};

Uploader::Uploader(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Uploader::~Uploader() { impl_->halt(); }

Result<std::unique_ptr<Uploader>> Uploader::create(asio::io_context& io, store::Store& store,
                                                   UploaderOptions options) {
    if (options.config.url.empty()) {
        return Error(Errc::invalid_argument, "sync.url is not set");
    }
    if (!options.transport) {
        TransportOptions transport;
        transport.ca_file = options.config.ca_file;
        transport.client_cert = options.config.client_cert;
        transport.client_key = options.config.client_key;
        transport.allow_plain_http = options.config.allow_plain_http;
        transport.request_timeout = options.config.request_timeout;
        // A reference bundle is the one large reply.
        if (options.reference.apply) {
            transport.max_response_bytes = config::max_reference_bundle_bytes;
        }
        auto made = make_curl_transport(io, std::move(transport));
        if (!made) return made.error();
        options.transport = std::move(*made);
    }
    auto on_status_change = std::move(options.on_status_change);
    auto impl = std::make_shared<Impl>(io, store, std::move(options));
    impl->on_status_change = std::move(on_status_change);
    return std::unique_ptr<Uploader>(new Uploader(std::move(impl)));
}

void Uploader::start() {
    if (!impl_->halted) impl_->start();
}

void Uploader::stop() { impl_->halt(); }

void Uploader::notify_written() {
    impl_->post_here([](Impl& self) { self.on_written(); });
}

void Uploader::notify_network_changed() {
    impl_->post_here([](Impl& self) { self.on_explicit(false); });
}

void Uploader::notify_docked() {
    impl_->post_here([](Impl& self) { self.on_explicit(false); });
}

void Uploader::request_sync(bool wait, Done done) {
    asio::post(impl_->io, [weak = std::weak_ptr(impl_), wait, done = std::move(done)]() mutable {
        auto self = weak.lock();
        if (!self || self->halted) {
            done(Error(Errc::unavailable, "the daemon is stopping"));
            return;
        }
        self->on_request(wait, std::move(done));
    });
}

SyncStatus Uploader::status() const {
    std::lock_guard lock(impl_->status_mutex);
    return impl_->snapshot;
}

}  // namespace fieldlog::sync::client
