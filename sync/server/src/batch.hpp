// Reading a batch request body: every field's type and shape, then the checks a batch can pass
// or fail on its own (payload and entry hashes, links between its entries, the head signature).
// The checks against what the server already holds are the store's (ServerStore::ingest).
#pragma once

#include <string>
#include <string_view>
#include <variant>

#include "fieldlog/server/server_store.hpp"

namespace fieldlog::server {

// A reply that refuses the request: HTTP status, machine code and a message naming the field.
struct Refusal {
    int status = 400;
    std::string code;
    std::string message;
};

inline constexpr std::size_t max_batch_entries = 1000;
// The longest reason a withheld entry may carry (the device keeps the server's message, which
// it cuts to 512 bytes, or its own).
inline constexpr std::size_t max_withheld_message_bytes = 4096;

// device_id comes from the request target and was checked there.
std::variant<Batch, Refusal> parse_batch(std::string_view body, const std::string& device_id,
                                         std::int64_t received_ms);

// The columns a record is queried by, taken from its payload (a JSON object).
void extract_index(const boost::json::object& payload, IncomingEntry& entry);

// [A-Za-z0-9._-]{1,64}, and not "." or "..": safe in a path segment and a file name.
bool valid_device_id(std::string_view id);
// 64 lower-case hex digits.
bool valid_sha256_hex(std::string_view text);

}  // namespace fieldlog::server
