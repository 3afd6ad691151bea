#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "fieldlog/cli/app.hpp"

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    std::optional<std::string> socket_from_env;
    if (const char* socket = std::getenv("FIELDLOG_SOCKET")) socket_from_env = socket;

    fieldlog::cli::RunOptions options;
    options.progress = ::isatty(STDERR_FILENO) == 1;
    int code = fieldlog::cli::run(args, socket_from_env, std::cout, std::cerr, options);
    std::cout.flush();
    if (!std::cout) {
        // A full disk or closed pipe must not pass for success in a script.
        std::cerr << "fieldlog: io: cannot write to standard output\n";
        return code == 0 ? 1 : code;
    }
    return code;
}
