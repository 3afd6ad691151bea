// A small HTTP/1.1 server for uploader tests: Boost.Beast on 127.0.0.1 with an ephemeral port,
// on its own thread, answering each request with whatever the test's handler returns. It keeps
// connections alive like a real server, and can cut one instead of answering. With ServerTls it
// speaks HTTPS, and can ask for client certificates and refuse them.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

struct ServerTls {
    std::filesystem::path cert;  // PEM chain and key the server presents
    std::filesystem::path key;
    // Non-empty: every client must present a certificate this CA signed.
    std::filesystem::path client_ca;
};

class ScriptedServer {
public:
    // handler runs on the server's thread, one request at a time.
    using Handler = std::function<ServerResponse(const ServerRequest&)>;

    explicit ScriptedServer(Handler handler, std::optional<ServerTls> tls = std::nullopt);
    ~ScriptedServer();
    ScriptedServer(const ScriptedServer&) = delete;
    ScriptedServer& operator=(const ScriptedServer&) = delete;

    // "http://127.0.0.1:<port>", or https:// with ServerTls
    std::string url() const;
    int connections_accepted() const;
    // With client_ca: refuse every client certificate from now on, as a server that no longer
    // knows the device's CA would, or accept those client_ca signed again. New connections only.
    void refuse_client_certificates(bool refuse);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// "http://127.0.0.1:<port>" where nothing listens: a server out of reach.
std::string closed_port_url();

}  // namespace fieldlog::sync::client::testing
