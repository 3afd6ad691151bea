#include "reference_fetch.hpp"

#include <boost/asio/post.hpp>

#include "wire.hpp"

namespace fieldlog::sync::client {

namespace asio = boost::asio;

ReferenceFetch::ReferenceFetch(asio::io_context& io, ReferenceHooks hooks, Log log,
                               std::function<std::int64_t()> wall_clock_ms)
    : io_(io),
      hooks_(std::move(hooks)),
      log_(std::move(log)),
      wall_clock_ms_(std::move(wall_clock_ms)) {}

void ReferenceFetch::run(UploadTransport& transport, const std::string& resource_url,
                         std::vector<HttpHeader> headers, bool forced, Done done) {
    if (!forced && next_due_ && std::chrono::steady_clock::now() < *next_due_) {
        asio::post(io_, [done = std::move(done)] { done(ReferenceOutcome{}); });
        return;
    }
    const std::int64_t since = hooks_.current_version ? hooks_.current_version() : 0;
    std::string url = resource_url + "?since=" + std::to_string(since);
    transport.send(
        HttpRequest{"GET", url, std::move(headers), {}},
        [weak = weak_from_this(), url, done = std::move(done)](Result<HttpResponse> reply) mutable {
            if (auto self = weak.lock()) {
                self->on_reply(std::move(reply), url, std::move(done));
            }
        });
}

void ReferenceFetch::defer() {
    next_due_ = std::chrono::steady_clock::now() + hooks_.check_interval;
}

void ReferenceFetch::answered(ReferenceOutcome& outcome) {
    outcome.checked_ms = wall_clock_ms_();
    defer();
}

void ReferenceFetch::on_reply(Result<HttpResponse> reply, const std::string& url, Done done) {
    ReferenceOutcome outcome;
    outcome.asked = true;
    if (!reply) {
        // No answer: the next round asks again.
        outcome.error = "cannot ask for reference data: " + reply.error().message();
        done(std::move(outcome));
        return;
    }
    const HttpResponse& response = *reply;
    auto http_error = [&] {
        std::string text = "HTTP " + std::to_string(response.status) + " to GET " + url;
        if (auto error = wire::parse_error(response.body)) {
            text += ": " + error->code + (error->message.empty() ? "" : ": " + error->message);
        }
        return text;
    };
    if (response.status == 204) {
        answered(outcome);  // the device is up to date
        done(std::move(outcome));
        return;
    }
    if (response.status == 200) {
        if (!hooks_.apply) {
            done(std::move(outcome));
            return;
        }
        hooks_.apply(std::string(response.body), [weak = weak_from_this(), &io = io_,
                                                  done = std::move(done)](
                                                     Result<std::int64_t> applied) mutable {
            asio::post(io, [weak, applied = std::move(applied), done = std::move(done)]() mutable {
                if (auto self = weak.lock()) {
                    self->on_applied(std::move(applied), std::move(done));
                }
            });
        });
        return;
    }
    if (response.status == 404) {
        // A server without reference data support: nothing to refuse, and nothing to log.
        defer();
        outcome.error = "the server offers no reference data (" + http_error() + ")";
        done(std::move(outcome));
        return;
    }
    if (response.status == 401 || response.status == 403 || response.status == 408 ||
        response.status == 429 || response.status >= 500) {
        // The uploader's own requests meet these too and act on them.
        outcome.error = "reference data not fetched: " + http_error();
        done(std::move(outcome));
        return;
    }
    refuse("the server answered " + http_error(), std::move(done));
}

void ReferenceFetch::on_applied(Result<std::int64_t> applied, Done done) {
    if (!applied) {
        refuse(applied.error().message(), std::move(done));
        return;
    }
    ReferenceOutcome outcome;
    outcome.asked = true;
    outcome.applied_version = *applied;
    answered(outcome);
    last_logged_.clear();
    done(std::move(outcome));
}

void ReferenceFetch::refuse(std::string why, Done done) {
    ReferenceOutcome outcome;
    outcome.asked = true;
    defer();
    const std::int64_t held = hooks_.current_version ? hooks_.current_version() : 0;
    outcome.error = "reference data refused: " + why;
    // Logged once per reason: the log entry is itself a write, which starts a round.
    if (log_ && why != last_logged_) {
        last_logged_ = why;
        log_("warning", "reference_refused",
             "reference data from the office refused, nothing changed and " +
                 (held > 0 ? "version " + std::to_string(held) : std::string("the config files")) +
                 " stay in use: " + why);
    }
    done(std::move(outcome));
}

}  // namespace fieldlog::sync::client
