#include "fieldlog/server/admin_app.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <functional>
#include <iomanip>
#include <optional>
#include <sstream>
#include <vector>

#include "fieldlog/clock.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/server/http_client.hpp"

namespace fieldlog::server {

namespace json = boost::json;

namespace {

constexpr std::size_t max_token_file_bytes = 4096;
constexpr std::int64_t day_ms = 24LL * 60 * 60 * 1000;

int code(AdminExit e) { return static_cast<int>(e); }

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : text) {
        auto u = static_cast<unsigned char>(c);
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
        if (unreserved) {
            out.push_back(c);
        } else {
            out.push_back('%');
            out.push_back(hex[u >> 4]);
            out.push_back(hex[u & 0xf]);
        }
    }
    return out;
}

std::string time_text(const json::value& v) {
    return v.is_int64() ? format_utc_ms(v.get_int64()) : std::string("-");
}

std::string text_of(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) return "-";
    if (v->is_string()) return std::string(v->get_string());
    return json::serialize(*v);
}

std::int64_t int_of(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_int64() ? v->get_int64() : 0;
}

std::string bytes_text(std::int64_t bytes) {
    std::ostringstream s;
    if (bytes < 1024) {
        s << bytes << " B";
    } else if (bytes < 1024 * 1024) {
        s << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / 1024.0 << " KiB";
    } else {
        s << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1024.0 * 1024.0)
          << " MiB";
    }
    return s.str();
}

// "2026-11-25", "2026-11-25T08:00+08:00" or milliseconds since the epoch. A date alone as the
// end of a range means the whole of that day.
std::optional<std::int64_t> parse_time_arg(const std::string& text, bool end_of_range) {
    if (!text.empty() && text.find_first_not_of("-0123456789") == std::string::npos &&
        text.find('-', 1) == std::string::npos) {
        try {
            std::size_t used = 0;
            long long v = std::stoll(text, &used);
            if (used == text.size()) return v;
        } catch (const std::exception&) {
            return std::nullopt;
        }
    }
    auto ms = parse_time_ms(text);
    if (ms && end_of_range && text.size() == 10) *ms += day_ms;
    return ms;
}

struct Settings {
    std::string server;
    std::string token_file;
    std::string ca_file;
    std::string client_cert;
    std::string client_key;
    bool json_output = false;
    double timeout_s = 30;
};

class Session {
public:
    Session(HttpClient client, std::string token, bool json_output, std::ostream& out,
            std::ostream& err)
        : client_(std::move(client)),
          token_(std::move(token)),
          json_(json_output),
          out_(out),
          err_(err) {}

    // Sends one request; on success result holds the reply's JSON object.
    int call(std::string_view method, const std::string& target, const std::string& body,
             json::object& result) {
        HttpHeaders headers{{"Authorization", "Bearer " + token_}};
        if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
        auto reply = client_.request(method, target, headers, body);
        if (!reply) {
            if (reply.error().code() == Errc::unavailable) {
                return fail(AdminExit::unreachable, "unreachable", reply.error().message());
            }
            return fail(AdminExit::failure, errc_name(reply.error().code()),
                        reply.error().message());
        }
        boost::system::error_code ec;
        json::value parsed = json::parse(reply->body, ec);
        if (reply->status >= 200 && reply->status < 300) {
            if (ec || !parsed.is_object()) {
                return fail(AdminExit::failure, "bad_reply",
                            "the server's reply to " + target + " is not a JSON object");
            }
            result = std::move(parsed.get_object());
            return code(AdminExit::ok);
        }
        std::string error_code = "http_" + std::to_string(reply->status);
        std::string message = "the server answered " + std::to_string(reply->status);
        if (!ec && parsed.is_object()) {
            if (const auto* e = parsed.get_object().if_contains("error");
                e != nullptr && e->is_object()) {
                error_code = text_of(e->get_object(), "code");
                message = text_of(e->get_object(), "message");
            }
        }
        if (json_) out_ << reply->body << "\n";
        AdminExit exit = AdminExit::failure;
        if (reply->status == 401 || reply->status == 403) {
            exit = AdminExit::unauthorized;
        } else if (reply->status == 404) {
            exit = AdminExit::not_found;
        } else if (reply->status == 409) {
            exit = AdminExit::conflict;
        } else if (reply->status >= 400 && reply->status < 500) {
            exit = AdminExit::invalid_argument;
        }
        return fail(exit, error_code, message);
    }

