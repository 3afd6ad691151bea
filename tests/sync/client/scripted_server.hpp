// A small HTTP/1.1 server for uploader tests: Boost.Beast on 127.0.0.1 with an ephemeral port,
// on its own thread, answering each request with whatever the test's handler returns. It keeps
// connections alive like a real server, and can cut one instead of answering.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fieldlog::sync::client::testing {

struct ServerRequest {
    std::string method;
    std::string target;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
    int connection = 0;  // which accepted connection carried it, from 1
    std::chrono::steady_clock::time_point received;
};

struct ServerResponse {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    bool cut = false;  // close the connection without answering
};

class ScriptedServer {
public:
    // handler runs on the server's thread, one request at a time.
    using Handler = std::function<ServerResponse(const ServerRequest&)>;

    explicit ScriptedServer(Handler handler);
    ~ScriptedServer();
    ScriptedServer(const ScriptedServer&) = delete;
    ScriptedServer& operator=(const ScriptedServer&) = delete;

    // "http://127.0.0.1:<port>"
    std::string url() const;
    int connections_accepted() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace fieldlog::sync::client::testing
