#include "server_harness.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <random>
#include <stdexcept>
#include <thread>

#include "fieldlog/canonical_json.hpp"
#include "fieldlog/files.hpp"
#include "fieldlog/store/database.hpp"

namespace fieldlog::server::testing {

namespace json = boost::json;

DeviceChain::DeviceChain(std::string device_id)
    : device_id_(std::move(device_id)),
      key_(std::make_shared<const store::DeviceKey>(store::DeviceKey::generate().value())) {}

DeviceChain DeviceChain::fork(std::int64_t keep) const {
    DeviceChain copy(*this);
    copy.entries_.resize(static_cast<std::size_t>(keep));
    return copy;
}

std::string DeviceChain::public_key_hex() const { return to_hex(key_->public_key()); }

std::int64_t DeviceChain::append(const std::string& kind, const std::string& record_id,
                                 const json::object& payload,
                                 std::optional<std::int64_t> gnss_time_ms,
                                 const std::string& action) {
    store::OutboxEntry e;
    e.payload = canonical_json(payload);
    e.entry.seq = last_seq() + 1;
    e.entry.kind = kind;
    e.entry.record_id = record_id;
    e.entry.action = action;
    e.entry.payload_hash = sha256(e.payload);
    e.entry.prev_hash =
        entries_.empty() ? store::genesis_hash(device_id_) : entries_.back().entry.entry_hash;
    e.entry.device_time_ms = base_time_ms + e.entry.seq * 1000;
    e.entry.gnss_time_ms = gnss_time_ms;
    e.entry.entry_hash = store::compute_entry_hash(e.entry);
    entries_.push_back(std::move(e));
    return last_seq();
}

json::object entry_json(const store::OutboxEntry& e) {
    return json::object{{"seq", e.entry.seq},
                        {"kind", e.entry.kind},
                        {"record_id", e.entry.record_id},
                        {"action", e.entry.action},
                        {"payload_hash", to_hex(e.entry.payload_hash)},
                        {"prev_hash", to_hex(e.entry.prev_hash)},
                        {"entry_hash", to_hex(e.entry.entry_hash)},
                        {"device_time_ms", e.entry.device_time_ms},
                        {"gnss_time_ms", e.entry.gnss_time_ms ? json::value(*e.entry.gnss_time_ms)
                                                              : json::value(nullptr)},
                        {"payload", e.payload}};
}

json::object DeviceChain::batch(std::int64_t first, std::int64_t last) const {
    return batch_signed_by(*key_, first, last);
}

json::object DeviceChain::batch_signed_by(const store::DeviceKey& key, std::int64_t first,
                                          std::int64_t last) const {
    json::array list;
    for (std::int64_t seq = first; seq <= last; ++seq) list.push_back(entry_json(entry(seq)));
    const Sha256& head_hash = entry(last).entry.entry_hash;
    store::Signature signature = key.sign(store::head_message(device_id_, last, head_hash));
    return json::object{{"public_key", public_key_hex()},
                        {"pending", json::object{{"entries", last_seq() - last}, {"bytes", 0}}},
                        {"entries", std::move(list)},
                        {"head", json::object{{"seq", last},
                                              {"entry_hash", to_hex(head_hash)},
                                              {"signature", to_hex(signature)}}}};
}

std::string write_admin_token(const std::filesystem::path& path) {
    std::string token = "admin-" + random_uuid();
    auto written = write_file_atomically(path, token + "\n", 0600);
    if (!written) throw std::runtime_error(written.error().to_string());
    return token;
}

TestServer::TestServer(const Tweak& tweak) {
    own_dir_.emplace();
    start(own_dir_->path(), tweak);
}

TestServer::TestServer(const fieldlog::testing::TempDir& dir, const Tweak& tweak) {
    start(dir.path(), tweak);
}

void TestServer::start(const std::filesystem::path& root, const Tweak& tweak) {
    config_.listen_host = "127.0.0.1";
    config_.listen_port = 0;
    config_.threads = 2;
    config_.data_dir = root / "data";
    config_.admin_token_file = root / "admin.token";
    if (std::filesystem::exists(config_.admin_token_file)) {
        admin_token_ = read_file(config_.admin_token_file, 4096).value();
        while (!admin_token_.empty() && admin_token_.back() == '\n') admin_token_.pop_back();
    } else {
        admin_token_ = write_admin_token(config_.admin_token_file);
    }
    if (tweak) tweak(config_);
    ServerOptions options;
    options.clock = &clock_;
    options.log = [this](std::string_view line) {
        std::lock_guard lock(log_mutex_);
        log_.emplace_back(line);
    };
    auto created = Server::create(config_, std::move(options));
    if (!created) throw std::runtime_error(created.error().to_string());
    server_ = std::move(*created);
    running_ = std::async(std::launch::async, [this] { server_->run(); });
}

TestServer::~TestServer() {
    if (running_.valid() && !stop_and_wait(std::chrono::seconds(20))) {
        ADD_FAILURE() << "fieldlog-server did not stop within 20 s";
        std::abort();
    }
}

bool TestServer::stop_and_wait(std::chrono::milliseconds limit) {
    if (!running_.valid()) return true;
    server_->stop();
    if (running_.wait_for(limit) != std::future_status::ready) return false;
    running_.get();
    return true;
}

std::string TestServer::url() const { return "http://127.0.0.1:" + std::to_string(port()); }

HttpClient TestServer::client(HttpClientOptions options) const {
    if (options.timeout == std::chrono::milliseconds(30000)) {
        options.timeout = std::chrono::seconds(20);
    }
    return HttpClient::create(url(), std::move(options)).value();
}

HttpReply TestServer::send(const std::string& method, const std::string& target,
                           const std::string& token, const std::string& body) const {
    HttpHeaders headers;
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    if (!body.empty()) headers.emplace_back("Content-Type", "application/json");
    auto c = client();
    auto reply = c.request(method, target, headers, body);
    if (!reply) throw std::runtime_error(reply.error().to_string());
    return std::move(*reply);
}

HttpReply TestServer::admin(const std::string& method, const std::string& target,
                            const std::string& body) const {
    return send(method, target, admin_token_, body);
}

std::string TestServer::enrol(const std::string& device_id) const {
    auto reply =
        admin("POST", "/v1/admin/devices", json::serialize(json::object{{"device_id", device_id}}));
    if (reply.status != 201) throw std::runtime_error("enrol failed: " + reply.body);
    return std::string(parse_object(reply.body).at("token").as_string());
}

HttpReply TestServer::post_batch(const std::string& device_id, const std::string& token,
                                 const json::object& body) const {
    return send("POST", "/v1/devices/" + device_id + "/batches", token, json::serialize(body));
}

std::vector<std::string> TestServer::log_lines() const {
    std::lock_guard lock(log_mutex_);
    return log_;
}

std::vector<json::object> TestServer::wait_for_log(
    const std::function<bool(const json::object&)>& match) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    for (;;) {
        std::vector<json::object> lines;
        bool found = false;
        for (const std::string& text : log_lines()) {
            lines.push_back(parse_object(text));
            found = found || match(lines.back());
        }
        if (found || std::chrono::steady_clock::now() > deadline) return lines;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

json::object inspection_record(const std::string& id, const std::string& site_id,
                               std::int64_t started_ms) {
    return json::object{{"id", id},
                        {"site_id", site_id},
                        {"site_name", "Site " + site_id},
                        {"kind", "wastewater_discharge"},
                        {"inspectors", json::array{"Li Wei", "Zhang Min"}},
                        {"status", "open"},
                        {"started_ms", started_ms},
                        {"closed_ms", nullptr},
                        {"notes", ""},
                        {"verdict", ""}};
}

json::object measurement_record(const std::string& id, const std::string& inspection_id,
                                std::int64_t time_ms) {
    return json::object{{"id", id},
                        {"inspection_id", inspection_id},
                        {"parameter", "COD"},
                        {"value", 75.5},
                        {"unit", "mg/L"},
                        {"verdict", "exceeds"},
                        {"device_time_ms", time_ms},
                        {"gnss_time_ms", nullptr}};
}

json::object photo_record(const std::string& id, const std::string& inspection_id,
                          const std::string& sha256_hex, std::int64_t size) {
    return json::object{{"id", id},
                        {"inspection_id", inspection_id},
                        {"sha256", sha256_hex},
                        {"size", size},
                        {"original_name", "IMG_0001.jpg"},
                        {"caption", "unlabeled drums"},
                        {"tags", json::array{"unlabeled_drums"}},
                        {"capture_time_ms", base_time_ms},
                        {"device_time_ms", base_time_ms}};
}

json::object complaint_record(const std::string& case_number, const std::string& status,
                              const std::optional<std::string>& finding, std::int64_t received_ms,
                              std::optional<std::int64_t> forwarded_ms) {
    return json::object{
        {"case_number", case_number},
        {"batch_number", 1},
        {"summary", "odour at night"},
        {"received_ms", received_ms},
        {"forwarded_ms", forwarded_ms ? json::value(*forwarded_ms) : json::value(nullptr)},
        {"responsible_unit", "district bureau"},
        {"status", status},
        {"finding", finding ? json::value(*finding) : json::value(nullptr)},
        {"inspection_ids", json::array{}},
        {"notes", ""},
        {"device_time_ms", received_ms}};
}

json::object document_record(std::int64_t batch_number, std::int64_t items, std::int64_t documents,
                             std::int64_t handed_over_ms) {
    return json::object{{"batch_number", batch_number},     {"items", items},
                        {"documents", documents},           {"topics", json::array{"permits"}},
                        {"handed_over_ms", handed_over_ms}, {"notes", ""},
                        {"device_time_ms", handed_over_ms}};
}

json::object log_record(std::int64_t id, std::int64_t time_ms, const std::string& event) {
    return json::object{{"id", id},
                        {"time_ms", time_ms},
                        {"level", "info"},
                        {"event", event},
                        {"message", "event " + event}};
}

StoredCounts stored_counts(const std::filesystem::path& data_dir, const std::string& device_id) {
    auto db = store::Database::open(data_dir / "server.db").value();
    StoredCounts out;
    auto one = [&](std::string_view sql, std::int64_t& a, std::int64_t* b, std::int64_t* c) {
        auto* stmt = db.prepare(sql).value();
        stmt->bind(1, device_id);
        if (stmt->step().value()) {
            a = stmt->int64(0);
            if (b != nullptr) *b = stmt->int64(1);
            if (c != nullptr) *c = stmt->int64(2);
        }
        stmt->reset();
    };
    one("SELECT COUNT(*), COUNT(DISTINCT seq), COALESCE(MAX(seq), 0) FROM entries WHERE "
        "device_id = ?1",
        out.entries, &out.distinct_seqs, &out.max_seq);
    one("SELECT COUNT(*) FROM records WHERE device_id = ?1", out.records, nullptr, nullptr);
    one("SELECT COUNT(*) FROM heads WHERE device_id = ?1", out.heads, nullptr, nullptr);
    return out;
}

void exec_on_database(const std::filesystem::path& data_dir, const std::string& sql) {
    auto db = store::Database::open(data_dir / "server.db").value();
    db.exec(sql).value();
}

std::string random_bytes(std::size_t n, unsigned seed) {
    std::mt19937 gen(seed);
    std::uniform_int_distribution<int> byte(0, 255);
    std::string out(n, '\0');
    for (char& c : out) c = static_cast<char>(byte(gen));
    return out;
}

json::object parse_object(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return {};
    return std::move(v.get_object());
}

std::string error_code(const HttpReply& reply) {
    json::object o = parse_object(reply.body);
    const json::value* e = o.if_contains("error");
    if (e == nullptr || !e->is_object()) return "";
    const json::value* c = e->get_object().if_contains("code");
    return c != nullptr && c->is_string() ? std::string(c->get_string()) : "";
}

std::string error_message(const HttpReply& reply) {
    json::object o = parse_object(reply.body);
    const json::value* e = o.if_contains("error");
    if (e == nullptr || !e->is_object()) return "";
    const json::value* m = e->get_object().if_contains("message");
    return m != nullptr && m->is_string() ? std::string(m->get_string()) : "";
}

}  // namespace fieldlog::server::testing
