// UploadTransport over CurlMulti: one easy handle per exchange, every option that touches
// security set explicitly rather than left to libcurl's defaults.
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cctype>
#include <cstring>

#include "curl_multi.hpp"
#include "fieldlog/sync/client/upload_transport.hpp"

namespace fieldlog::sync::client {

namespace asio = boost::asio;

std::optional<std::string_view> HttpResponse::header(std::string_view lower_name) const {
    for (auto it = headers.rbegin(); it != headers.rend(); ++it) {
        if (it->name == lower_name) return std::string_view(it->value);
    }
    return std::nullopt;
}

namespace {

using detail::curl;
using detail::CurlEasy;
using detail::CurlSlist;

constexpr std::size_t max_header_bytes = 64 * 1024;

std::string trimmed(std::string_view text) {
    auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    auto last = text.find_last_not_of(" \t\r\n");
    return std::string(text.substr(first, last - first + 1));
}

// OpenSSL's text for an alert the peer sent, e.g. "error:0A00045C:SSL routines::tlsv13 alert
// certificate required"; a cut connection reads as "unexpected eof" or a reset instead.
bool tls_alert(std::string_view detail) {
    return detail.find("SSL routines::") != std::string_view::npos &&
           detail.find(" alert ") != std::string_view::npos;
}

class HttpTransfer final : public detail::CurlTransfer {
public:
    HttpTransfer(HttpRequest request, UploadTransport::Handler handler,
                 const TransportOptions& options, std::weak_ptr<char> generation)
        : request_(std::move(request)),
          handler_(std::move(handler)),
          max_body_(options.max_response_bytes),
          generation_(std::move(generation)) {}

    CURL* easy() const override { return easy_.get(); }

    Status setup(const TransportOptions& options) {
        easy_.reset(curl().easy_init());
        if (!easy_) return Error(Errc::internal, "curl_easy_init failed");
        CURL* h = easy_.get();
        curl().easy_setopt(h, CURLOPT_URL, request_.url.c_str());
        curl().easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer_);
        curl().easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        // Records and the device token travel only over TLS unless plain HTTP was asked for,
        // and never follow a redirect elsewhere.
        curl().easy_setopt(h, CURLOPT_PROTOCOLS_STR,
                           options.allow_plain_http ? "http,https" : "https");
        curl().easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl().easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
        curl().easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
        if (!options.ca_file.empty()) {
            curl().easy_setopt(h, CURLOPT_CAINFO, options.ca_file.c_str());
        }
        if (!options.client_cert.empty()) {
            curl().easy_setopt(h, CURLOPT_SSLCERT, options.client_cert.c_str());
            curl().easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
            curl().easy_setopt(h, CURLOPT_SSLKEY, options.client_key.c_str());
            curl().easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
        }
        // A kept connection survives NAT and idle links better with keep-alive probes.
        curl().easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
        curl().easy_setopt(h, CURLOPT_TCP_KEEPIDLE, 60L);
        curl().easy_setopt(h, CURLOPT_TCP_KEEPINTVL, 30L);
        long timeout_ms = static_cast<long>(options.request_timeout.count());
        curl().easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl().easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(timeout_ms, 15'000L));
        curl().easy_setopt(h, CURLOPT_USERAGENT, "fieldlogd");
        curl().easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, static_cast<curl_off_t>(max_body_));
        curl().easy_setopt(h, CURLOPT_WRITEFUNCTION, &HttpTransfer::on_body);
        curl().easy_setopt(h, CURLOPT_WRITEDATA, this);
        curl().easy_setopt(h, CURLOPT_HEADERFUNCTION, &HttpTransfer::on_header);
        curl().easy_setopt(h, CURLOPT_HEADERDATA, this);

        if (request_.method == "HEAD") {
            curl().easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (request_.method == "POST" || request_.method == "PATCH") {
            // The body comes from a read callback that cannot rewind, not CURLOPT_POSTFIELDS:
            // libcurl resends a request whose kept connection broke before any reply byte, and
            // for a body it could rewind it would do so unseen, the whole body again (a photo
            // chunk the server may already hold, or one the link cannot carry). Without a
            // rewind the break is reported (CURLE_SEND_FAIL_REWIND) and the uploader asks the
            // server where to resume. A kept connection found dead before any body byte left
            // is still retried, as that needs no rewind.
            curl().easy_setopt(h, CURLOPT_POST, 1L);
            curl().easy_setopt(h, CURLOPT_READFUNCTION, &HttpTransfer::on_read);
            curl().easy_setopt(h, CURLOPT_READDATA, this);
            curl().easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                               static_cast<curl_off_t>(request_.body.size()));
            if (request_.method == "PATCH") curl().easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PATCH");
        } else if (request_.method != "GET") {
            return Error(Errc::internal, "unsupported HTTP method " + request_.method);
        }
        curl_slist* list = nullptr;
        auto append = [&](const std::string& line) {
            curl_slist* grown = curl().slist_append(list, line.c_str());
            if (grown == nullptr) return false;
            list = grown;
            headers_.release();
            headers_.reset(list);
            return true;
        };
        // Waiting for "100 Continue" costs a round trip (or a second) per batch for nothing.
        bool ok = append("Expect:");
        for (const auto& header : request_.headers) {
            ok = ok && append(header.name + ": " + header.value);
        }
        if (!ok) return Error(Errc::internal, "out of memory for request headers");
        curl().easy_setopt(h, CURLOPT_HTTPHEADER, headers_.get());
        return {};
    }

