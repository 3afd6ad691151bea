#include "fieldlog/cli/command_line.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fstream>

#include "temp_dir.hpp"

namespace fieldlog::cli {
namespace {

namespace json = boost::json;

std::variant<Invocation, ParseStop> parse(std::vector<std::string> args,
                                          std::optional<std::string> env = std::nullopt) {
    return parse_command_line(args, env);
}

Invocation parsed(std::vector<std::string> args, std::optional<std::string> env = std::nullopt) {
    auto result = parse(std::move(args), std::move(env));
    if (auto* stop = std::get_if<ParseStop>(&result)) {
        ADD_FAILURE() << "parse stopped: " << stop->err;
        return {};
    }
    return std::get<Invocation>(std::move(result));
}

ParseStop stopped(std::vector<std::string> args) {
    auto result = parse(std::move(args));
    if (auto* stop = std::get_if<ParseStop>(&result)) return *stop;
    ADD_FAILURE() << "parse did not stop; request "
                  << json::serialize(std::get<Invocation>(result).request());
    return {};
}

// A usage error is exit code 2 with a message naming the offending option.
void expect_usage_error(std::vector<std::string> args, std::string_view names,
                        std::string_view says = "") {
    ParseStop stop = stopped(args);
    EXPECT_EQ(stop.exit_code, ExitCode::usage);
    EXPECT_TRUE(stop.out.empty());
    EXPECT_EQ(stop.err.rfind("fieldlog: usage: ", 0), 0u) << stop.err;
    EXPECT_NE(stop.err.find(names), std::string::npos) << stop.err;
    EXPECT_NE(stop.err.find(says), std::string::npos) << stop.err;
}

TEST(CommandLine, MeasureAddSendsNumbersAsNumbers) {
    auto invocation = parsed({"measure", "add", "COD", "75.5", "mg/L", "--point", "outfall-1",
                              "--method", "online", "--water-temp", "11.5", "--inspection", "I-7"});
    EXPECT_EQ(invocation.request(), json::parse(R"({"op": "measurement.add", "args": {
        "parameter": "COD", "value": 75.5, "unit": "mg/L", "sampling_point": "outfall-1",
        "method": "online", "water_temp_c": 11.5, "inspection_id": "I-7"}})"));
}

TEST(CommandLine, MeasureAddLeavesUnsetOptionsOut) {
    auto invocation = parsed({"measure", "add", "pH", "7", "1"});
    EXPECT_EQ(invocation.op, "measurement.add");
    EXPECT_EQ(invocation.args.size(), 3u);
    ASSERT_TRUE(invocation.args.at("value").is_double());
    EXPECT_EQ(invocation.args.at("value").get_double(), 7.0);
}

TEST(CommandLine, NegativeValueIsAValueNotAnOption) {
    EXPECT_EQ(parsed({"measure", "add", "water_temp", "-0.5", "C"}).args.at("value"),
              json::value(-0.5));
    EXPECT_EQ(parsed({"measure", "add", "--", "water_temp", "-0.5", "C"}).args.at("value"),
              json::value(-0.5));
}

TEST(CommandLine, BadNumberIsUsageErrorNamingIt) {
    expect_usage_error({"measure", "add", "COD", "seventy", "mg/L"}, "VALUE",
                       "'seventy' is not a number");
    // A decimal comma is the commonest slip on a handheld keyboard.
    expect_usage_error({"measure", "add", "COD", "75", "mg/L", "--water-temp", "11,5"},
                       "--water-temp", "'11,5' is not a number");
    expect_usage_error({"measure", "add", "COD", "nan", "mg/L"}, "VALUE", "not a number");
}

TEST(CommandLine, UnknownMethodIsUsageError) {
    expect_usage_error({"measure", "add", "COD", "75", "mg/L", "--method", "guess"}, "--method",
                       "'guess' is not one of field, online, lab");
}

TEST(CommandLine, TimesAreSentAsMilliseconds) {
    auto invocation = parsed({"inspection", "list", "--from", "2026-11-01", "--to", "2026-11-30",
                              "--site", "S-1", "--limit", "20"});
    EXPECT_EQ(invocation.request(), json::parse(R"({"op": "inspection.list", "args": {
        "from_ms": 1793491200000, "to_ms": 1796083199999, "site_id": "S-1", "limit": 20}})"));

