#include "fieldlog/server/http_client.hpp"

#include <curl/curl.h>

#include <mutex>

namespace fieldlog::server {

namespace {

struct CurlDeleter {
    void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};
struct SlistDeleter {
    void operator()(curl_slist* list) const { curl_slist_free_all(list); }
};

bool same_name(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) {
            return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
        };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

struct Collected {
    HttpReply* reply;
    std::size_t max_bytes;
    bool too_large = false;
};

std::size_t on_body(char* data, std::size_t size, std::size_t count, void* user) {
    auto* c = static_cast<Collected*>(user);
    std::size_t n = size * count;
    if (c->reply->body.size() + n > c->max_bytes) {
        c->too_large = true;
        return 0;
    }
    c->reply->body.append(data, n);
    return n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* c = static_cast<Collected*>(user);
    std::size_t n = size * count;
    std::string_view line(data, n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (line.starts_with("HTTP/")) {
        // A new status line (after 100 Continue, say) starts a new header block.
        c->reply->headers.clear();
        return n;
    }
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
        std::string_view value = line.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
        c->reply->headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    return n;
}

}  // namespace

std::optional<std::string> HttpReply::header(std::string_view name) const {
    std::optional<std::string> out;
    for (const auto& [key, value] : headers) {
        if (same_name(key, name)) out = value;
    }
    return out;
}

struct HttpClient::Impl {
    std::string base_url;
    HttpClientOptions options;
    std::unique_ptr<CURL, CurlDeleter> curl;
};

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::HttpClient(HttpClient&&) noexcept = default;
HttpClient& HttpClient::operator=(HttpClient&&) noexcept = default;
HttpClient::~HttpClient() = default;

Result<HttpClient> HttpClient::create(std::string base_url, HttpClientOptions options) {
    static std::once_flag global_init;
    static CURLcode global_rc = CURLE_OK;
    std::call_once(global_init, [] { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (global_rc != CURLE_OK) {
        return Error(Errc::internal,
                     std::string("libcurl cannot start: ") + curl_easy_strerror(global_rc));
    }
    if (!base_url.starts_with("http://") && !base_url.starts_with("https://")) {
        return Error(Errc::invalid_argument,
                     "server URL must start with http:// or https://, got " + base_url);
    }
    while (!base_url.empty() && base_url.back() == '/') base_url.pop_back();
    auto impl = std::make_unique<Impl>();
    impl->base_url = std::move(base_url);
    impl->options = std::move(options);
    impl->curl.reset(curl_easy_init());
    if (!impl->curl) return Error(Errc::internal, "libcurl: cannot create a handle");
    return HttpClient(std::move(impl));
}

Result<HttpReply> HttpClient::request(std::string_view method, std::string_view target,
                                      const HttpHeaders& headers, std::string_view body) {
    CURL* curl = impl_->curl.get();
    // Reset keeps the open connection, so a sequence of requests reuses it.
    curl_easy_reset(curl);
    HttpReply reply;
    Collected collected{&reply, impl_->options.max_reply_bytes};
    std::string url = impl_->base_url + std::string(target);
    std::string method_text(method);
    std::unique_ptr<curl_slist, SlistDeleter> list;
    for (const auto& [name, value] : headers) {
        std::string line = name + ": " + value;
        curl_slist* grown = curl_slist_append(list.get(), line.c_str());
        if (grown == nullptr) return Error(Errc::internal, "libcurl: out of memory");
        (void)list.release();
        list.reset(grown);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(impl_->options.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(impl_->options.timeout.count()));
    if (impl_->options.ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, impl_->options.ca_file->c_str());
    }
    if (impl_->options.client_cert) {
        curl_easy_setopt(curl, CURLOPT_SSLCERT, impl_->options.client_cert->c_str());
    }
    if (impl_->options.client_key) {
        curl_easy_setopt(curl, CURLOPT_SSLKEY, impl_->options.client_key->c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list.get());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &collected);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &collected);
    if (method == "GET") {
        curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    } else if (method == "HEAD") {
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method_text.c_str());
    }
    CURLcode rc = curl_easy_perform(curl);
    // The handle must not keep pointers into this call's locals.
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
    if (collected.too_large) {
        return Error(Errc::too_large, "the reply from " + url + " exceeds " +
                                          std::to_string(impl_->options.max_reply_bytes) +
                                          " bytes");
    }
    if (rc != CURLE_OK) {
        return Error(Errc::unavailable, url + ": " + curl_easy_strerror(rc));
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
}

}  // namespace fieldlog::server
