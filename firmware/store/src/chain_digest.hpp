// Internal: SHA-256 for the chain's per-record hashes. OpenSSL 3 looks the algorithm up
// again on every EVP_Digest with EVP_sha256(), about half of a short input's hashing time, so
// the algorithm is fetched once and each thread keeps one context.
#pragma once

#include <string_view>

#include "fieldlog/digest.hpp"

namespace fieldlog::store::detail {

Sha256 chain_sha256(std::string_view data);

}  // namespace fieldlog::store::detail