    auto with_offset = parsed({"inspection", "list", "--from", "2026-11-25T08:30+08:00"});
    EXPECT_EQ(with_offset.args.at("from_ms"), json::value(1795566600000));
}

TEST(CommandLine, BadTimeIsUsageErrorNamingIt) {
    expect_usage_error({"inspection", "list", "--from", "2026-13-01"}, "--from",
                       "is not a date or time");
    expect_usage_error({"inspection", "list", "--to", "yesterday"}, "--to");
    expect_usage_error({"inspection", "list", "--from", "2026-11-02", "--to", "2026-11-01"},
                       "--from", "is after --to");
}

TEST(CommandLine, InspectionStartTakesEveryInspector) {
    auto invocation =
        parsed({"inspection", "start", "--site", "S-1", "--kind", "wastewater_discharge",
                "--inspector", "Li Wei", "--inspector", "王芳", "--lat", "31.25", "--lon=-121.5"});
    EXPECT_EQ(invocation.request(), json::parse(R"({"op": "inspection.start", "args": {
        "site_id": "S-1", "kind": "wastewater_discharge", "inspectors": ["Li Wei", "王芳"],
        "lat": 31.25, "lon": -121.5}})"));
}

TEST(CommandLine, InspectionStartChecksItsOptions) {
    std::vector<std::string> base{"inspection", "start", "--site", "S-1", "--inspector", "Li"};
    auto with = [&](std::vector<std::string> more) {
        auto args = base;
        args.insert(args.end(), more.begin(), more.end());
        return args;
    };
    expect_usage_error(with({"--kind", "river"}), "--kind", "is not one of");
    expect_usage_error(with({"--kind", "solid_waste_yard", "--lat", "31"}), "--lat",
                       "give --lat and --lon together");
    expect_usage_error(with({"--kind", "solid_waste_yard", "--lat", "91", "--lon", "0"}), "--lat",
                       "outside");
    expect_usage_error({"inspection", "start", "--site", "S-1", "--kind", "solid_waste_yard"},
                       "--inspector", "required");
    expect_usage_error(with({"--kind", "solid_waste_yard", "--site", " "}), "--site");
}

TEST(CommandLine, PhotoAddSendsAnAbsolutePathToAnExistingFile) {
    testing::TempDir dir;
    std::filesystem::create_directory(dir / "sub");
    std::ofstream(dir / "p.jpg") << "jpeg";
    auto written = (dir / "sub" / ".." / "p.jpg").string();
    auto invocation =
        parsed({"photo", "add", "--tag", "outfall", written, "--tag", "pipe", "--caption", "x"});
    EXPECT_EQ(invocation.op, "photo.add");
    EXPECT_EQ(invocation.args.at("path"),
              json::value(std::filesystem::canonical(dir / "p.jpg").string()));
    EXPECT_EQ(invocation.args.at("tags"), json::parse(R"(["outfall", "pipe"])"));
    EXPECT_EQ(invocation.args.at("caption"), json::value("x"));

    expect_usage_error({"photo", "add", (dir / "missing.jpg").string()}, "FILE", "No such file");
    expect_usage_error({"photo", "add", (dir / "sub").string()}, "FILE", "is not a regular file");
}

TEST(CommandLine, ComplaintTimesMayBeNow) {
    auto now = parsed({"complaint", "add", "2026-0042", "--batch", "3", "--received", "now"});
    EXPECT_EQ(now.request(), json::parse(R"({"op": "complaint.add", "args": {
        "case_number": "2026-0042", "batch_number": 3}})"));
    auto at = parsed({"complaint", "forward", "2026-0042", "--unit", "Eastern District", "--at",
                      "2026-11-20T09:15Z"});
    EXPECT_EQ(at.request(), json::parse(R"({"op": "complaint.forward", "args": {
        "case_number": "2026-0042", "responsible_unit": "Eastern District",
        "forwarded_ms": 1795166100000}})"));
}

