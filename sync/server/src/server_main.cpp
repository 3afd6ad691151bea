// fieldlog-server: the office end of device sync. Exit codes: 0 after a graceful stop (or a
// valid --check-config), 1 when it cannot start, 2 for bad arguments.
#include <systemd/sd-daemon.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "fieldlog/files.hpp"
#include "fieldlog/server/server.hpp"
#include "fieldlog/server/server_config.hpp"

int main(int argc, char** argv) {
    CLI::App app{"fieldlog-server: receives device batches and photos, serves supervisors"};
    std::string config_path = "/etc/fieldlog/fieldlog-server.toml";
    std::string port_file;
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    app.add_option("--port-file", port_file,
                   "write the bound port here once listening (for listen ports of 0)");
    app.add_flag("--check-config", check_only, "validate the configuration and exit");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e) == 0 ? 0 : 2;
    }

    auto config = fieldlog::server::load_server_config(config_path);
    if (!config) {
        std::cerr << "fieldlog-server: " << config.error().message() << "\n";
        return 1;
    }
    if (check_only) {
        std::cout << config_path << ": ok\n";
        return 0;
    }
    fieldlog::server::ServerOptions options;
    options.handle_signals = true;
    auto server = fieldlog::server::Server::create(*config, std::move(options));
    if (!server) {
        std::cerr << "fieldlog-server: " << server.error().message() << "\n";
        return 1;
    }
    if (!port_file.empty()) {
        auto written = fieldlog::write_file_atomically(
            port_file, std::to_string((*server)->port()) + "\n", 0644);
        if (!written) {
            std::cerr << "fieldlog-server: " << written.error().message() << "\n";
            return 1;
        }
    }
    // Type=notify: listening, so clients may connect. Without systemd (no NOTIFY_SOCKET) these
    // are no-ops.
    sd_notify(0, "READY=1\nSTATUS=serving");
    (*server)->run();
    sd_notify(0, "STOPPING=1");
    return 0;
}
