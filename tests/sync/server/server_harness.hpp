// Test support for fieldlog-server: device chains built with the device's own evidence code and
// signed with a real Ed25519 key, and a server run in-process on 127.0.0.1, port 0.
#pragma once

#include <atomic>
#include <boost/json/object.hpp>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "fieldlog/clock.hpp"
#include "fieldlog/server/http_client.hpp"
#include "fieldlog/server/server.hpp"
#include "fieldlog/server/server_config.hpp"
#include "fieldlog/store/device_key.hpp"
#include "fieldlog/store/evidence.hpp"
#include "temp_dir.hpp"

namespace fieldlog::server::testing {

inline constexpr std::int64_t base_time_ms = 1795575845123;  // 2026-11-25T...

// A device's evidence chain, grown entry by entry as the device's store would.
class DeviceChain {
public:
    explicit DeviceChain(std::string device_id);

    // The first keep entries of this chain under the same key: a device that diverges from
    // what it sent before.
    DeviceChain fork(std::int64_t keep) const;

    const std::string& device_id() const { return device_id_; }
    const store::DeviceKey& key() const { return *key_; }
    std::string public_key_hex() const;
    std::int64_t last_seq() const { return static_cast<std::int64_t>(entries_.size()); }
    const store::OutboxEntry& entry(std::int64_t seq) const {
        return entries_.at(static_cast<std::size_t>(seq - 1));
    }

    // Appends a write of payload (hashed in canonical JSON) and returns its seq.
    std::int64_t append(const std::string& kind, const std::string& record_id,
                        const boost::json::object& payload,
                        std::optional<std::int64_t> gnss_time_ms = std::nullopt,
                        const std::string& action = "put");

    // The request body for entries first..last, its head signed with this chain's key.
    boost::json::object batch(std::int64_t first, std::int64_t last) const;
    // The same, signed by another key (the head names the same entry).
    boost::json::object batch_signed_by(const store::DeviceKey& key, std::int64_t first,
                                        std::int64_t last) const;

private:
    std::string device_id_;
    std::shared_ptr<const store::DeviceKey> key_;
    std::vector<store::OutboxEntry> entries_;
};

boost::json::object entry_json(const store::OutboxEntry& e);

// A settable wall clock, so receive times and "forwarded late" are predictable.
class TestClock final : public Clock {
public:
    std::int64_t wall_ms() const override { return now_ms.load(); }
    std::atomic<std::int64_t> now_ms{base_time_ms};
};

// Writes an admin token file (mode 0600) and returns the token.
std::string write_admin_token(const std::filesystem::path& path);

// fieldlog-server running in a thread of this process for the life of the object.
class TestServer {
public:
    using Tweak = std::function<void(ServerConfig&)>;

    explicit TestServer(const Tweak& tweak = nullptr);
    // Reuses dir (a restart on the same data directory).
    TestServer(const fieldlog::testing::TempDir& dir, const Tweak& tweak = nullptr);
    ~TestServer();
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    std::string url() const;
    std::uint16_t port() const { return server_->port(); }
    const std::string& admin_token() const { return admin_token_; }
    const ServerConfig& config() const { return config_; }
    const std::filesystem::path& data_dir() const { return config_.data_dir; }
    TestClock& clock() { return clock_; }
    Server& server() { return *server_; }

    HttpClient client(HttpClientOptions options = {}) const;
    // A request with the admin token.
    HttpReply admin(const std::string& method, const std::string& target,
                    const std::string& body = "") const;
    // A request with a bearer token (empty: none) and a JSON body.
    HttpReply send(const std::string& method, const std::string& target, const std::string& token,
                   const std::string& body = "") const;
    // Enrols device_id and returns its token.
    std::string enrol(const std::string& device_id) const;
    HttpReply post_batch(const std::string& device_id, const std::string& token,
                         const boost::json::object& body) const;

    // Stops the server and waits (bounded) for run() to return; true when it did.
    bool stop_and_wait(std::chrono::milliseconds limit);
    std::vector<std::string> log_lines() const;
    // The log lines parsed, once one matches (the access log line is written just after the
    // reply is sent, so a test may read before it is there); waits at most two seconds.
    std::vector<boost::json::object> wait_for_log(
        const std::function<bool(const boost::json::object&)>& match) const;

private:
    void start(const std::filesystem::path& root, const Tweak& tweak);

    std::optional<fieldlog::testing::TempDir> own_dir_;
    ServerConfig config_;
    std::string admin_token_;
    TestClock clock_;
    std::unique_ptr<Server> server_;
    std::future<void> running_;
    mutable std::mutex log_mutex_;
    std::vector<std::string> log_;
};

// Records as the device's domain writes them (docs/protocol.md), trimmed to what the server
// reads.
boost::json::object inspection_record(const std::string& id, const std::string& site_id,
                                      std::int64_t started_ms);
boost::json::object measurement_record(const std::string& id, const std::string& inspection_id,
                                       std::int64_t time_ms);
boost::json::object photo_record(const std::string& id, const std::string& inspection_id,
                                 const std::string& sha256_hex, std::int64_t size);
boost::json::object complaint_record(const std::string& case_number, const std::string& status,
                                     const std::optional<std::string>& finding,
                                     std::int64_t received_ms,
                                     std::optional<std::int64_t> forwarded_ms);
boost::json::object document_record(std::int64_t batch_number, std::int64_t items,
                                    std::int64_t documents, std::int64_t handed_over_ms);
boost::json::object log_record(std::int64_t id, std::int64_t time_ms, const std::string& event);

// What the server's database holds for one device, read straight from its tables.
struct StoredCounts {
    std::int64_t entries = 0;
    std::int64_t distinct_seqs = 0;
    std::int64_t max_seq = 0;
    std::int64_t records = 0;
    std::int64_t heads = 0;
};
StoredCounts stored_counts(const std::filesystem::path& data_dir, const std::string& device_id);
// Runs one statement on the server's database (to simulate tampering at rest).
void exec_on_database(const std::filesystem::path& data_dir, const std::string& sql);

boost::json::object parse_object(const std::string& text);
// n bytes that seed always makes the same: photo content that never repeats across seeds.
std::string random_bytes(std::size_t n, unsigned seed);
// The "error.code" of an error reply, or "" when the body is not one.
std::string error_code(const HttpReply& reply);
std::string error_message(const HttpReply& reply);

}  // namespace fieldlog::server::testing
