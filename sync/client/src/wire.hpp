// The device side of docs/sync-protocol.md as pure functions: the batch body, and reading what
// the server answers. Every reply is untrusted: each reader returns nothing for anything that is
// not exactly the shape the protocol names.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fieldlog/store/device_key.hpp"
#include "fieldlog/store/evidence.hpp"

namespace fieldlog::sync::client::wire {

// A parked entry travels as its chain fields only, so the entries behind it still link; the
// payload the server refused stays on the device (sync/client/README.md).
struct Withheld {
    std::string code;
    std::string message;
};

struct Pending {
    std::int64_t entries = 0;
    std::int64_t bytes = 0;
};

// POST /v1/devices/{id}/batches. entries must be contiguous and ascending; head_signature signs
// the last one.
std::string batch_body(const store::PublicKey& public_key, Pending pending,
                       const std::vector<store::OutboxEntry>& entries,
                       const std::map<std::int64_t, Withheld>& withheld,
                       const store::Signature& head_signature);

struct ServerError {
    std::string code;
    std::string message;
    std::optional<std::int64_t> acked_seq;
    std::vector<std::string> missing_blobs;
};

// {"error": {"code": ..., "message": ...}} with acked_seq and missing_blobs beside code or
// beside error. Nothing when the body is not such an object or a member has the wrong type.
std::optional<ServerError> parse_error(std::string_view body);

// The acked_seq of a 200 reply: a non-negative integer, or nothing.
std::optional<std::int64_t> parse_acked_seq(std::string_view body);

// Retry-After as delay-seconds or an IMF-fixdate, relative to now_wall_ms; a date in the past is
// zero. Nothing when malformed.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::int64_t now_wall_ms);

// Upload-Offset / Upload-Length: decimal digits only, no sign, no spaces inside.
std::optional<std::uint64_t> parse_byte_count(std::string_view value);

// The blob a photo record names (its payload's sha256), when the payload is a photo record.
std::optional<std::string> photo_blob(std::string_view payload);

bool valid_sha256_hex(std::string_view text);

// Exponential backoff with full jitter: a uniform draw from [0, min(cap, base * 2^(failures-1))].
std::chrono::milliseconds full_jitter(int failures, std::chrono::milliseconds base,
                                      std::chrono::milliseconds cap, std::mt19937_64& random);

// The same ceiling with equal jitter: a uniform draw from its upper half. For probing a server
// that is out of reach, where the spread still keeps a fleet apart but an early draw would only
// wake the device for nothing (a link change already triggers an attempt of its own).
std::chrono::milliseconds equal_jitter(int failures, std::chrono::milliseconds base,
                                       std::chrono::milliseconds cap, std::mt19937_64& random);

}  // namespace fieldlog::sync::client::wire
