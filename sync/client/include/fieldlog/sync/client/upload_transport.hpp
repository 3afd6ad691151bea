// The uploader's network edge: HTTP exchanges with the office server. The real backend drives
// libcurl's multi interface from the daemon's io_context; tests may plug in their own.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/error.hpp"

namespace boost::asio {
class io_context;
}

namespace fieldlog::sync::client {

struct HttpHeader {
    std::string name;
    std::string value;
};

struct HttpRequest {
    std::string method;  // "HEAD", "POST" or "PATCH"
    std::string url;
    std::vector<HttpHeader> headers;
    std::string body;
};

struct HttpResponse {
    int status = 0;
    std::vector<HttpHeader> headers;  // names in lower case, values trimmed
    std::string body;

    // The value of a header by its lower-case name; the last one when it is repeated.
    std::optional<std::string_view> header(std::string_view lower_name) const;
};

struct TransportOptions {
    std::filesystem::path ca_file;  // empty: the system's trust store
    std::filesystem::path client_cert;
    std::filesystem::path client_key;
    bool allow_plain_http = false;
    std::chrono::milliseconds request_timeout{30'000};
    // A reply body beyond this is refused (Errc::too_large): replies are small JSON objects.
    std::size_t max_response_bytes = std::size_t{1} << 20;
};

// Errors a send reports, so the uploader can tell a missing link from a broken exchange:
//   Errc::unavailable  the server could not be reached (name lookup or connect failed);
//   Errc::io           the exchange broke or timed out after connecting;
//   Errc::permission   TLS failed (certificate not trusted, wrong host name, bad client key,
//                      client certificate missing or refused by the server);
//   Errc::too_large    the reply was larger than max_response_bytes.
class UploadTransport {
public:
    using Handler = std::function<void(Result<HttpResponse>)>;

    virtual ~UploadTransport() = default;
    // Starts one exchange; handler runs later on the io_context, never inside send().
    virtual void send(HttpRequest request, Handler handler) = 0;
    // Abandons every exchange in flight; their handlers are not called.
    virtual void cancel() = 0;
};

// HTTP/1.1 over libcurl, with connections kept for reuse and TCP keep-alive. Peer and host
// are always verified for https://; http:// is refused unless allow_plain_http.
[[nodiscard]] Result<std::unique_ptr<UploadTransport>> make_curl_transport(
    boost::asio::io_context& io, TransportOptions options);

}  // namespace fieldlog::sync::client