    int fail(AdminExit exit, std::string_view name, std::string_view message) {
        err_ << "fieldlog-admin: " << name << ": " << message << "\n";
        return code(exit);
    }

    bool json() const { return json_; }
    std::ostream& out() { return out_; }
    void print_json(const json::object& o) { out_ << json::serialize(o) << "\n"; }

private:
    HttpClient client_;
    std::string token_;
    bool json_;
    std::ostream& out_;
    std::ostream& err_;
};

int enrol(Session& s, const std::string& device_id, const std::string& public_key) {
    json::object body{{"device_id", device_id}};
    if (!public_key.empty()) body["public_key"] = public_key;
    json::object r;
    if (int rc = s.call("POST", "/v1/admin/devices", json::serialize(body), r); rc != 0) return rc;
    if (s.json()) {
        s.print_json(r);
    } else {
        s.out() << "enrolled " << text_of(r, "device_id") << "\n"
                << "token: " << text_of(r, "token") << "\n"
                << "Put this token in the device's configuration now: the server keeps only its "
                   "hash and cannot show it again.\n";
    }
    return 0;
}

int revoke(Session& s, const std::string& device_id) {
    json::object r;
    if (int rc =
            s.call("POST", "/v1/admin/devices/" + percent_encode(device_id) + "/revoke", "", r);
        rc != 0) {
        return rc;
    }
    if (s.json()) {
        s.print_json(r);
    } else {
        s.out() << "revoked " << text_of(r, "device_id") << " at "
                << time_text(r.contains("revoked_ms") ? r.at("revoked_ms") : json::value()) << "\n";
    }
    return 0;
}

int list_devices(Session& s) {
    json::object r;
    if (int rc = s.call("GET", "/v1/admin/devices", "", r); rc != 0) return rc;
    if (s.json()) {
        s.print_json(r);
        return 0;
    }
    const json::value* devices = r.if_contains("devices");
    if (devices == nullptr || !devices->is_array() || devices->get_array().empty()) {
        s.out() << "no devices enrolled\n";
        return 0;
    }
    s.out() << std::left << std::setw(24) << "DEVICE" << std::setw(10) << "ACKED" << std::setw(10)
            << "HEAD" << std::setw(22) << "PENDING" << std::setw(10) << "WITHHELD" << std::setw(11)
            << "REFERENCE" << std::setw(26) << "LAST SYNC"
            << "STATUS\n";
    for (const json::value& v : devices->get_array()) {
        if (!v.is_object()) continue;
        const json::object& d = v.get_object();
        std::string pending = std::to_string(int_of(d, "pending_entries")) + " (" +
                              bytes_text(int_of(d, "pending_bytes")) + ")";
        bool revoked = d.contains("revoked_ms") && d.at("revoked_ms").is_int64();
        s.out() << std::left << std::setw(24) << text_of(d, "device_id") << std::setw(10)
                << int_of(d, "acked_seq") << std::setw(10) << int_of(d, "head_seq") << std::setw(22)
                << pending << std::setw(10) << int_of(d, "withheld_entries") << std::setw(11)
                << text_of(d, "reference_version") << std::setw(26)
                << time_text(d.contains("last_sync_ms") ? d.at("last_sync_ms") : json::value())
                << (revoked ? "revoked " + time_text(d.at("revoked_ms")) : "active") << "\n";
    }
    return 0;
}

struct RecordArgs {
    std::string device, kind, site, from, to;
    std::int64_t limit = 0;
    std::int64_t after_seq = -1;
};

