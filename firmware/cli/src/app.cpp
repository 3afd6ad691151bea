#include "fieldlog/cli/app.hpp"

#include <exception>

#include "fieldlog/cli/client.hpp"
#include "fieldlog/cli/command_line.hpp"
#include "fieldlog/cli/format.hpp"
#include "fieldlog/files.hpp"

namespace fieldlog::cli {

namespace json = boost::json;

namespace {

int fail(std::ostream& err, ExitCode code, std::string_view name, std::string_view message) {
    err << "fieldlog: " << name << ": " << message << "\n";
    return static_cast<int>(code);
}

int local_failure(std::ostream& err, const Error& error) {
    switch (error.code()) {
        case Errc::unavailable:
            return fail(err, ExitCode::unreachable, "unreachable", error.message());
        case Errc::corrupt:
            return fail(err, ExitCode::failure, "bad_reply", error.message());
        case Errc::no_space:
            return fail(err, ExitCode::no_space, errc_name(error.code()), error.message());
        default:
            return fail(err, ExitCode::failure, errc_name(error.code()), error.message());
    }
}

int show_export(const Invocation& invocation, const json::object& result, std::ostream& out,
                std::ostream& err) {
    std::string data = invocation.export_format == ExportFormat::csv ? format_export_csv(result)
                                                                     : json_text(result);
    if (!invocation.output_path) {
        out << data;
        return static_cast<int>(ExitCode::ok);
    }
    // The file is the evidence handed on, so a reader never finds it half written.
    if (auto written = write_file_atomically(*invocation.output_path, data, 0644); !written) {
        return local_failure(err, written.error());
    }
    if (!invocation.json_output) {
        out << "wrote " << invocation.output_path->string() << "\n"
            << format_human("export", result);
    }
    return static_cast<int>(ExitCode::ok);
}

int show(const Invocation& invocation, const json::object& result, std::ostream& out,
         std::ostream& err) {
    if (invocation.op == "export") {
        return show_export(invocation, result, out, err);
    }
    if (invocation.json_output) {
        out << json_text(result);
    } else {
        out << format_human(invocation.op, result);
    }
    if (invocation.op == "verify" && verify_found_problems(result)) {
        return static_cast<int>(ExitCode::verify_problems);
    }
    return static_cast<int>(ExitCode::ok);
}

}  // namespace

int run(std::span<const std::string> args, const std::optional<std::string>& socket_from_env,
        std::ostream& out, std::ostream& err) {
    try {
        auto parsed = parse_command_line(args, socket_from_env);
        if (const auto* stop = std::get_if<ParseStop>(&parsed)) {
            out << stop->out;
            err << stop->err;
            return static_cast<int>(stop->exit_code);
        }
        const auto& invocation = std::get<Invocation>(parsed);
        ExchangeOptions options;
        options.timeout = invocation.timeout;
        auto reply = exchange(invocation.socket_path, invocation.request(), options);
        if (!reply) {
            return local_failure(err, reply.error());
        }
        if (!reply->ok) {
            return fail(err, exit_code_for(reply->error_code), reply->error_code,
                        reply->error_message);
        }
        return show(invocation, reply->result, out, err);
    } catch (const std::exception& e) {
        // Only allocation failure should get here; report it rather than abort.
        return fail(err, ExitCode::failure, "internal", e.what());
    }
}

}  // namespace fieldlog::cli
