// The exit statuses of the fieldlog CLI: one per outcome a script may want to branch on.
#pragma once

#include <string_view>

namespace fieldlog::cli {

enum class ExitCode : int {
    ok = 0,
    failure = 1,      // internal or other error, including a malformed reply
    usage = 2,        // bad arguments, caught before anything was sent
    unreachable = 3,  // socket missing, connection refused, or no answer in time
    not_found = 4,
    conflict = 5,
    verify_problems = 6,  // `fieldlog verify` found problems in the evidence chain
    invalid_argument = 7,
    no_space = 8,
};

// The status for an error code carried in a daemon reply ("not_found", "conflict", ...).
ExitCode exit_code_for(std::string_view daemon_error_code);

// The table printed at the foot of `fieldlog --help`.
std::string_view exit_code_help();

}  // namespace fieldlog::cli
