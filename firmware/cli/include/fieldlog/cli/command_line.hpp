// Turns the inspector's command line into one control-protocol request. Every argument is
// converted and checked here, so a mistake is reported against the option that holds it and
// nothing is sent that the daemon would have to refuse as malformed.
#pragma once

#include <boost/json/object.hpp>
#include <chrono>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "fieldlog/cli/exit_code.hpp"

namespace fieldlog::cli {

inline constexpr std::string_view default_socket_path = "/run/fieldlog/control.sock";
// How long `fieldlog sync --wait` waits for the drain unless --timeout says otherwise.
inline constexpr std::chrono::milliseconds sync_wait_timeout{3'600'000};

enum class ExportFormat { json, csv };

// A request ready to send, with how its reply is to be shown.
struct Invocation {
    std::string socket_path;
    std::chrono::milliseconds timeout{30'000};
    bool json_output = false;  // print the daemon's result as JSON rather than as text
    std::string op;
    boost::json::object args;
    // `export` only: CSV or JSON, and the file to write instead of stdout.
    ExportFormat export_format = ExportFormat::json;
    std::optional<std::filesystem::path> output_path;

    // {"op": op, "args": args}
    boost::json::object request() const;
};

// The command line asked for help or the version, or was wrong: print and exit, send nothing.
struct ParseStop {
    ExitCode exit_code = ExitCode::ok;
    std::string out;  // for stdout: help or version text
    std::string err;  // for stderr: "fieldlog: usage: ..." and a hint
};

// args excludes the program name. socket_from_env is $FIELDLOG_SOCKET, if set.
std::variant<Invocation, ParseStop> parse_command_line(
    std::span<const std::string> args, const std::optional<std::string>& socket_from_env);

}  // namespace fieldlog::cli
