// A one-request client of fieldlogd's control socket (docs/protocol.md): connect, send one JSON
// line, read one JSON line back, all within a single deadline.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

#include "fieldlog/error.hpp"

namespace fieldlog::cli {

// A well-formed reply: either ok with its result, or the daemon's error code and message.
struct Reply {
    bool ok = false;
    boost::json::object result;
    std::string error_code;
    std::string error_message;
};

// An export of a long period is the largest reply; anything beyond this is taken as broken
// rather than held in memory on a small board.
inline constexpr std::size_t default_max_reply_bytes = std::size_t{256} * 1024 * 1024;

struct ExchangeOptions {
    std::chrono::milliseconds timeout{30'000};  // for the whole exchange, connect included
    std::size_t max_reply_bytes = default_max_reply_bytes;
};

// Errors: Errc::unavailable when the daemon cannot be reached, closes the connection without
// answering, or does not answer within the timeout; Errc::corrupt when what comes back is not a
// reply (not JSON, no `ok`, too large, cut short).
[[nodiscard]] Result<Reply> exchange(const std::string& socket_path,
                                     const boost::json::object& request,
                                     const ExchangeOptions& options);

// Checks one reply line (without its newline) against the protocol's reply shape.
[[nodiscard]] Result<Reply> parse_reply(std::string_view line);

}  // namespace fieldlog::cli
