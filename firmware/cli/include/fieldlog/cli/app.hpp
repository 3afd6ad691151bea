// The whole fieldlog CLI behind main(): read the command line, make the one request, show the
// reply, and choose the exit status (see exit_code.hpp).
#pragma once

#include <optional>
#include <ostream>
#include <span>
#include <string>

namespace fieldlog::cli {

// args excludes the program name; socket_from_env is $FIELDLOG_SOCKET, if set. Results go to
// out, errors to err as "fieldlog: <code>: <message>".
int run(std::span<const std::string> args, const std::optional<std::string>& socket_from_env,
        std::ostream& out, std::ostream& err);

}  // namespace fieldlog::cli
