#include <iostream>
#include <string>
#include <vector>

#include "fieldlog/server/admin_app.hpp"

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) args.emplace_back(argv[i]);
    int code = fieldlog::server::run_admin(args, std::cout, std::cerr);
    std::cout.flush();
    if (!std::cout) {
        // A full disk or closed pipe must not pass for success in a script.
        std::cerr << "fieldlog-admin: io: cannot write to standard output\n";
        return code == 0 ? 1 : code;
    }
    return code;
}
