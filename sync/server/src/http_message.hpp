// The request and response as the API sees them: plain structs, so that Boost.Beast stays in
// the one translation unit that speaks HTTP (http_server.cpp).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace fieldlog::server {

struct HttpRequest {
    std::string method;  // "GET", "POST", ...
    std::string target;  // origin form, "/v1/records?kind=photo"
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    // The value of the first header with this name, compared without regard to case.
    std::optional<std::string_view> header(std::string_view name) const;
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "application/json";
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    // When set, the body is this file's content instead of body.
    std::optional<std::filesystem::path> file;
    // The device the request was for, for the access log; empty when none.
    std::string device_id;
    // What went wrong inside the server, for its log only; never sent to the client.
    std::string note;
};

// {"error": {"code": ..., "message": ...}}, the shape of every error reply.
HttpResponse error_response(int status, std::string_view code, std::string_view message);

}  // namespace fieldlog::server
