#include "fieldlog/canonical_json.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <vector>

namespace fieldlog {

namespace {

// A copy whose objects hold their members in sorted key order: Boost.JSON objects keep
// insertion order, so one serialize() call then writes the canonical bytes.
boost::json::value sorted_copy(const boost::json::value& value) {
    switch (value.kind()) {
        case boost::json::kind::object: {
            const auto& object = value.get_object();
            std::vector<const boost::json::key_value_pair*> members;
            members.reserve(object.size());
            for (const auto& member : object) {
                members.push_back(&member);
            }
            std::sort(members.begin(), members.end(),
                      [](const auto* a, const auto* b) { return a->key() < b->key(); });
            boost::json::object out(members.size());
            for (const auto* member : members) {
                out.emplace(member->key(), sorted_copy(member->value()));
            }
            return out;
        }
        case boost::json::kind::array: {
            boost::json::array out;
            out.reserve(value.get_array().size());
            for (const auto& element : value.get_array()) {
                out.push_back(sorted_copy(element));
            }
            return out;
        }
        default:
            return value;
    }
}

}  // namespace

std::string canonical_json(const boost::json::value& value) {
    return boost::json::serialize(sorted_copy(value));
}

}  // namespace fieldlog
