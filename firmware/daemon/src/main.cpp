// fieldlogd: the device daemon. Everything but argument handling lives in Daemon.
#include <CLI/CLI.hpp>
#include <iostream>

#include "daemon.hpp"
#include "fieldlog/config/daemon_config.hpp"

int main(int argc, char** argv) {
    CLI::App app{"fieldlogd: records field inspections into the device store"};
    std::string config_path = "/etc/fieldlog/fieldlogd.toml";
    bool check_only = false;
    app.add_option("-c,--config", config_path, "configuration file")->capture_default_str();
    app.add_flag("--check-config", check_only, "check the configuration and exit");
    app.set_version_flag("--version", "fieldlogd " FIELDLOG_VERSION);
    CLI11_PARSE(app, argc, argv);

    if (check_only) {
        auto config = fieldlog::config::load_daemon_config(config_path);
        if (!config) {
            std::cerr << "fieldlogd: " << config.error().message() << "\n";
            return 2;
        }
        std::cout << config_path << ": ok\n";
        return 0;
    }
    auto daemon = fieldlog::daemon::Daemon::start(config_path);
    if (!daemon) {
        std::cerr << "fieldlogd: cannot start: " << daemon.error().message() << "\n";
        return daemon.error().code() == fieldlog::Errc::invalid_argument ? 2 : 1;
    }
    return (*daemon)->run();
}
