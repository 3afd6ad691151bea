#include "fieldlog/cli/exit_code.hpp"

namespace fieldlog::cli {

ExitCode exit_code_for(std::string_view daemon_error_code) {
    if (daemon_error_code == "not_found") return ExitCode::not_found;
    if (daemon_error_code == "conflict") return ExitCode::conflict;
    if (daemon_error_code == "invalid_argument") return ExitCode::invalid_argument;
    if (daemon_error_code == "no_space") return ExitCode::no_space;
    return ExitCode::failure;
}

std::string_view exit_code_help() {
    return "Exit codes:\n"
           "  0  success\n"
           "  1  internal or other error, including a reply that is not valid\n"
           "  2  usage error: bad arguments, found before anything was sent\n"
           "  3  daemon unreachable: socket missing, connection refused, or timed out\n"
           "  4  not_found: the daemon has no such record\n"
           "  5  conflict: the request contradicts the stored state\n"
           "  6  verify found problems in the evidence chain\n"
           "  7  invalid_argument: the daemon refused a value\n"
           "  8  no_space: the device is out of storage\n";
}

}  // namespace fieldlog::cli