int records(Session& s, const RecordArgs& a) {
    std::string query;
    auto add = [&query](std::string_view key, const std::string& value) {
        query += (query.empty() ? "?" : "&") + std::string(key) + "=" + percent_encode(value);
    };
    if (!a.device.empty()) add("device_id", a.device);
    if (!a.kind.empty()) add("kind", a.kind);
    if (!a.site.empty()) add("site_id", a.site);
    for (auto [text, key, end] :
         {std::tuple{&a.from, "from_ms", false}, std::tuple{&a.to, "to_ms", true}}) {
        if (text->empty()) continue;
        auto ms = parse_time_arg(*text, end);
        if (!ms) {
            return s.fail(AdminExit::usage, "usage",
                          std::string(end ? "--to" : "--from") + ": expected a date such as " +
                              "2026-11-25, a time such as 2026-11-25T08:00+08:00, or "
                              "milliseconds since the epoch; got " +
                              *text);
        }
        add(key, std::to_string(*ms));
    }
    if (a.limit > 0) add("limit", std::to_string(a.limit));
    if (a.after_seq >= 0) add("after_seq", std::to_string(a.after_seq));
    json::object r;
    if (int rc = s.call("GET", "/v1/records" + query, "", r); rc != 0) return rc;
    if (s.json()) {
        s.print_json(r);
        return 0;
    }
    const json::value* list = r.if_contains("records");
    if (list == nullptr || !list->is_array() || list->get_array().empty()) {
        s.out() << "no records\n";
        return 0;
    }
    for (const json::value& v : list->get_array()) {
        if (!v.is_object()) continue;
        const json::object& rec = v.get_object();
        s.out() << time_text(rec.contains("time_ms") ? rec.at("time_ms") : json::value()) << "  "
                << text_of(rec, "device_id") << "#" << int_of(rec, "seq") << "  "
                << text_of(rec, "kind") << " " << text_of(rec, "record_id");
        if (rec.contains("site_id") && rec.at("site_id").is_string()) {
            s.out() << "  site " << text_of(rec, "site_id");
        }
        s.out() << "\n";
    }
    return 0;
}

int logs(Session& s, const std::string& device, std::int64_t limit) {
    std::string target = "/v1/devices/" + percent_encode(device) + "/logs";
    if (limit > 0) target += "?limit=" + std::to_string(limit);
    json::object r;
    if (int rc = s.call("GET", target, "", r); rc != 0) return rc;
    if (s.json()) {
        s.print_json(r);
        return 0;
    }
    const json::value* entries = r.if_contains("entries");
    if (entries == nullptr || !entries->is_array() || entries->get_array().empty()) {
        s.out() << "no log entries from " << device << "\n";
        return 0;
    }
    for (const json::value& v : entries->get_array()) {
        if (!v.is_object()) continue;
        const json::object& e = v.get_object();
        s.out() << time_text(e.contains("time_ms") ? e.at("time_ms") : json::value()) << "  "
                << std::left << std::setw(8) << text_of(e, "level") << text_of(e, "event") << "  "
                << text_of(e, "message") << "\n";
    }
    return 0;
}

// Text the server stored from a device, for one terminal line: no control characters.
std::string one_line(std::string text) {
    std::replace_if(
        text.begin(), text.end(),
        [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }, ' ');
    return text;
}

