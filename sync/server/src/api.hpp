// The server's endpoints (docs/sync-protocol.md) over plain request and response structs:
// routing, authentication, batch ingest, resumable blob uploads, admin and read API. Safe to
// call from several threads at once; calls block on the store, so they run off the I/O threads.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blob_area.hpp"
#include "fieldlog/clock.hpp"
#include "fieldlog/server/server_config.hpp"
#include "fieldlog/server/server_store.hpp"
#include "http_message.hpp"

namespace fieldlog::server {

inline constexpr std::size_t max_blob_chunk_bytes = std::size_t{4} * 1024 * 1024;

// A request target split into decoded path segments and query parameters.
struct Target {
    std::vector<std::string> segments;
    std::vector<std::pair<std::string, std::string>> params;
};

// Refuses anything but a plain origin-form path: no percent-encoding in the path, no empty, "."
// or ".." segments, no repeated query parameter.
std::optional<Target> parse_target(std::string_view target, std::string& why);

// An abandoned upload that a sweep removed.
struct RemovedUpload {
    std::string sha256;
    std::int64_t bytes = 0;          // what its partial file held
    std::int64_t declared_size = 0;  // its Upload-Length; 0 when only a stray file was left
    std::int64_t last_activity_ms = 0;
};

struct SweepReport {
    std::vector<RemovedUpload> removed;
    // Uploads that could not be checked or removed; the sweep went on with the others, and the
    // next one tries them again.
    std::vector<Error> failures;
};

class Api {
public:
    Api(ServerStore& store, BlobArea blobs, const ServerConfig& config, const Sha256& admin_token,
        const Clock& clock);

    // The largest body this request may carry; the HTTP layer refuses more with 413.
    std::size_t body_limit(std::string_view method, std::string_view target) const;

    HttpResponse handle(const HttpRequest& request);

    // Removes every upload not complete whose last activity (the later of its partial file's
    // modification time and its recorded state) is more than max_age before the clock's now:
    // the partial file and the state both, the state first, so that a device asking HEAD
    // starts over from 0 rather than resuming into a file that is gone. Complete blobs are
    // never touched. Safe to run while uploads go on: each blob is checked under its lock.
    SweepReport sweep_partial_uploads(std::chrono::milliseconds max_age);

private:
    HttpResponse route(const HttpRequest& request, const Target& target);
    // /v1/devices/{device_id}/...
    HttpResponse route_device(const HttpRequest& request, const Target& target,
                              const std::string& device_id);

    // Each returns a refusal, or nothing when the request may proceed.
    std::optional<HttpResponse> authenticate_device(const HttpRequest& request,
                                                    const std::string& device_id);
    std::optional<HttpResponse> authenticate_admin(const HttpRequest& request) const;

    HttpResponse post_batch(const HttpRequest& request, const std::string& device_id);
    HttpResponse head_blob(const std::string& sha256);
    HttpResponse patch_blob(const HttpRequest& request, const std::string& sha256);
    HttpResponse get_blob(const std::string& sha256);
    // Reads a blob's state, first finishing an upload a crash cut between moving the verified
    // file into place and recording it.
    Result<std::optional<BlobState>> blob_state(const std::string& sha256);

    HttpResponse enrol_device(const HttpRequest& request);
    HttpResponse revoke_device(const std::string& device_id);
    HttpResponse list_devices();
    HttpResponse get_records(const Target& target);
    HttpResponse get_logs(const Target& target, const std::string& device_id);
    HttpResponse get_withheld(const Target& target, const std::string& device_id);
    HttpResponse complaint_summary(const Target& target);
    HttpResponse document_summary(const Target& target);
    HttpResponse verify_device(const std::string& device_id);

    // Reference data (reference_api.cpp): the office publishes, devices download.
    struct CachedReference;
    HttpResponse publish_reference(const HttpRequest& request);
    HttpResponse show_reference(const Target& target);
    HttpResponse get_reference(const Target& target, const std::string& device_id);
    // The newest version, parsed once per version; nothing before the first publication.
    Result<std::shared_ptr<const CachedReference>> current_reference();

    std::mutex& blob_lock(std::string_view sha256);

    ServerStore* store_;
    BlobArea blobs_;
    const ServerConfig* config_;
    Sha256 admin_token_sha256_;
    const Clock* clock_;
    // Uploads of one blob are serialised; different blobs proceed in parallel.
    std::array<std::mutex, 64> blob_locks_;
    std::mutex reference_mutex_;
    std::shared_ptr<const CachedReference> reference_cache_;
};

// The HTTP reply for a store error: 507 when the disk is full, 503 when closing, else 500.
HttpResponse store_failure(const Error& error);

}  // namespace fieldlog::server
