// The whole fieldlog CLI behind main(): read the command line, make the one request, show the
// reply, and choose the exit status (see exit_code.hpp).
#pragma once

#include <chrono>
#include <optional>
#include <ostream>
#include <span>
#include <string>

namespace fieldlog::cli {

struct RunOptions {
    // `sync --wait` shows "records and bytes left" on err, rewritten in place, while it waits:
    // for when err is a terminal.
    bool progress = false;
    std::chrono::milliseconds progress_interval{1000};
};

// args excludes the program name; socket_from_env is $FIELDLOG_SOCKET, if set. Results go to
// out, errors to err as "fieldlog: <code>: <message>".
int run(std::span<const std::string> args, const std::optional<std::string>& socket_from_env,
        std::ostream& out, std::ostream& err, const RunOptions& options = {});

}  // namespace fieldlog::cli
