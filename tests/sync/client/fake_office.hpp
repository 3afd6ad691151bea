// An office server for uploader tests, by docs/sync-protocol.md: it keeps entries by seq,
// answers replays, gaps and missing photos like the real one, takes resumable blob uploads, and
// lets a test script any reply instead (a 500, a lie, garbage, a cut connection).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scripted_server.hpp"

namespace fieldlog::sync::client::testing {

class FakeOffice {
public:
    // Called before the default handling, under the office's lock: return a reply to use it
    // instead. n counts requests from 0.
    using Script = std::function<std::optional<ServerResponse>(FakeOffice& office,
                                                               const ServerRequest&, int n)>;

    FakeOffice(std::string device_id, std::string token,
               std::optional<ServerTls> tls = std::nullopt);
    ~FakeOffice();

    std::string url() const { return server_.url(); }
    int connections_accepted() const { return server_.connections_accepted(); }
    ScriptedServer& server() { return server_; }

    // Everything below takes the lock; the script runs with it held and uses the unlocked
    // members directly.
    void set_script(Script script);
    std::vector<ServerRequest> requests() const;
    std::vector<ServerRequest> requests(std::string_view method) const;
    std::int64_t acked_seq() const;
    std::map<std::int64_t, boost::json::object> entries() const;
    std::vector<boost::json::object> heads() const;
    std::optional<std::string> blob(const std::string& sha256) const;  // complete blobs only
    void hold_entries_up_to(std::int64_t seq);  // pretend entries 1..seq are already held

    // Unlocked state, for scripts.
    std::int64_t acked = 0;
    std::map<std::int64_t, boost::json::object> stored;
    std::vector<boost::json::object> signed_heads;
    std::map<std::string, std::string> partial;  // sha256 -> bytes received so far
    std::map<std::string, std::string> complete;
    std::vector<ServerRequest> log;

    ServerResponse handle_default(const ServerRequest& request);

private:
    ServerResponse handle(const ServerRequest& request);
    ServerResponse batch(const ServerRequest& request);
    ServerResponse head_blob(const std::string& sha);
    ServerResponse patch_blob(const std::string& sha, const ServerRequest& request);

    std::string device_id_;
    std::string token_;
    mutable std::mutex mutex_;
    Script script_;
    ScriptedServer server_;
};

ServerResponse json_reply(int status, const boost::json::object& body);
ServerResponse error_reply(int status, std::string code, std::string message,
                           std::optional<std::int64_t> acked_seq = std::nullopt);

}  // namespace fieldlog::sync::client::testing