int withheld(Session& s, const std::string& device, std::int64_t limit, std::int64_t after_seq) {
    std::string query;
    if (limit > 0) query += "?limit=" + std::to_string(limit);
    if (after_seq >= 0)
        query +=
            (query.empty() ? "?" : "&") + std::string("after_seq=") + std::to_string(after_seq);
    json::object r;
    if (int rc =
            s.call("GET", "/v1/devices/" + percent_encode(device) + "/withheld" + query, "", r);
        rc != 0) {
        return rc;
    }
    if (s.json()) {
        s.print_json(r);
        return 0;
    }
    const json::value* entries = r.if_contains("entries");
    if (entries == nullptr || !entries->is_array() || entries->get_array().empty()) {
        s.out() << "no withheld entries from " << device << "\n";
        return 0;
    }
    std::int64_t total = int_of(r, "withheld_entries");
    s.out() << device << ": " << total << " withheld " << (total == 1 ? "entry" : "entries")
            << " (held without payload; the records stay on the device)\n";
    for (const json::value& v : entries->get_array()) {
        if (!v.is_object()) continue;
        const json::object& e = v.get_object();
        s.out() << "  entry " << int_of(e, "seq") << "  " << one_line(text_of(e, "kind")) << " "
                << one_line(text_of(e, "record_id")) << "  received "
                << time_text(e.contains("received_ms") ? e.at("received_ms") : json::value())
                << "  " << one_line(text_of(e, "code")) << ": " << one_line(text_of(e, "message"))
                << "\n";
    }
    return 0;
}

int summary(Session& s, const std::string& what, const std::string& device) {
    std::string target = "/v1/summaries/" + what;
    if (!device.empty()) target += "?device_id=" + percent_encode(device);
    json::object r;
    if (int rc = s.call("GET", target, "", r); rc != 0) return rc;
    if (s.json()) {
        s.print_json(r);
    } else {
        s.out() << text_of(r, "text") << "\n";
    }
    return 0;
}

int verify(Session& s, const std::string& device) {
    json::object r;
    if (int rc = s.call("GET", "/v1/devices/" + percent_encode(device) + "/verify", "", r);
        rc != 0) {
        return rc;
    }
    const json::value* problems = r.if_contains("problems");
    bool ok = r.contains("ok") && r.at("ok").is_bool() && r.at("ok").get_bool();
    if (s.json()) {
        s.print_json(r);
    } else if (ok) {
        s.out() << "verify " << device << ": ok, " << int_of(r, "entries_checked")
                << " entries and " << int_of(r, "heads_checked")
                << " signed heads checked, head at entry " << int_of(r, "head_seq") << "\n";
    } else {
        std::size_t n =
            problems != nullptr && problems->is_array() ? problems->get_array().size() : 0;
        s.out() << "verify " << device << ": " << n << (n == 1 ? " problem" : " problems") << " in "
                << int_of(r, "entries_checked") << " entries\n";
        if (n > 0) {
            for (const json::value& p : problems->get_array()) {
                if (!p.is_object()) continue;
                s.out() << "  entry " << int_of(p.get_object(), "seq") << ": "
                        << text_of(p.get_object(), "what") << "\n";
            }
        }
    }
    return ok ? 0 : code(AdminExit::verify_problems);
}

// The files `reference publish` sends: a directory stands for its sites.toml, its
// assignments.toml when there is one and its standards/*.toml; a file goes as it is. The server
// tells the files apart by their tables and checks them all.
constexpr std::size_t max_reference_file_bytes = std::size_t{4} * 1024 * 1024;

Result<std::vector<std::filesystem::path>> reference_files(const std::vector<std::string>& paths) {
    std::vector<std::filesystem::path> out;
    for (const auto& given : paths) {
        std::filesystem::path path(given);
        std::error_code ec;
        if (!std::filesystem::is_directory(path, ec)) {
            out.push_back(path);
            continue;
        }
        out.push_back(path / "sites.toml");
        if (std::filesystem::exists(path / "assignments.toml", ec)) {
            out.push_back(path / "assignments.toml");
        }
        std::vector<std::filesystem::path> standards;
        const auto dir = path / "standards";
        for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end;
             it.increment(ec)) {
            std::error_code type_ec;
            if (it->path().extension() == ".toml" && it->is_regular_file(type_ec)) {
                standards.push_back(it->path());
            }
        }
        if (ec && ec != std::errc::no_such_file_or_directory) {
            return Error(Errc::io, "cannot read " + dir.string() + ": " + ec.message());
        }
        std::sort(standards.begin(), standards.end());
        out.insert(out.end(), standards.begin(), standards.end());
    }
    return out;
}