TEST(CommandLine, AnAssignedComplaintNeedsNoBatch) {
    auto assigned = parsed({"complaint", "add", "2026-0117"});
    EXPECT_EQ(assigned.request(), json::parse(R"({"op": "complaint.add", "args": {
        "case_number": "2026-0117"}})"));
}

TEST(CommandLine, ComplaintOptionsAreChecked) {
    expect_usage_error({"complaint", "add", "C-1", "--batch", "1.5"}, "--batch",
                       "is not a whole number");
    expect_usage_error({"complaint", "add", "C-1", "--batch", "0"}, "--batch", "outside");
    expect_usage_error({"complaint", "forward", "C-1"}, "--unit", "required");
    expect_usage_error({"complaint", "update", "C-1"}, "nothing to update");
    expect_usage_error({"complaint", "update", "C-1", "--finding", "true"}, "--finding",
                       "is not one of");
    auto update = parsed({"complaint", "update", "C-1", "--status", "stage_closed", "--finding",
                          "partly_substantiated", "--inspection", "I-3", "--notes", ""});
    EXPECT_EQ(update.args, json::parse(R"({"case_number": "C-1", "status": "stage_closed",
        "finding": "partly_substantiated", "inspection_id": "I-3", "notes": ""})"));
}

TEST(CommandLine, DeadlineDateMeansTheEndOfThatDay) {
    auto invocation = parsed({"rectification", "add", "--problem", "Sludge stored in the open",
                              "--responsible", "Plant manager", "--deadline", "2026-12-01"});
    EXPECT_EQ(invocation.request(), json::parse(R"({"op": "rectification.add", "args": {
        "problem": "Sludge stored in the open", "responsible_party": "Plant manager",
        "deadline_ms": 1796169599999}})"));
}

TEST(CommandLine, RectificationVerifyAndList) {
    expect_usage_error({"rectification", "verify", "R-1", "--outcome", "ok"}, "--outcome",
                       "verified, failed_verification");
    auto verify = parsed({"rectification", "verify", "R-1", "--outcome", "failed_verification"});
    EXPECT_EQ(verify.args,
              json::parse(R"({"rectification_id": "R-1", "outcome": "failed_verification"})"));
    EXPECT_EQ(parsed({"rectification", "list", "--overdue"}).args,
              json::parse(R"({"overdue": true})"));
    EXPECT_TRUE(parsed({"rectification", "list"}).args.empty());
}

TEST(CommandLine, DocumentAddCountsAreWholeNumbers) {
    auto invocation = parsed({"document", "add", "12", "--items", "3", "--documents", "40",
                              "--topic", "permits", "--topic", "monitoring"});
    EXPECT_EQ(invocation.request(), json::parse(R"({"op": "document.add", "args": {
        "batch_number": 12, "items": 3, "documents": 40, "topics": ["permits", "monitoring"]}})"));
    expect_usage_error({"document", "add", "twelve", "--items", "3", "--documents", "4"}, "BATCH");
    expect_usage_error({"document", "add", "1", "--items=-1", "--documents", "4"}, "--items",
                       "outside");
}

TEST(CommandLine, ExportChecksFormatAndOutput) {
    testing::TempDir dir;
    auto csv = parsed({"export", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "csv",
                       "--output", (dir / "out.csv").string()});
    EXPECT_EQ(csv.args, json::parse(R"({"from_ms": 1793491200000, "to_ms": 1796083199999})"));
    EXPECT_EQ(csv.export_format, ExportFormat::csv);
    EXPECT_EQ(csv.output_path, dir / "out.csv");

    std::vector<std::string> period{"export", "--from", "2026-11-01", "--to", "2026-11-30"};
    auto with = [&](std::vector<std::string> more) {
        auto args = period;
        args.insert(args.end(), more.begin(), more.end());
        return args;
    };
    expect_usage_error(with({"--output", dir.path().string()}), "--output", "is a directory");
    expect_usage_error(with({"--output", (dir / "no" / "x.csv").string()}), "--output",
                       "does not exist");
    expect_usage_error(with({"--format", "xml"}), "--format", "json, csv");
    expect_usage_error(with({"--json", "--format", "csv"}), "--json");
    expect_usage_error({"export", "--from", "2026-11-01"}, "--to", "required");
}

