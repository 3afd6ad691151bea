#include <array>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "fieldlog/cli/format.hpp"

namespace fieldlog::cli {

namespace json = boost::json;

namespace {

void write(std::string& out, const json::value& value, std::size_t depth) {
    auto newline = [&](std::size_t level) {
        out += '\n';
        out.append(level * 2, ' ');
    };
    switch (value.kind()) {
        case json::kind::object: {
            const json::object& object = value.get_object();
            if (object.empty()) {
                out += "{}";
                return;
            }
            out += '{';
            bool first = true;
            for (const auto& member : object) {
                if (!first) out += ',';
                first = false;
                newline(depth + 1);
                out += json::serialize(json::string(member.key()));
                out += ": ";
                write(out, member.value(), depth + 1);
            }
            newline(depth);
            out += '}';
            return;
        }
        case json::kind::array: {
            const json::array& array = value.get_array();
            if (array.empty()) {
                out += "[]";
                return;
            }
            out += '[';
            bool first = true;
            for (const auto& item : array) {
                if (!first) out += ',';
                first = false;
                newline(depth + 1);
                write(out, item, depth + 1);
            }
            newline(depth);
            out += ']';
            return;
        }
        case json::kind::double_: {
            // Shortest text that reads back as the same double; parsed JSON is always finite.
            std::array<char, 32> buffer{};
            auto [end, ec] =
                std::to_chars(buffer.data(), buffer.data() + buffer.size(), value.get_double());
            if (ec == std::errc()) {
                out.append(buffer.data(), end);
                return;
            }
            break;
        }
        default:
            break;
    }
    out += json::serialize(value);
}

}  // namespace

std::string json_text(const json::value& value) {
    std::string out;
    write(out, value, 0);
    return out + "\n";
}

}  // namespace fieldlog::cli