int publish_reference(Session& s, const std::vector<std::string>& paths) {
    auto files = reference_files(paths);
    if (!files) return s.fail(AdminExit::usage, "usage", files.error().message());
    json::array list;
    for (const auto& file : *files) {
        auto text = read_file(file, max_reference_file_bytes);
        if (!text) return s.fail(AdminExit::usage, "usage", text.error().message());
        list.push_back(json::object{{"name", file.string()}, {"text", std::move(*text)}});
    }
    json::object r;
    if (int rc = s.call("POST", "/v1/admin/reference",
                        json::serialize(json::object{{"files", std::move(list)}}), r);
        rc != 0) {
        return rc;
    }
    if (s.json()) {
        s.print_json(r);
        return 0;
    }
    const bool unchanged =
        r.contains("unchanged") && r.at("unchanged").is_bool() && r.at("unchanged").get_bool();
    if (unchanged) {
        s.out() << "unchanged: the server already holds this reference data as version "
                << int_of(r, "version") << "\n";
        return 0;
    }
    s.out() << "published reference data version " << int_of(r, "version") << ": "
            << int_of(r, "sites") << " sites, " << int_of(r, "standards") << " standard classes, "
            << int_of(r, "complaints") << " assigned complaint cases (sha256 "
            << text_of(r, "sha256") << ")\n"
            << "Devices take it at their next sync.\n";
    return 0;
}

int show_reference(Session& s) {
    json::object r;
    if (int rc = s.call("GET", "/v1/admin/reference", "", r); rc != 0) return rc;
    if (s.json()) {
        s.print_json(r);
        return 0;
    }
    if (int_of(r, "version") == 0) {
        s.out() << "no reference data published yet; devices use their config files\n";
        return 0;
    }
    auto array_at = [&](std::string_view key) -> const json::array& {
        static const json::array empty;
        const json::value* v = r.if_contains(key);
        return v != nullptr && v->is_array() ? v->get_array() : empty;
    };
    s.out() << "reference data version " << int_of(r, "version") << ", published "
            << time_text(r.contains("published_ms") ? r.at("published_ms") : json::value())
            << ", sha256 " << text_of(r, "sha256") << "\n";
    s.out() << "\nsites\n";
    for (const json::value& v : array_at("sites")) {
        if (!v.is_object()) continue;
        const json::object& site = v.get_object();
        s.out() << "  " << std::left << std::setw(24) << one_line(text_of(site, "id"))
                << std::setw(22) << one_line(text_of(site, "standard"))
                << one_line(text_of(site, "name")) << "\n";
    }
    s.out() << "\nstandard classes\n";
    for (const json::value& v : array_at("standards")) {
        if (!v.is_object()) continue;
        s.out() << "  " << one_line(text_of(v.get_object(), "id")) << "\n";
    }
    s.out() << "\nassigned complaint cases\n";
    if (array_at("complaints").empty()) s.out() << "  none\n";
    for (const json::value& v : array_at("complaints")) {
        if (!v.is_object()) continue;
        const json::object& c = v.get_object();
        std::string devices;
        if (const auto* d = c.if_contains("devices"); d != nullptr && d->is_array()) {
            for (const json::value& id : d->get_array()) {
                if (!devices.empty()) devices += ", ";
                devices += id.is_string() ? one_line(std::string(id.get_string())) : "?";
            }
        }
        s.out() << "  " << std::left << std::setw(16) << one_line(text_of(c, "case_number"))
                << "batch " << std::setw(6) << int_of(c, "batch_number") << "to " << devices
                << "\n";
    }
    return 0;
}

std::string_view exit_code_help() {
    return "Exit codes:\n"
           "  0  success\n"
           "  1  server error, or a reply that is not valid\n"
           "  2  usage error, found before anything was sent\n"
           "  3  server unreachable: refused, timed out, or TLS verification failed\n"
           "  4  not found: no such device\n"
           "  5  conflict: e.g. the device is already enrolled\n"
           "  6  verify found problems in the stored chain\n"
           "  7  the server refused a value\n"
           "  8  unauthorized: wrong admin token\n";
}

}  // namespace

