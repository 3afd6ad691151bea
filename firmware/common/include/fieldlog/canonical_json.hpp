// The one byte-exact JSON form that evidence hashes are computed over.
#pragma once

#include <boost/json/value.hpp>
#include <string>

namespace fieldlog {

// Serialises with object keys sorted bytewise and no white space, so the same value always
// gives the same bytes whatever order its members were built in.
std::string canonical_json(const boost::json::value& value);

}  // namespace fieldlog
