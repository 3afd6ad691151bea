#include "api.hpp"

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <climits>
#include <functional>
#include <set>

#include "batch.hpp"

namespace fieldlog::server {

namespace json = boost::json;

namespace {

HttpResponse json_response(int status, const json::object& body) {
    HttpResponse r;
    r.status = status;
    r.body = json::serialize(body);
    return r;
}

HttpResponse refusal_response(const Refusal& refusal) {
    return error_response(refusal.status, refusal.code, refusal.message);
}

HttpResponse unauthorized() {
    return error_response(401, "unauthorized",
                          "missing or wrong bearer token, unknown device, or revoked device");
}

// An error reply with extra top-level members (acked_seq, missing_blobs).
HttpResponse error_with(int status, std::string_view code, std::string_view message,
                        json::object extra) {
    extra["error"] = json::object{{"code", code}, {"message", message}};
    return json_response(status, extra);
}

bool constant_time_equal(const Sha256& a, const Sha256& b) {
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// The token after "Bearer ", or nothing.
std::optional<std::string_view> bearer_token(const HttpRequest& request) {
    auto value = request.header("Authorization");
    if (!value) return std::nullopt;
    constexpr std::string_view scheme = "bearer ";
    if (value->size() <= scheme.size()) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i) {
        char c = (*value)[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != scheme[i]) return std::nullopt;
    }
    std::string_view token = value->substr(scheme.size());
    if (token.size() > 512) return std::nullopt;
    return token;
}

bool media_type_is(const HttpRequest& request, std::string_view expected) {
    auto value = request.header("Content-Type");
    if (!value) return false;
    std::string_view type = value->substr(0, value->find(';'));
    while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
    if (type.size() != expected.size()) return false;
    for (std::size_t i = 0; i < type.size(); ++i) {
        char c = type[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != expected[i]) return false;
    }
    return true;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

std::string new_token() {
    std::array<std::uint8_t, 32> bytes{};
    if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
        throw std::runtime_error("OpenSSL: no randomness for a device token");
    }
    return to_hex(bytes);
}

HttpResponse method_not_allowed(std::string_view allowed) {
    HttpResponse r =
        error_response(405, "method_not_allowed", "this resource allows " + std::string(allowed));
    r.headers.emplace_back("Allow", std::string(allowed));
    return r;
}

HttpResponse not_found(std::string_view what) { return error_response(404, "not_found", what); }

}  // namespace

std::optional<std::string_view> HttpRequest::header(std::string_view name) const {
    for (const auto& [key, value] : headers) {
        if (key.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < key.size() && same; ++i) {
            auto lower = [](char c) {
                return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
            };
            same = lower(key[i]) == lower(name[i]);
        }
        if (same) return std::string_view(value);
    }
    return std::nullopt;
}

HttpResponse error_response(int status, std::string_view code, std::string_view message) {
    return json_response(
        status, json::object{{"error", json::object{{"code", code}, {"message", message}}}});
}

HttpResponse store_failure(const Error& error) {
    HttpResponse r;
    switch (error.code()) {
        case Errc::no_space:
            r = error_response(507, "no_space", "the server is out of storage");
            break;
        case Errc::unavailable:
            r = error_response(503, "unavailable", error.message());
            break;
        default:
            r = error_response(500, "internal", "the server could not complete the request");
            break;
    }
    r.note = error.to_string();
    return r;
}

std::optional<Target> parse_target(std::string_view text, std::string& why) {
    auto parsed = boost::urls::parse_origin_form(text);
    if (!parsed) {
        why = "the request target is not a valid origin-form path";
        return std::nullopt;
    }
    std::string_view path = parsed->encoded_path();
    // Names in paths are device ids and hashes, which never need escaping; refusing '%' keeps
    // "%2e%2e" and "%2f" from becoming ".." or "/" after decoding.
    if (path.find_first_of("%\\") != std::string_view::npos) {
        why = "the request path may not contain '%' or '\\'";
        return std::nullopt;
    }
    Target target;
    std::size_t start = 1;
    while (start <= path.size()) {
        std::size_t end = path.find('/', start);
        if (end == std::string_view::npos) end = path.size();
        std::string_view segment = path.substr(start, end - start);
        if (segment.empty() || segment == "." || segment == "..") {
            why = "the request path may not contain empty, \".\" or \"..\" segments";
            return std::nullopt;
        }
        target.segments.emplace_back(segment);
        start = end + 1;
    }
    for (const auto& p : parsed->params()) {
        std::string key(p.key);
        for (const auto& [seen, value] : target.params) {
            if (seen == key) {
                why = "query parameter " + key + " is given more than once";
                return std::nullopt;
            }
        }
        target.params.emplace_back(std::move(key), std::string(p.value));
    }
    return target;
}

Api::Api(ServerStore& store, BlobArea blobs, const ServerConfig& config, const Sha256& admin_token,
         const Clock& clock)
    : store_(&store),
      blobs_(std::move(blobs)),
      config_(&config),
      admin_token_sha256_(admin_token),
      clock_(&clock) {}

std::size_t Api::body_limit(std::string_view method, std::string_view target) const {
    if (method == "PATCH" && target.find("/blobs/") != std::string_view::npos) {
        return max_blob_chunk_bytes;
    }
    return config_->max_body_bytes;
}

HttpResponse Api::handle(const HttpRequest& request) {
    std::string why;
    auto target = parse_target(request.target, why);
    if (!target) return error_response(400, "bad_target", why);
    try {
        return route(request, *target);
    } catch (const std::exception& e) {
        HttpResponse r =
            error_response(500, "internal", "the server could not complete the request");
        r.note = e.what();
        return r;
    }
}

HttpResponse Api::route(const HttpRequest& request, const Target& target) {
    const auto& s = target.segments;
    const std::string& method = request.method;
    if (s.empty() || s[0] != "v1") return not_found("no such resource");

    if (s.size() == 2 && s[1] == "health") {
        if (method != "GET") return method_not_allowed("GET");
        return json_response(200,
                             json::object{{"ok", true}, {"server_time_ms", clock_->wall_ms()}});
    }

    // Device endpoints: /v1/devices/{id}/...
    if (s.size() >= 4 && s[1] == "devices") {
        const std::string& device_id = s[2];
        if (!valid_device_id(device_id)) {
            return error_response(400, "bad_target",
                                  "device id must be 1 to 64 of A-Z a-z 0-9 . _ -, not \".\" or "
                                  "\"..\"");
        }
        HttpResponse response = route_device(request, target, device_id);
        // Refusals too carry the device they claimed to be, for the access log.
        response.device_id = device_id;
        return response;
    }

    if (s.size() == 3 && s[1] == "admin" && s[2] == "devices") {
        if (method != "GET" && method != "POST") return method_not_allowed("GET, POST");
        if (auto refused = authenticate_admin(request)) return *refused;
        return method == "GET" ? list_devices() : enrol_device(request);
    }
    if (s.size() == 5 && s[1] == "admin" && s[2] == "devices" && s[4] == "revoke") {
        if (!valid_device_id(s[3])) {
            return error_response(400, "bad_target", "malformed device id");
        }
        if (method != "POST") return method_not_allowed("POST");
        if (auto refused = authenticate_admin(request)) return *refused;
        HttpResponse response = revoke_device(s[3]);
        response.device_id = s[3];
        return response;
    }
    if (s.size() == 3 && s[1] == "admin" && s[2] == "reference") {
        if (method != "GET" && method != "POST") return method_not_allowed("GET, POST");
        if (auto refused = authenticate_admin(request)) return *refused;
        return method == "GET" ? show_reference(target) : publish_reference(request);
    }
    if (s.size() == 2 && s[1] == "records") {
        if (method != "GET") return method_not_allowed("GET");
        if (auto refused = authenticate_admin(request)) return *refused;
        return get_records(target);
    }
    if (s.size() == 3 && s[1] == "summaries" && (s[2] == "complaints" || s[2] == "documents")) {
        if (method != "GET") return method_not_allowed("GET");
        if (auto refused = authenticate_admin(request)) return *refused;
        return s[2] == "complaints" ? complaint_summary(target) : document_summary(target);
    }
    if (s.size() == 3 && s[1] == "blobs") {
        if (!valid_sha256_hex(s[2])) {
            return error_response(400, "bad_target", "a blob is named by 64 lower-case hex digits");
        }
        if (method != "GET") return method_not_allowed("GET");
        if (auto refused = authenticate_admin(request)) return *refused;
        return get_blob(s[2]);
    }
    return not_found("no such resource");
}

HttpResponse Api::route_device(const HttpRequest& request, const Target& target,
                               const std::string& device_id) {
    const auto& s = target.segments;
    const std::string& method = request.method;
    if (s.size() == 4 && s[3] == "batches") {
        if (method != "POST") return method_not_allowed("POST");
        if (auto refused = authenticate_device(request, device_id)) return *refused;
        return post_batch(request, device_id);
    }
    if (s.size() == 5 && s[3] == "blobs") {
        if (!valid_sha256_hex(s[4])) {
            return error_response(400, "bad_target", "a blob is named by 64 lower-case hex digits");
        }
        if (method != "HEAD" && method != "PATCH") return method_not_allowed("HEAD, PATCH");
        if (auto refused = authenticate_device(request, device_id)) return *refused;
        return method == "HEAD" ? head_blob(s[4]) : patch_blob(request, s[4]);
    }
    if (s.size() == 4 && (s[3] == "logs" || s[3] == "verify" || s[3] == "withheld")) {
        if (method != "GET") return method_not_allowed("GET");
        if (auto refused = authenticate_admin(request)) return *refused;
        if (s[3] == "logs") return get_logs(target, device_id);
        if (s[3] == "withheld") return get_withheld(target, device_id);
        return verify_device(device_id);
    }
    if (s.size() == 4 && s[3] == "reference") {
        if (method != "GET") return method_not_allowed("GET");
        if (auto refused = authenticate_device(request, device_id)) return *refused;
        return get_reference(target, device_id);
    }
    return not_found("no such resource");
}

std::optional<HttpResponse> Api::authenticate_device(const HttpRequest& request,
                                                     const std::string& device_id) {
    auto token = bearer_token(request);
    if (!token) return unauthorized();
    auto credential = store_->device_credential(device_id);
    if (!credential) return store_failure(credential.error());
    // The hash is compared even for an unknown device, so timing does not tell which it was.
    Sha256 presented = sha256(*token);
    Sha256 expected = *credential ? (*credential)->token_sha256 : Sha256{};
    bool match = constant_time_equal(presented, expected);
    if (!*credential || (*credential)->revoked_ms || !match) return unauthorized();
    return std::nullopt;
}

std::optional<HttpResponse> Api::authenticate_admin(const HttpRequest& request) const {
    auto token = bearer_token(request);
    if (!token || !constant_time_equal(sha256(*token), admin_token_sha256_)) {
        return error_response(401, "unauthorized", "this resource needs the admin token");
    }
    return std::nullopt;
}

HttpResponse Api::post_batch(const HttpRequest& request, const std::string& device_id) {
    if (!media_type_is(request, "application/json")) {
        return error_response(415, "unsupported_media_type",
                              "a batch is sent as Content-Type: application/json");
    }
    auto parsed = parse_batch(request.body, device_id, clock_->wall_ms());
    if (auto* refusal = std::get_if<Refusal>(&parsed)) {
        if (refusal->status != 409 && refusal->status != 422) return refusal_response(*refusal);
        auto device = store_->device(device_id);
        if (!device) return store_failure(device.error());
        std::int64_t acked = *device ? (*device)->acked_seq : 0;
        return error_with(refusal->status, refusal->code, refusal->message,
                          json::object{{"acked_seq", acked}});
    }
    const Batch& batch = std::get<Batch>(parsed);
    auto result = store_->ingest(batch);
    if (!result) return store_failure(result.error());
    json::object extra{{"acked_seq", result->acked_seq}};
    switch (result->status) {
        case IngestStatus::accepted:
            return json_response(200, json::object{{"acked_seq", result->acked_seq},
                                                   {"server_time_ms", clock_->wall_ms()}});
        case IngestStatus::unauthorized:
            return unauthorized();
        case IngestStatus::key_mismatch:
            return error_with(403, "key_mismatch", result->message, std::move(extra));
        case IngestStatus::sequence_gap:
            return error_with(409, "sequence_gap", result->message, std::move(extra));
        case IngestStatus::replay_mismatch:
            return error_with(409, "replay_mismatch", result->message, std::move(extra));
        case IngestStatus::broken_chain:
            return error_with(422, "broken_chain", result->message, std::move(extra));
        case IngestStatus::blob_missing: {
            json::array missing;
            for (const auto& sha : result->missing_blobs) missing.emplace_back(sha);
            extra["missing_blobs"] = std::move(missing);
            return error_with(409, "blob_missing", result->message, std::move(extra));
        }
    }
    return error_response(500, "internal", "unknown ingest outcome");
}

std::mutex& Api::blob_lock(std::string_view sha256) {
    return blob_locks_[std::hash<std::string_view>{}(sha256) % blob_locks_.size()];
}

Result<std::optional<BlobState>> Api::blob_state(const std::string& sha256) {
    auto state = store_->blob(sha256);
    if (!state || !*state || (*state)->complete) return state;
    auto final_hash = blobs_.hash_final(sha256);
    if (!final_hash) return final_hash.error();
    if (!*final_hash) return state;
    Sha256 expected{};
    from_hex(sha256, expected);
    if (**final_hash != expected) {
        return Error(Errc::corrupt, "blob file " + sha256 + " does not match its name");
    }
    BlobState done = **state;
    done.offset = done.size;
    done.complete = true;
    done.path = BlobArea::final_name(sha256);
    done.updated_ms = clock_->wall_ms();
    if (auto put = store_->put_blob(done); !put) return put.error();
    return std::optional<BlobState>(done);
}

HttpResponse Api::head_blob(const std::string& sha256) {
    std::lock_guard lock(blob_lock(sha256));
    auto state = blob_state(sha256);
    if (!state) return store_failure(state.error());
    HttpResponse r;
    r.headers.emplace_back("Cache-Control", "no-store");
    if (!*state) {
        r.status = 404;
        return r;
    }
    r.status = 200;
    r.headers.emplace_back("Upload-Offset", std::to_string((*state)->offset));
    r.headers.emplace_back("Upload-Length", std::to_string((*state)->size));
    r.headers.emplace_back("Upload-Complete", (*state)->complete ? "?1" : "?0");
    return r;
}

HttpResponse Api::patch_blob(const HttpRequest& request, const std::string& sha256) {
    if (!media_type_is(request, "application/offset+octet-stream")) {
        return error_response(415, "unsupported_media_type",
                              "a chunk is sent as Content-Type: application/offset+octet-stream");
    }
    auto offset_text = request.header("Upload-Offset");
    auto length_text = request.header("Upload-Length");
    if (!offset_text || !length_text) {
        return error_response(400, "bad_request", "a chunk needs Upload-Offset and Upload-Length");
    }
    auto offset = parse_int(*offset_text);
    auto length = parse_int(*length_text);
    if (!offset || *offset < 0) {
        return error_response(400, "bad_request", "Upload-Offset must be a non-negative integer");
    }
    if (!length || *length < 1) {
        return error_response(400, "bad_request", "Upload-Length must be a positive integer");
    }
    if (*length > config_->max_blob_bytes) {
        return error_response(413, "too_large",
                              "Upload-Length " + std::to_string(*length) + " exceeds the " +
                                  std::to_string(config_->max_blob_bytes) +
                                  " bytes this server accepts for one blob");
    }
    const auto chunk = static_cast<std::int64_t>(request.body.size());

    std::lock_guard lock(blob_lock(sha256));
    auto found = blob_state(sha256);
    if (!found) return store_failure(found.error());
    std::optional<BlobState> state = *found;
    auto mismatch = [&](std::int64_t server_offset, const std::string& message) {
        HttpResponse r = error_with(409, "offset_mismatch", message,
                                    json::object{{"upload_offset", server_offset}});
        r.headers.emplace_back("Upload-Offset", std::to_string(server_offset));
        return r;
    };
    if (state && state->complete) {
        if (*offset != state->size || chunk != 0) {
            return mismatch(state->size, "blob " + sha256 + " is already complete");
        }
        HttpResponse r;
        r.status = 201;
        r.headers.emplace_back("Upload-Offset", std::to_string(state->size));
        r.headers.emplace_back("Upload-Complete", "?1");
        return r;
    }
    if (state && state->size != *length) {
        // A different declared length means the upload started over; only a restart from 0 is
        // taken, and it discards what was held.
        if (*offset != 0) {
            return mismatch(state->offset, "Upload-Length " + std::to_string(*length) +
                                               " differs from the upload in progress (" +
                                               std::to_string(state->size) + " bytes)");
        }
        if (auto gone = blobs_.discard(sha256); !gone) return store_failure(gone.error());
        state.reset();
    }
    std::int64_t server_offset = state ? state->offset : 0;
    if (*offset != server_offset) {
        return mismatch(server_offset, "Upload-Offset " + std::to_string(*offset) +
                                           " but the server holds " +
                                           std::to_string(server_offset) + " bytes");
    }
    if (*offset + chunk > *length) {
        return error_response(400, "bad_request",
                              "the chunk runs past Upload-Length " + std::to_string(*length));
    }
    if (chunk > 0 || !state) {
        if (auto written = blobs_.write_chunk(sha256, *offset, request.body); !written) {
            return store_failure(written.error());
        }
    }
    BlobState next;
    next.sha256 = sha256;
    next.size = *length;
    next.offset = *offset + chunk;
    next.path = "partial/" + sha256 + ".part";
    next.updated_ms = clock_->wall_ms();
    HttpResponse r;
    if (next.offset < next.size) {
        if (auto put = store_->put_blob(next); !put) return store_failure(put.error());
        r.status = 204;
        r.headers.emplace_back("Upload-Offset", std::to_string(next.offset));
        return r;
    }
    auto hash = blobs_.hash_partial(sha256, next.size);
    if (!hash) return store_failure(hash.error());
    if (to_hex(*hash) != sha256) {
        auto gone = blobs_.discard(sha256);
        auto forgotten = store_->delete_blob(sha256);
        if (!gone || !forgotten) {
            return store_failure(!gone ? gone.error() : forgotten.error());
        }
        return error_response(422, "hash_mismatch",
                              "the uploaded " + std::to_string(next.size) + " bytes hash to " +
                                  to_hex(*hash) + ", not " + sha256 + "; the upload was discarded");
    }
    if (auto moved = blobs_.promote(sha256); !moved) return store_failure(moved.error());
    next.complete = true;
    next.path = BlobArea::final_name(sha256);
    if (auto put = store_->put_blob(next); !put) return store_failure(put.error());
    r.status = 201;
    r.headers.emplace_back("Upload-Offset", std::to_string(next.offset));
    r.headers.emplace_back("Upload-Complete", "?1");
    return r;
}

SweepReport Api::sweep_partial_uploads(std::chrono::milliseconds max_age) {
    SweepReport report;
    const std::int64_t cutoff = clock_->wall_ms() - max_age.count();
    // Candidates: every partial file, and state left without one (a crash between removing
    // the file and the state). Each is judged again below, under its lock, as a chunk may
    // have arrived since it was listed.
    std::set<std::string> candidates;
    if (auto files = blobs_.partial_uploads(); files) {
        candidates.insert(files->begin(), files->end());
    } else {
        report.failures.push_back(files.error());
    }
    if (auto stale = store_->stale_partial_blobs(cutoff); stale) {
        for (const BlobState& b : *stale) candidates.insert(b.sha256);
    } else {
        report.failures.push_back(stale.error());
    }
    for (const std::string& sha : candidates) {
        std::lock_guard lock(blob_lock(sha));
        auto state = blob_state(sha);
        if (!state) {
            report.failures.push_back(Error(state.error()).context("blob " + sha));
            continue;
        }
        if (*state && (*state)->complete) continue;
        auto file = blobs_.partial_file(sha);
        if (!file) {
            report.failures.push_back(file.error());
            continue;
        }
        if (!*state && !*file) continue;
        std::int64_t last = INT64_MIN;
        if (*state) last = (*state)->updated_ms;
        if (*file) last = std::max(last, (*file)->modified_ms);
        if (last >= cutoff) continue;
        if (*state) {
            if (auto forgotten = store_->delete_blob(sha); !forgotten) {
                report.failures.push_back(forgotten.error());
                continue;
            }
        }
        if (auto gone = blobs_.discard(sha); !gone) {
            report.failures.push_back(gone.error());
            continue;
        }
        report.removed.push_back(
            RemovedUpload{sha, *file ? (*file)->size : 0, *state ? (*state)->size : 0, last});
    }
    return report;
}

HttpResponse Api::get_blob(const std::string& sha256) {
    auto state = store_->blob(sha256);
    if (!state) return store_failure(state.error());
    if (!*state || !(*state)->complete) return not_found("no complete blob " + sha256);
    HttpResponse r;
    r.content_type = "application/octet-stream";
    r.file = blobs_.resolve((*state)->path);
    return r;
}

HttpResponse Api::enrol_device(const HttpRequest& request) {
    if (!media_type_is(request, "application/json")) {
        return error_response(415, "unsupported_media_type", "send Content-Type: application/json");
    }
    boost::system::error_code ec;
    json::value body = json::parse(request.body, ec);
    if (ec) return error_response(400, "bad_json", "the body is not valid JSON: " + ec.message());
    if (!body.is_object()) return error_response(400, "bad_request", "expected a JSON object");
    const json::object& o = body.get_object();
    for (const auto& member : o) {
        if (member.key() != "device_id" && member.key() != "public_key") {
            return error_response(
                400, "bad_request",
                std::string(member.key()) + ": unknown field; expected device_id, public_key");
        }
    }
    const json::value* id = o.if_contains("device_id");
    if (id == nullptr) return error_response(400, "bad_request", "device_id: missing");
    if (!id->is_string() || !valid_device_id(id->get_string())) {
        return error_response(400, "bad_request",
                              "device_id: expected 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    std::optional<store::PublicKey> key;
    if (const json::value* k = o.if_contains("public_key"); k != nullptr && !k->is_null()) {
        store::PublicKey parsed{};
        if (!k->is_string() || k->get_string().size() != 64 ||
            !from_hex(std::string_view(k->get_string()), parsed)) {
            return error_response(400, "bad_request", "public_key: expected 64 hex digits");
        }
        key = parsed;
    }
    std::string device_id(id->get_string());
    std::string token = new_token();
    auto enrolled = store_->enrol_device(device_id, sha256(token), key, clock_->wall_ms());
    if (!enrolled) {
        if (enrolled.error().code() == Errc::conflict) {
            return error_response(409, "conflict", enrolled.error().message());
        }
        return store_failure(enrolled.error());
    }
    HttpResponse r = json_response(201, json::object{{"device_id", device_id}, {"token", token}});
    r.headers.emplace_back("Cache-Control", "no-store");
    r.device_id = device_id;
    return r;
}

HttpResponse Api::revoke_device(const std::string& device_id) {
    auto revoked = store_->revoke_device(device_id, clock_->wall_ms());
    if (!revoked) {
        if (revoked.error().code() == Errc::not_found) return not_found(revoked.error().message());
        return store_failure(revoked.error());
    }
    return json_response(200, json::object{{"device_id", device_id}, {"revoked_ms", *revoked}});
}

}  // namespace fieldlog::server