int run_admin(std::span<const std::string> args, std::ostream& out, std::ostream& err) {
    CLI::App app{"fieldlog-admin: manage devices and read what they synced to fieldlog-server",
                 "fieldlog-admin"};
    app.fallthrough();
    app.require_subcommand(1);
    Settings settings;
    app.add_option("--server", settings.server, "server URL, e.g. https://office.example:8443")
        ->envname("FIELDLOG_SERVER")
        ->required();
    app.add_option("--token-file", settings.token_file, "file holding the admin token")
        ->envname("FIELDLOG_ADMIN_TOKEN_FILE")
        ->required();
    app.add_option("--ca-file", settings.ca_file,
                   "CA certificate(s) to verify the server with (PEM)");
    app.add_option("--client-cert", settings.client_cert,
                   "client certificate (PEM), for a server that asks for one");
    app.add_option("--client-key", settings.client_key, "the client certificate's key (PEM)");
    app.add_flag("--json", settings.json_output, "print the server's JSON reply");
    app.add_option("--timeout", settings.timeout_s, "seconds to wait for a reply (default 30)")
        ->check(CLI::Range(0.1, 3600.0));

    std::function<int(Session&)> action;

    CLI::App* device = app.add_subcommand("device", "enrol, revoke and list devices");
    device->require_subcommand(1);
    std::string enrol_id, public_key, revoke_id;
    CLI::App* enrol_cmd = device->add_subcommand("enrol", "enrol a device and show its token");
    enrol_cmd->add_option("DEVICE_ID", enrol_id, "the device's id")->required();
    enrol_cmd->add_option("--public-key", public_key, "pin the device's Ed25519 key (64 hex)");
    enrol_cmd->callback(
        [&] { action = [&](Session& s) { return enrol(s, enrol_id, public_key); }; });
    CLI::App* revoke_cmd = device->add_subcommand("revoke", "revoke a device's token for good");
    revoke_cmd->add_option("DEVICE_ID", revoke_id, "the device's id")->required();
    revoke_cmd->callback([&] { action = [&](Session& s) { return revoke(s, revoke_id); }; });
    CLI::App* list_cmd = device->add_subcommand("list", "list devices and their sync state");
    list_cmd->callback([&] { action = [](Session& s) { return list_devices(s); }; });

    RecordArgs record_args;
    CLI::App* records_cmd = app.add_subcommand("records", "latest state of synced records");
    records_cmd->add_option("--device", record_args.device, "only this device");
    records_cmd->add_option("--kind", record_args.kind,
                            "inspection, measurement, photo, complaint, document_batch, "
                            "rectification or device_log");
    records_cmd->add_option("--site", record_args.site, "only this site");
    records_cmd->add_option("--from", record_args.from, "from this time (inclusive)");
    records_cmd->add_option("--to", record_args.to, "up to this time (a date: the whole day)");
    records_cmd->add_option("--limit", record_args.limit, "at most this many (1 to 1000)")
        ->check(CLI::Range(1, 1000));
    records_cmd
        ->add_option("--after-seq", record_args.after_seq,
                     "only entries after this seq (with --device: the next page)")
        ->check(CLI::NonNegativeNumber);
    records_cmd->callback([&] { action = [&](Session& s) { return records(s, record_args); }; });

    std::string logs_device;
    std::int64_t logs_limit = 0;
    CLI::App* logs_cmd = app.add_subcommand("logs", "a device's log, newest first");
    logs_cmd->add_option("DEVICE_ID", logs_device, "the device's id")->required();
    logs_cmd->add_option("--limit", logs_limit, "at most this many (1 to 1000)")
        ->check(CLI::Range(1, 1000));
    logs_cmd->callback(
        [&] { action = [&](Session& s) { return logs(s, logs_device, logs_limit); }; });

    std::string withheld_device;
    std::int64_t withheld_limit = 0;
    std::int64_t withheld_after = -1;
    CLI::App* withheld_cmd = app.add_subcommand(
        "withheld", "entries a device sent without their payload, with the reason");
    withheld_cmd->add_option("DEVICE_ID", withheld_device, "the device's id")->required();
    withheld_cmd->add_option("--limit", withheld_limit, "at most this many (1 to 1000)")
        ->check(CLI::Range(1, 1000));
    withheld_cmd
        ->add_option("--after-seq", withheld_after, "only entries after this seq (the next page)")
        ->check(CLI::NonNegativeNumber);
    withheld_cmd->callback([&] {
        action = [&](Session& s) {
            return withheld(s, withheld_device, withheld_limit, withheld_after);
        };
    });

    std::string summary_what, summary_device;
    CLI::App* summary_cmd = app.add_subcommand("summary", "complaint or document summary");
    summary_cmd->add_option("WHAT", summary_what, "complaints or documents")
        ->required()
        ->check(CLI::IsMember({"complaints", "documents"}));
    summary_cmd->add_option("--device", summary_device, "only this device");
    summary_cmd->callback(
        [&] { action = [&](Session& s) { return summary(s, summary_what, summary_device); }; });

    std::string verify_device;
    CLI::App* verify_cmd = app.add_subcommand("verify", "re-verify a device's stored chain");
    verify_cmd->add_option("DEVICE_ID", verify_device, "the device's id")->required();
    verify_cmd->callback([&] { action = [&](Session& s) { return verify(s, verify_device); }; });

    CLI::App* reference = app.add_subcommand(
        "reference", "publish reference data for devices (sites, limits, complaint cases)");
    reference->require_subcommand(1);
    std::vector<std::string> reference_paths;
    CLI::App* publish_cmd = reference->add_subcommand(
        "publish",
        "publish a new version: a directory (its sites.toml, assignments.toml and "
        "standards/*.toml) or the files themselves");
    publish_cmd->add_option("PATH", reference_paths, "directory or TOML file")->required();
    publish_cmd->callback(
        [&] { action = [&](Session& s) { return publish_reference(s, reference_paths); }; });
    CLI::App* show_cmd =
        reference->add_subcommand("show", "the version devices get now, and what it holds");
    show_cmd->callback([&] { action = [](Session& s) { return show_reference(s); }; });

    app.footer(std::string(exit_code_help()));

    std::vector<const char*> argv{"fieldlog-admin"};
    for (const auto& arg : args) argv.push_back(arg.c_str());
    try {
        app.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        std::ostringstream o, e_out;
        int rc = app.exit(e, o, e_out);
        out << o.str();
        if (rc == 0) return 0;
        err << "fieldlog-admin: usage: " << e.what()
            << "\nRun 'fieldlog-admin --help' for usage.\n";
        return code(AdminExit::usage);
    }
    if (!action) {
        err << "fieldlog-admin: usage: no command given\n";
        return code(AdminExit::usage);
    }

    auto token = read_file(settings.token_file, max_token_file_bytes);
    if (!token) {
        err << "fieldlog-admin: token: " << token.error().message() << "\n";
        return code(AdminExit::usage);
    }
    std::string token_text = *token;
    while (!token_text.empty() && std::isspace(static_cast<unsigned char>(token_text.back()))) {
        token_text.pop_back();
    }
    HttpClientOptions options;
    if (!settings.ca_file.empty()) options.ca_file = settings.ca_file;
    if (!settings.client_cert.empty()) options.client_cert = settings.client_cert;
    if (!settings.client_key.empty()) options.client_key = settings.client_key;
    options.timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(settings.timeout_s * 1000));
    auto client = HttpClient::create(settings.server, options);
    if (!client) {
        err << "fieldlog-admin: usage: " << client.error().message() << "\n";
        return code(AdminExit::usage);
    }
    Session session(std::move(*client), std::move(token_text), settings.json_output, out, err);
    return action(session);
}

}  // namespace fieldlog::server
