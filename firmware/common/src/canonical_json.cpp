#include "fieldlog/canonical_json.hpp"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <vector>

namespace fieldlog {

namespace {

void append_canonical(const boost::json::value& value, std::string& out) {
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
            out.push_back('{');
            bool first = true;
            for (const auto* member : members) {
                if (!first) out.push_back(',');
                first = false;
                out += boost::json::serialize(boost::json::string_view(member->key()));
                out.push_back(':');
                append_canonical(member->value(), out);
            }
            out.push_back('}');
            break;
        }
        case boost::json::kind::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& element : value.get_array()) {
                if (!first) out.push_back(',');
                first = false;
                append_canonical(element, out);
            }
            out.push_back(']');
            break;
        }
        default:
            out += boost::json::serialize(value);
    }
}

}  // namespace

std::string canonical_json(const boost::json::value& value) {
    std::string out;
    append_canonical(value, out);
    return out;
}

}  // namespace fieldlog
