// Reference data (docs/sync-protocol.md): the office publishes sites, standards and complaint
// assignments as a new version; each device downloads its own bundle of the newest one.
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>
#include <map>
#include <variant>

#include "api.hpp"
#include "fieldlog/config/reference_set.hpp"

namespace fieldlog::server {

namespace json = boost::json;

struct Api::CachedReference {
    std::int64_t version = 0;
    std::int64_t published_ms = 0;
    config::ReferenceSet set;
};

namespace {

constexpr std::size_t max_files = 256;
constexpr std::size_t max_file_name_bytes = 256;

HttpResponse json_reply(int status, const json::object& body) {
    HttpResponse r;
    r.status = status;
    r.body = json::serialize(body);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

bool is_json(const HttpRequest& request) {
    auto value = request.header("Content-Type");
    if (!value) return false;
    std::string type(value->substr(0, value->find(';')));
    while (!type.empty() && type.back() == ' ') type.pop_back();
    for (char& c : type) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    return type == "application/json";
}

bool printable_name(std::string_view name) {
    for (char c : name) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
    }
    return true;
}

// The files of a publish request, or the refusal.
std::variant<std::vector<config::SourceFile>, HttpResponse> read_files(const std::string& body) {
    auto bad = [](std::string message) {
        return error_response(400, "bad_request", std::move(message));
    };
    boost::system::error_code ec;
    json::value value = json::parse(body, ec);
    if (ec) return error_response(400, "bad_json", "the body is not valid JSON: " + ec.message());
    if (!value.is_object()) return bad("expected a JSON object");
    const json::object& object = value.get_object();
    for (const auto& member : object) {
        if (member.key() != "files") {
            return bad(std::string(member.key()) + ": unknown field; expected files");
        }
    }
    const json::value* files = object.if_contains("files");
    if (files == nullptr || !files->is_array()) {
        return bad("files: expected an array of {name, text}");
    }
    const json::array& list = files->get_array();
    if (list.empty() || list.size() > max_files) {
        return bad("files: expected 1 to " + std::to_string(max_files) + " files");
    }
    std::vector<config::SourceFile> out;
    for (std::size_t i = 0; i < list.size(); ++i) {
        const std::string where = "files[" + std::to_string(i) + "]";
        if (!list[i].is_object()) return bad(where + ": expected an object {name, text}");
        const json::object& file = list[i].get_object();
        for (const auto& member : file) {
            if (member.key() != "name" && member.key() != "text") {
                return bad(where + "." + std::string(member.key()) +
                           ": unknown field; expected name, text");
            }
        }
        const json::value* name = file.if_contains("name");
        const json::value* text = file.if_contains("text");
        if (name == nullptr || !name->is_string() || name->get_string().empty() ||
            name->get_string().size() > max_file_name_bytes ||
            !printable_name(name->get_string())) {
            return bad(where + ".name: expected 1 to " + std::to_string(max_file_name_bytes) +
                       " printable characters");
        }
        if (text == nullptr || !text->is_string()) return bad(where + ".text: expected a string");
        out.push_back({std::string(name->get_string()), std::string(text->get_string())});
    }
    return out;
}

}  // namespace

Result<std::shared_ptr<const Api::CachedReference>> Api::current_reference() {
    auto latest = store_->latest_reference();
    if (!latest) return latest.error();
    if (!*latest) return std::shared_ptr<const CachedReference>();
    {
        std::lock_guard lock(reference_mutex_);
        if (reference_cache_ && reference_cache_->version == (*latest)->version) {
            return reference_cache_;
        }
    }
    // What the store holds passed these checks when it was published; failing now means the
    // database was altered.
    auto set = config::parse_reference_set_json((*latest)->content, true);
    if (!set) {
        return Error(Errc::corrupt, "reference data version " + std::to_string((*latest)->version) +
                                        " in the store no longer reads: " + set.error().message());
    }
    auto cached = std::make_shared<CachedReference>();
    cached->version = (*latest)->version;
    cached->published_ms = (*latest)->published_ms;
    cached->set = std::move(*set);
    std::lock_guard lock(reference_mutex_);
    if (!reference_cache_ || reference_cache_->version < cached->version) {
        reference_cache_ = cached;
    }
    return std::shared_ptr<const CachedReference>(std::move(cached));
}

HttpResponse Api::publish_reference(const HttpRequest& request) {
    if (!is_json(request)) {
        return error_response(415, "unsupported_media_type", "send Content-Type: application/json");
    }
    auto files = read_files(request.body);
    if (auto* refusal = std::get_if<HttpResponse>(&files)) return *refusal;
    auto set = config::parse_reference_files(std::get<std::vector<config::SourceFile>>(files));
    if (!set) return error_response(422, "invalid_reference", set.error().message());

    // A case for a device the office does not know is a typing error more often than not.
    auto devices = store_->devices();
    if (!devices) return store_failure(devices.error());
    std::map<std::string, bool, std::less<>> known;  // device -> revoked
    for (const DeviceInfo& d : *devices) known.emplace(d.device_id, d.revoked_ms.has_value());
    std::string problems;
    for (const auto& complaint : set->complaints) {
        for (const auto& device : complaint.devices) {
            auto it = known.find(device);
            if (it == known.end() || it->second) {
                if (!problems.empty()) problems += "\n";
                problems += "complaint " + complaint.case_number + ": device " + device +
                            (it == known.end() ? " is not enrolled (fieldlog-admin device enrol)"
                                               : " is revoked");
            }
        }
    }
    if (!problems.empty()) return error_response(422, "invalid_reference", problems);

    const std::string content = config::reference_set_json(*set);
    auto published = store_->publish_reference(content, clock_->wall_ms());
    if (!published) return store_failure(published.error());
    const ReferenceVersion& v = published->published;
    return json_reply(published->unchanged ? 200 : 201,
                      json::object{{"version", v.version},
                                   {"published_ms", v.published_ms},
                                   {"sha256", v.sha256},
                                   {"unchanged", published->unchanged},
                                   {"sites", set->data.sites.size()},
                                   {"standards", set->data.standards.size()},
                                   {"complaints", set->complaints.size()}});
}

HttpResponse Api::show_reference(const Target& target) {
    if (!target.params.empty()) {
        return error_response(
            400, "bad_request",
            "unknown query parameter " + target.params.front().first + "; expected none");
    }
    auto latest = store_->latest_reference();
    if (!latest) return store_failure(latest.error());
    json::object out;
    if (!*latest) {
        out = json::object{{"version", 0},           {"published_ms", nullptr},
                           {"sha256", nullptr},      {"standards", json::array()},
                           {"sites", json::array()}, {"complaints", json::array()}};
        return json_reply(200, out);
    }
    boost::system::error_code ec;
    json::value content = json::parse((*latest)->content, ec);
    if (ec || !content.is_object()) {
        return store_failure(Error(Errc::corrupt, "reference data version " +
                                                      std::to_string((*latest)->version) +
                                                      " in the store is not a JSON object"));
    }
    out = std::move(content.get_object());
    out["version"] = (*latest)->version;
    out["published_ms"] = (*latest)->published_ms;
    out["sha256"] = (*latest)->sha256;
    return json_reply(200, out);
}

HttpResponse Api::get_reference(const Target& target, const std::string& device_id) {
    std::int64_t since = 0;
    for (const auto& [key, value] : target.params) {
        if (key != "since") {
            return error_response(400, "bad_request",
                                  "unknown query parameter " + key + "; expected since");
        }
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), since);
        if (value.empty() || ec != std::errc() || end != value.data() + value.size() || since < 0) {
            return error_response(400, "bad_request",
                                  "since: expected a version, an integer from 0, got " + value);
        }
    }
    // What the device holds is what it asks from: supervisors see it in the device list. A
    // version it applied is reported at its next ask, not at once. Read first, so that the
    // ask a device repeats every minute takes no turn of the writer.
    auto held = store_->device(device_id);
    if (!held) return store_failure(held.error());
    if (!*held || (*held)->reference_version != since) {
        if (auto noted = store_->note_reference_version(device_id, since, clock_->wall_ms());
            !noted) {
            return store_failure(noted.error());
        }
    }
    auto current = current_reference();
    if (!current) return store_failure(current.error());
    if (!*current || (*current)->version <= since) {
        HttpResponse r;
        r.status = 204;
        r.headers.emplace_back("Cache-Control", "no-store");
        return r;
    }
    HttpResponse r = json_reply(200, json::object{});
    r.body = config::make_reference_bundle((*current)->version, (*current)->published_ms, device_id,
                                           (*current)->set);
    return r;
}

}  // namespace fieldlog::server
