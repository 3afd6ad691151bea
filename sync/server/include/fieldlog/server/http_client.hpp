// A small blocking HTTP(S) client on libcurl's easy API, for fieldlog-admin and the server's
// tests: one connection kept alive across requests, TLS verified against a given CA file.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fieldlog/error.hpp"

namespace fieldlog::server {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpClientOptions {
    // PEM bundle to verify the server against; the system's trust store when absent.
    std::optional<std::filesystem::path> ca_file;
    // A client certificate (PEM) and its key, for servers that ask for one.
    std::optional<std::filesystem::path> client_cert;
    std::optional<std::filesystem::path> client_key;
    std::chrono::milliseconds timeout{30000};
    // Replies larger than this are an error rather than a memory hazard.
    std::size_t max_reply_bytes = std::size_t{64} * 1024 * 1024;
};

struct HttpReply {
    long status = 0;
    HttpHeaders headers;
    std::string body;

    // The value of the last header with this name, compared without regard to case.
    std::optional<std::string> header(std::string_view name) const;
};

class HttpClient {
public:
    // base_url is "http://host:port" or "https://host:port", without a trailing path.
    [[nodiscard]] static Result<HttpClient> create(std::string base_url,
                                                   HttpClientOptions options = {});
    HttpClient(HttpClient&&) noexcept;
    HttpClient& operator=(HttpClient&&) noexcept;
    ~HttpClient();

    // Sends target exactly as given ("/v1/x/../y" is not folded), so tests can send what a
    // hostile client would. Errc::unavailable when no reply came (refused, timed out, TLS
    // verification failed); any HTTP status is a reply.
    [[nodiscard]] Result<HttpReply> request(std::string_view method, std::string_view target,
                                            const HttpHeaders& headers = {},
                                            std::string_view body = {});

private:
    struct Impl;
    explicit HttpClient(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace fieldlog::server
