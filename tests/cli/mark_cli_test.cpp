// `fieldlog mark`: the command line's request and the text shown for its replies.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "fieldlog/cli/command_line.hpp"
#include "fieldlog/cli/format.hpp"

namespace fieldlog::cli {
namespace {

namespace json = boost::json;

Invocation parsed(std::vector<std::string> args) {
    auto result = parse_command_line(args, std::nullopt);
    if (auto* stop = std::get_if<ParseStop>(&result)) {
        ADD_FAILURE() << "parse stopped: " << stop->err;
        return {};
    }
    return std::get<Invocation>(std::move(result));
}

ParseStop stopped(std::vector<std::string> args) {
    auto result = parse_command_line(args, std::nullopt);
    if (auto* stop = std::get_if<ParseStop>(&result)) return *stop;
    ADD_FAILURE() << "parse did not stop; request "
                  << json::serialize(std::get<Invocation>(result).request());
    return {};
}

bool contains(const std::string& haystack, std::string_view needle) {
    return haystack.find(needle) != std::string::npos;
}

TEST(MarkCommand, MarksFromTheCommandLineWithAnOptionalLabel) {
    EXPECT_EQ(parsed({"mark"}).request(),
              json::parse(R"({"op": "mark.add", "args": {"source": "cli"}})"));
    EXPECT_EQ(
        parsed({"mark", "--label", "outfall pipe"}).request(),
        json::parse(R"({"op": "mark.add", "args": {"source": "cli", "label": "outfall pipe"}})"));
    auto json_output = parsed({"mark", "--label", "gate", "--json"});
    EXPECT_TRUE(json_output.json_output);
    EXPECT_EQ(json_output.op, "mark.add");
}

TEST(MarkCommand, ListsMarksOfTheOpenOrANamedInspection) {
    EXPECT_EQ(parsed({"mark", "list"}).request(),
              json::parse(R"({"op": "mark.list", "args": {}})"));
    EXPECT_EQ(parsed({"mark", "list", "--inspection", "I-7", "--json"}).request(),
              json::parse(R"({"op": "mark.list", "args": {"inspection_id": "I-7"}})"));
}

TEST(MarkCommand, RejectsWhatItDoesNotTake) {
    auto stop = stopped({"mark", "list", "--label", "x"});
    EXPECT_EQ(stop.exit_code, ExitCode::usage);
    EXPECT_TRUE(contains(stop.err, "--label")) << stop.err;
    stop = stopped({"mark", "here"});
    EXPECT_EQ(stop.exit_code, ExitCode::usage);
    stop = stopped({"mark", "--label"});
    EXPECT_EQ(stop.exit_code, ExitCode::usage);
}

constexpr const char* a_mark = R"({"id": "K-1", "inspection_id": "I-1", "label": "drums",
    "source": "button", "device_time_ms": 1795566600000, "gnss_time_ms": 1795566599000,
    "lat": 30.58539, "lon": 114.309463})";

TEST(MarkFormat, ShowsTimePositionAndSource) {
    auto text = format_human("mark.add",
                             json::parse(std::string(R"({"mark": )") + a_mark + "}").as_object());
    EXPECT_TRUE(contains(text, "mark K-1")) << text;
    EXPECT_TRUE(contains(text, "drums")) << text;
    EXPECT_TRUE(contains(text, "2026-11-25T00:30:00.000Z")) << text;
    EXPECT_TRUE(contains(text, "30.5854, 114.309")) << text;
    EXPECT_TRUE(contains(text, "button")) << text;
}

TEST(MarkFormat, ListsMarksOrSaysThereAreNone) {
    auto text = format_human(
        "mark.list",
        json::parse(std::string(R"({"inspection_id": "I-1", "marks": [)") + a_mark + "]}")
            .as_object());
    EXPECT_TRUE(contains(text, "LABEL")) << text;
    EXPECT_TRUE(contains(text, "drums")) << text;
    EXPECT_EQ(format_human("mark.list", json::parse(R"({"marks": []})").as_object()), "no marks\n");
}

}  // namespace
}  // namespace fieldlog::cli