    void finished(CURLcode result) override {
        if (generation_.expired()) return;
        auto handler = std::move(handler_);
        if (result == CURLE_OK) {
            long status = 0;
            curl().easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
            response_.status = static_cast<int>(status);
            handler(std::move(response_));
            return;
        }
        handler(error_for(result));
    }

private:
    Error error_for(CURLcode result) const {
        std::string detail =
            error_buffer_[0] != '\0' ? error_buffer_ : curl().easy_strerror(result);
        std::string what = request_.method + " " + request_.url + ": ";
        switch (result) {
            case CURLE_COULDNT_RESOLVE_HOST:
            case CURLE_COULDNT_RESOLVE_PROXY:
            case CURLE_COULDNT_CONNECT:
                return Error(Errc::unavailable, what + "cannot reach the server: " + detail);
            case CURLE_PEER_FAILED_VERIFICATION:
            case CURLE_SSL_CONNECT_ERROR:
            case CURLE_SSL_CERTPROBLEM:
            case CURLE_SSL_CIPHER:
            case CURLE_SSL_CACERT_BADFILE:
            case CURLE_SSL_ISSUER_ERROR:
            case CURLE_SSL_CRL_BADFILE:
                return Error(Errc::permission, what + "TLS failed: " + detail);
            case CURLE_SEND_ERROR:
            case CURLE_RECV_ERROR:
                // With TLS 1.3 the server checks the client's certificate after the handshake
                // has completed on the client's side, so a refusal (no certificate, an unknown
                // CA) arrives as an alert on the first read: a setting to put right, not a
                // broken link.
                if (tls_alert(detail)) {
                    return Error(Errc::permission,
                                 what + "TLS failed: the server refused the connection: " + detail);
                }
                break;
            case CURLE_UNSUPPORTED_PROTOCOL:
                return Error(Errc::permission, what + "protocol refused: " + detail);
            case CURLE_SEND_FAIL_REWIND:
                return Error(Errc::io, what + "the connection broke while the request was sent");
            case CURLE_OPERATION_TIMEDOUT:
                return Error(Errc::io, what + "no complete reply in time: " + detail);
            case CURLE_FILESIZE_EXCEEDED:
                return Error(Errc::too_large, what + "the reply is larger than " +
                                                  std::to_string(max_body_) + " bytes");
            case CURLE_WRITE_ERROR:
                if (oversize_) {
                    return Error(Errc::too_large,
                                 what + "the reply (body or headers) is too large");
                }
                break;
            default:
                break;
        }
        return Error(Errc::io, what + detail);
    }

    static std::size_t on_read(char* buffer, std::size_t size, std::size_t n, void* userp) {
        auto* self = static_cast<HttpTransfer*>(userp);
        std::size_t take = std::min(size * n, self->request_.body.size() - self->body_sent_);
        std::memcpy(buffer, self->request_.body.data() + self->body_sent_, take);
        self->body_sent_ += take;
        return take;
    }

    static std::size_t on_body(char* data, std::size_t, std::size_t n, void* userp) {
        auto* self = static_cast<HttpTransfer*>(userp);
        if (self->response_.body.size() + n > self->max_body_) {
            self->oversize_ = true;
            return 0;  // makes curl fail the transfer with CURLE_WRITE_ERROR
        }
        self->response_.body.append(data, n);
        return n;
    }

    static std::size_t on_header(char* data, std::size_t, std::size_t n, void* userp) {
        auto* self = static_cast<HttpTransfer*>(userp);
        self->header_bytes_ += n;
        if (self->header_bytes_ > max_header_bytes) {
            self->oversize_ = true;
            return 0;
        }
        std::string_view line(data, n);
        if (line.starts_with("HTTP/")) {
            // A new status line (after "100 Continue", say): the headers so far were not the
            // final reply's.
            self->response_.headers.clear();
            return n;
        }
        auto colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) return n;
        std::string name(line.substr(0, colon));
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        self->response_.headers.push_back({std::move(name), trimmed(line.substr(colon + 1))});
        return n;
    }

    HttpRequest request_;
    UploadTransport::Handler handler_;
    std::size_t max_body_;
    std::weak_ptr<char> generation_;
    CurlEasy easy_;
    CurlSlist headers_;
    HttpResponse response_;
    std::size_t header_bytes_ = 0;
    std::size_t body_sent_ = 0;  // request body bytes handed to libcurl
    bool oversize_ = false;
    char error_buffer_[CURL_ERROR_SIZE] = {};
};

class CurlTransport final : public UploadTransport {
public:
    CurlTransport(asio::io_context& io, TransportOptions options)
        : io_(io), options_(std::move(options)), multi_(io) {}

    void send(HttpRequest request, Handler handler) override {
        auto transfer =
            std::make_unique<HttpTransfer>(std::move(request), handler, options_, generation_);
        Status started = transfer->setup(options_);
        if (started) started = multi_.add(std::move(transfer));
        if (!started) {
            asio::post(io_, [handler = std::move(handler), error = started.error(),
                             generation = std::weak_ptr<char>(generation_)] {
                if (!generation.expired()) handler(error);
            });
        }
    }

    void cancel() override {
        generation_ = std::make_shared<char>();
        multi_.cancel_all();
    }

private:
    asio::io_context& io_;
    TransportOptions options_;
    // Transfers whose completion is already queued check this; cancel() replaces it.
    std::shared_ptr<char> generation_ = std::make_shared<char>();
    detail::CurlMulti multi_;
};

}  // namespace

Result<std::unique_ptr<UploadTransport>> make_curl_transport(asio::io_context& io,
                                                             TransportOptions options) {
    // Here, not at start: a daemon without [sync] never loads libcurl.
    if (auto loaded = detail::load_curl(); !loaded) return loaded.error();
    try {
        return std::unique_ptr<UploadTransport>(new CurlTransport(io, std::move(options)));
    } catch (const std::exception& e) {
        return Error(Errc::internal, std::string("cannot start libcurl: ") + e.what());
    }
}

}  // namespace fieldlog::sync::client
