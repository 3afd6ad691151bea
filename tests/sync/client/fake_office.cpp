#include "fake_office.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "fieldlog/digest.hpp"

namespace fieldlog::sync::client::testing {

namespace json = boost::json;

ServerResponse json_reply(int status, const json::object& body) {
    return {status, {{"Content-Type", "application/json"}}, json::serialize(body), false};
}

ServerResponse error_reply(int status, std::string code, std::string message,
                           std::optional<std::int64_t> acked_seq) {
    json::object error{{"code", code}, {"message", message}};
    if (acked_seq) error["acked_seq"] = *acked_seq;
    return json_reply(status, json::object{{"error", std::move(error)}});
}

FakeOffice::FakeOffice(std::string device_id, std::string token, std::optional<ServerTls> tls)
    : device_id_(std::move(device_id)),
      token_(std::move(token)),
      server_([this](const ServerRequest& request) { return handle(request); }, std::move(tls)) {}

FakeOffice::~FakeOffice() = default;

void FakeOffice::set_script(Script script) {
    std::lock_guard lock(mutex_);
    script_ = std::move(script);
}

std::vector<ServerRequest> FakeOffice::requests() const {
    std::lock_guard lock(mutex_);
    return log;
}

std::vector<ServerRequest> FakeOffice::requests(std::string_view method) const {
    std::lock_guard lock(mutex_);
    std::vector<ServerRequest> out;
    for (const auto& r : log) {
        if (r.method == method) out.push_back(r);
    }
    return out;
}

std::int64_t FakeOffice::acked_seq() const {
    std::lock_guard lock(mutex_);
    return acked;
}

std::map<std::int64_t, json::object> FakeOffice::entries() const {
    std::lock_guard lock(mutex_);
    return stored;
}

std::vector<json::object> FakeOffice::heads() const {
    std::lock_guard lock(mutex_);
    return signed_heads;
}

std::optional<std::string> FakeOffice::blob(const std::string& sha256) const {
    std::lock_guard lock(mutex_);
    auto it = complete.find(sha256);
    if (it == complete.end()) return std::nullopt;
    return it->second;
}

void FakeOffice::hold_entries_up_to(std::int64_t seq) {
    std::lock_guard lock(mutex_);
    acked = seq;
}

ServerResponse FakeOffice::handle(const ServerRequest& request) {
    std::lock_guard lock(mutex_);
    int n = static_cast<int>(log.size());
    log.push_back(request);
    if (script_) {
        if (auto scripted = script_(*this, request, n)) return *scripted;
    }
    return handle_default(request);
}

ServerResponse FakeOffice::handle_default(const ServerRequest& request) {
    auto auth = request.headers.find("authorization");
    if (auth == request.headers.end() || auth->second != "Bearer " + token_) {
        return error_reply(401, "unauthorized", "unknown device or wrong token");
    }
    std::string prefix = "/v1/devices/" + device_id_ + "/";
    if (!request.target.starts_with(prefix)) return error_reply(404, "not_found", "no such path");
    std::string rest = request.target.substr(prefix.size());
    if (rest == "batches" && request.method == "POST") return batch(request);
    if (rest.starts_with("blobs/")) {
        std::string sha = rest.substr(6);
        if (request.method == "HEAD") return head_blob(sha);
        if (request.method == "PATCH") return patch_blob(sha, request);
    }
    return error_reply(405, "method_not_allowed", request.method + " " + request.target);
}

ServerResponse FakeOffice::batch(const ServerRequest& request) {
    boost::system::error_code ec;
    json::value body = json::parse(request.body, ec);
    if (ec || !body.is_object()) return error_reply(400, "bad_request", "not a JSON object");
    const json::array& list = body.at("entries").as_array();
    std::vector<std::string> missing;
    std::int64_t expected = acked + 1;
    for (const auto& value : list) {
        const json::object& e = value.as_object();
        std::int64_t seq = e.at("seq").as_int64();
        if (seq <= acked) continue;  // a replay: already held
        if (seq != expected) {
            return error_reply(409, "sequence_gap", "first new entry is not the next", acked);
        }
        ++expected;
        if (e.at("kind").as_string() == "photo" && e.at("payload").is_string()) {
            json::value payload = json::parse(e.at("payload").as_string());
            std::string sha(payload.at("sha256").as_string());
            if (!complete.contains(sha)) missing.push_back(sha);
        }
    }
    if (!missing.empty()) {
        json::array shas;
        for (const auto& sha : missing) shas.emplace_back(sha);
        return json_reply(409, json::object{{"error",
                                             {{"code", "blob_missing"},
                                              {"message", "photos first"},
                                              {"acked_seq", acked},
                                              {"missing_blobs", shas}}}});
    }
    for (const auto& value : list) {
        const json::object& e = value.as_object();
        std::int64_t seq = e.at("seq").as_int64();
        if (seq > acked) stored[seq] = e;
    }
    if (!list.empty()) {
        acked = std::max(acked, list.back().as_object().at("seq").as_int64());
        signed_heads.push_back(body.at("head").as_object());
    }
    return json_reply(200, json::object{{"acked_seq", acked}, {"server_time_ms", 1}});
}

ServerResponse FakeOffice::head_blob(const std::string& sha) {
    if (auto it = complete.find(sha); it != complete.end()) {
        return {200,
                {{"Upload-Offset", std::to_string(it->second.size())},
                 {"Upload-Length", std::to_string(it->second.size())},
                 {"Upload-Complete", "?1"}},
                "",
                false};
    }
    auto it = partial.find(sha);
    if (it == partial.end()) return {404, {}, "", false};
    return {200,
            {{"Upload-Offset", std::to_string(it->second.size())}, {"Upload-Complete", "?0"}},
            "",
            false};
}

ServerResponse FakeOffice::patch_blob(const std::string& sha, const ServerRequest& request) {
    std::string& held = partial[sha];
    std::uint64_t offset = std::stoull(request.headers.at("upload-offset"));
    std::uint64_t length = std::stoull(request.headers.at("upload-length"));
    if (offset != held.size()) {
        ServerResponse r = error_reply(409, "offset_mismatch", "offset differs");
        r.headers.push_back({"Upload-Offset", std::to_string(held.size())});
        return r;
    }
    held += request.body;
    if (held.size() < length) {
        return {204, {{"Upload-Offset", std::to_string(held.size())}}, "", false};
    }
    if (to_hex(sha256(held)) != sha) {
        partial.erase(sha);
        return error_reply(422, "hash_mismatch", "the upload does not hash to its name");
    }
    complete[sha] = held;
    partial.erase(sha);
    return {201, {{"Upload-Offset", std::to_string(length)}, {"Upload-Complete", "?1"}}, "", false};
}

}  // namespace fieldlog::sync::client::testing