TEST(CommandLine, LogsOptionsAreChecked) {
    EXPECT_EQ(parsed({"logs", "--limit", "5", "--level", "warning"}).args,
              json::parse(R"({"limit": 5, "level": "warning"})"));
    expect_usage_error({"logs", "--level", "debug"}, "--level");
    expect_usage_error({"logs", "--limit", "0"}, "--limit");
}

TEST(CommandLine, SocketComesFromOptionThenEnvironmentThenDefault) {
    EXPECT_EQ(parsed({"status"}).socket_path, "/run/fieldlog/control.sock");
    EXPECT_EQ(parsed({"status"}, "/tmp/env.sock").socket_path, "/tmp/env.sock");
    EXPECT_EQ(parsed({"--socket", "/tmp/opt.sock", "status"}, "/tmp/env.sock").socket_path,
              "/tmp/opt.sock");
}

TEST(CommandLine, GlobalOptionsMayFollowTheCommand) {
    auto invocation = parsed({"site", "list", "--json", "--timeout", "1.5"});
    EXPECT_EQ(invocation.op, "site.list");
    EXPECT_TRUE(invocation.json_output);
    EXPECT_EQ(invocation.timeout, std::chrono::milliseconds(1500));
    EXPECT_EQ(parsed({"status"}).timeout, std::chrono::seconds(30));
    expect_usage_error({"status", "--timeout", "0"}, "--timeout");
}

TEST(CommandLine, SyncStartsOrWaitsForTheDrain) {
    auto now = parsed({"sync"});
    EXPECT_EQ(now.op, "sync");
    EXPECT_EQ(now.args, json::object());
    EXPECT_EQ(now.timeout, std::chrono::seconds(30));
    auto wait = parsed({"sync", "--wait"});
    EXPECT_EQ(wait.args, json::parse(R"({"wait": true})"));
    EXPECT_EQ(wait.timeout, sync_wait_timeout);
    EXPECT_EQ(parsed({"--timeout", "5", "sync", "--wait"}).timeout, std::chrono::seconds(5));
    expect_usage_error({"sync", "--force"}, "--force");
}

TEST(CommandLine, HelpAndVersionSendNothing) {
    ParseStop top = stopped({"--help"});
    EXPECT_EQ(top.exit_code, ExitCode::ok);
    EXPECT_NE(top.out.find("Exit codes"), std::string::npos);
    EXPECT_NE(top.out.find("not_found"), std::string::npos);
    EXPECT_NE(top.out.find("rectification"), std::string::npos);

    ParseStop sub = stopped({"measure", "add", "--help"});
    EXPECT_EQ(sub.exit_code, ExitCode::ok);
    EXPECT_NE(sub.out.find("--method"), std::string::npos);
    EXPECT_NE(sub.out.find("PARAMETER"), std::string::npos);

    ParseStop version = stopped({"--version"});
    EXPECT_EQ(version.exit_code, ExitCode::ok);
    EXPECT_EQ(version.out.rfind("fieldlog ", 0), 0u);
}

TEST(CommandLine, MissingOrUnknownCommandIsUsageError) {
    expect_usage_error({}, "subcommand");
    expect_usage_error({"site"}, "subcommand", "fieldlog site --help");
    expect_usage_error({"teleport"}, "unknown command 'teleport'");
    expect_usage_error({"site", "lsit"}, "unknown command 'lsit'", "fieldlog site --help");
    expect_usage_error({"site", "show"}, "SITE_ID");
}

}  // namespace
}  // namespace fieldlog::cli
