#include "fieldlog/cli/app.hpp"

#include <exception>
#include <future>

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

// `sync --wait` on a terminal: the request waits on one connection while another asks for
// status now and then and rewrites one line with what is left.
Result<Reply> exchange_with_progress(const Invocation& invocation, const ExchangeOptions& options,
                                     const RunOptions& run_options, std::ostream& err) {
    auto waiting = std::async(std::launch::async, [&] {
        return exchange(invocation.socket_path, invocation.request(), options);
    });
    const json::object status_request{{"op", "status"}, {"args", json::object()}};
    ExchangeOptions poll;
    poll.timeout = std::chrono::seconds(5);
    std::size_t shown = 0;
    while (waiting.wait_for(run_options.progress_interval) != std::future_status::ready) {
        auto status = exchange(invocation.socket_path, status_request, poll);
        if (!status || !status->ok) continue;
        std::string line = sync_progress_line(status->result);
        err << '\r' << line;
        if (line.size() < shown) err << std::string(shown - line.size(), ' ');
        err.flush();
        shown = std::max(shown, line.size());
    }
    if (shown > 0) err << '\r' << std::string(shown, ' ') << '\r' << std::flush;
    return waiting.get();
}

}  // namespace

int run(std::span<const std::string> args, const std::optional<std::string>& socket_from_env,
        std::ostream& out, std::ostream& err, const RunOptions& run_options) {
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
        bool progress =
            run_options.progress && invocation.op == "sync" && invocation.args.contains("wait");
        auto reply = progress ? exchange_with_progress(invocation, options, run_options, err)
                              : exchange(invocation.socket_path, invocation.request(), options);
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
