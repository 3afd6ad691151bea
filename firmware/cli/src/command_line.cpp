#include "fieldlog/cli/command_line.hpp"

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <deque>
#include <functional>
#include <map>
#include <sstream>
#include <system_error>
#include <vector>

#include "fieldlog/clock.hpp"

namespace fieldlog::cli {

namespace json = boost::json;

boost::json::object Invocation::request() const { return json::object{{"op", op}, {"args", args}}; }

namespace {

// Thrown by the argument checks below and caught in Parser::parse; it never leaves this file.
struct UsageError {
    std::string message;
};

[[noreturn]] void usage(std::string message) { throw UsageError{std::move(message)}; }

using Choices = std::span<const std::string_view>;

std::string in_quotes(std::string_view text) { return "'" + std::string(text) + "'"; }

// One option or positional kept as text and converted here, so that every mistake is reported
// in the same words and names the option it was found in.
struct TextArg {
    std::string name;  // "--site" or "SITE_ID"
    std::string value;
    CLI::Option* option = nullptr;

    bool given() const { return option->count() > 0; }
};

struct ListArg {
    std::string name;
    std::vector<std::string> values;
};

constexpr std::int64_t ms_per_day = 86'400'000;

constexpr std::string_view time_forms =
    "YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], UTC unless an offset is given";

bool has_control_chars(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

// An identifier or name: something the daemon looks up or files under, never blank.
std::string name_of(const TextArg& arg) {
    if (arg.value.find_first_not_of(" \t") == std::string::npos) {
        usage(arg.name + ": must not be empty");
    }
    if (has_control_chars(arg.value)) {
        usage(arg.name + ": must not contain control characters");
    }
    return arg.value;
}

double number_of(const TextArg& arg) {
    const std::string& text = arg.value;
    double value = 0;
    // from_chars, unlike strtod, ignores the locale: "7.5" means the same everywhere.
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
        !std::isfinite(value)) {
        usage(arg.name + ": " + in_quotes(text) + " is not a number");
    }
    return value;
}

double number_in(const TextArg& arg, double min, double max) {
    double value = number_of(arg);
    if (value < min || value > max) {
        std::ostringstream range;
        range << min << " to " << max;
        usage(arg.name + ": " + in_quotes(arg.value) + " is outside " + range.str());
    }
    return value;
}

std::int64_t integer_in(const TextArg& arg, std::int64_t min, std::int64_t max) {
    const std::string& text = arg.value;
    std::int64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec == std::errc::invalid_argument || end != text.data() + text.size()) {
        usage(arg.name + ": " + in_quotes(text) + " is not a whole number");
    }
    if (ec == std::errc::result_out_of_range || value < min || value > max) {
        usage(arg.name + ": " + in_quotes(text) + " is outside " + std::to_string(min) + " to " +
              std::to_string(max));
    }
    return value;
}

// A date alone stands for a whole day: as a lower bound its first millisecond, as an upper bound
// or a deadline its last, so "--to 2026-11-30" includes the 30th.
enum class DayEdge { start, end };

std::int64_t time_of(const TextArg& arg, DayEdge edge) {
    auto ms = parse_time_ms(arg.value);
    if (!ms) {
        usage(arg.name + ": " + in_quotes(arg.value) + " is not a date or time (use " +
              std::string(time_forms) + ")");
    }
    bool date_only = arg.value.size() == 10;
    return edge == DayEdge::end && date_only ? *ms + ms_per_day - 1 : *ms;
}

// "now" leaves the field out, so that the daemon stamps it with its own clock, the one every
// other record of the device carries.
void put_time_or_now(json::object& args, std::string_view key, const TextArg& arg) {
    if (arg.given() && arg.value != "now") {
        args[key] = time_of(arg, DayEdge::start);
    }
}

std::string join(Choices words, std::string_view separator) {
    std::string out;
    for (auto word : words) {
        if (!out.empty()) out += separator;
        out += word;
    }
    return out;
}

std::string choice_of(const TextArg& arg, Choices choices) {
    if (std::find(choices.begin(), choices.end(), arg.value) == choices.end()) {
        usage(arg.name + ": " + in_quotes(arg.value) + " is not one of " + join(choices, ", "));
    }
    return arg.value;
}

json::array names_of(const ListArg& list) {
    json::array out;
    for (const auto& value : list.values) {
        out.emplace_back(name_of(TextArg{list.name, value, nullptr}));
    }
    return out;
}

void put_name(json::object& args, std::string_view key, const TextArg& arg) {
    if (arg.given()) args[key] = name_of(arg);
}

// Free text (notes, a verdict, a caption) may be empty: that is how a note is cleared.
void put_text(json::object& args, std::string_view key, const TextArg& arg) {
    if (arg.given()) args[key] = arg.value;
}

constexpr std::array<std::string_view, 6> inspection_kinds{
    "wastewater_discharge", "solid_waste_yard",       "hazardous_waste_store",
    "waste_salt_disposal",  "complaint_verification", "rectification_follow_up"};
constexpr std::array<std::string_view, 3> methods{"field", "online", "lab"};
constexpr std::array<std::string_view, 5> complaint_statuses{
    "received", "forwarded", "investigating", "stage_closed", "closed"};
constexpr std::array<std::string_view, 3> findings{"substantiated", "partly_substantiated",
                                                   "not_substantiated"};
constexpr std::array<std::string_view, 3> rectification_statuses{"open", "verified",
                                                                 "failed_verification"};
constexpr std::array<std::string_view, 2> outcomes{"verified", "failed_verification"};
constexpr std::array<std::string_view, 3> log_levels{"info", "warning", "error"};
constexpr std::array<std::string_view, 2> export_formats{"json", "csv"};

constexpr std::int64_t max_count = 1'000'000'000;
constexpr std::int64_t max_limit = 1'000'000;

std::string described(std::string_view what, Choices choices) {
    return std::string(what) + ": " + join(choices, ", ");
}

using Build = std::function<json::object(Invocation&)>;

class Parser {
public:
    explicit Parser(const std::optional<std::string>& socket_from_env);

    std::variant<Invocation, ParseStop> parse(std::span<const std::string> args);

private:
    CLI::App* group(std::string name, std::string description) {
        CLI::App* sub = app_.add_subcommand(std::move(name), std::move(description));
        sub->require_subcommand(1);
        return sub;
    }

    CLI::App* command(CLI::App* parent, std::string name, std::string description, std::string op,
                      Build build) {
        CLI::App* sub = parent->add_subcommand(std::move(name), std::move(description));
        commands_[sub] = {std::move(op), std::move(build)};
        return sub;
    }

    TextArg& positional(CLI::App* cmd, std::string name, std::string description) {
        TextArg& arg = texts_.emplace_back();
        arg.name = name;
        arg.option =
            cmd->add_option(name, arg.value, std::move(description))->type_name("")->required();
        return arg;
    }

    TextArg& option(CLI::App* cmd, std::string name, std::string type, std::string description,
                    bool required = false) {
        TextArg& arg = texts_.emplace_back();
        arg.name = name;
        arg.option = cmd->add_option(name, arg.value, std::move(description))
                         ->type_name(std::move(type))
                         ->required(required);
        return arg;
    }

    ListArg& repeated(CLI::App* cmd, std::string name, std::string type, std::string description,
                      bool required = false) {
        ListArg& list = lists_.emplace_back();
        list.name = name;
        // One value per occurrence, so that "--tag a FILE" leaves FILE to the positional.
        cmd->add_option(name, list.values, std::move(description))
            ->type_name(std::move(type))
            ->allow_extra_args(false)
            ->required(required);
        return list;
    }

    void add_status();
    void add_site();
    void add_inspection();
    void add_measure();
    void add_photo();
    void add_mark();
    void add_complaint();
    void add_document();
    void add_rectification();
    void add_verify_export_logs();
    void add_sync();

    CLI::App app_;
    std::deque<TextArg> texts_;  // a deque, as CLI11 keeps pointers to the values
    std::deque<ListArg> lists_;
    std::map<const CLI::App*, std::pair<std::string, Build>> commands_;
    std::string default_socket_;
    TextArg* socket_ = nullptr;
    TextArg* timeout_ = nullptr;
    bool json_ = false;
};

Parser::Parser(const std::optional<std::string>& socket_from_env)
    : app_("Field-inspection logger: the inspector's command line to fieldlogd.", "fieldlog"),
      default_socket_(socket_from_env && !socket_from_env->empty()
                          ? *socket_from_env
                          : std::string(default_socket_path)) {
    // Global options may follow the command too: "fieldlog site list --json".
    app_.fallthrough();
    app_.require_subcommand(1);
    app_.set_version_flag("--version", std::string("fieldlog ") + FIELDLOG_VERSION);
    socket_ = &option(&app_, "--socket", "PATH",
                      "fieldlogd's control socket (default: $FIELDLOG_SOCKET, else " +
                          std::string(default_socket_path) + ")");
    app_.add_flag("--json", json_, "Print the daemon's result as one JSON document");
    timeout_ = &option(&app_, "--timeout", "SECONDS",
                       "Fail when connecting or the reply takes longer (default 30)");

    add_status();
    add_site();
    add_inspection();
    add_measure();
    add_photo();
    add_mark();
    add_complaint();
    add_document();
    add_rectification();
    add_verify_export_logs();
    add_sync();

    // Set last so that only `fieldlog --help` carries it: subcommands copy it when created.
    app_.footer("Times: " + std::string(time_forms) + "; a date alone means the whole day.\n\n" +
                std::string(exit_code_help()));
}

void Parser::add_status() {
    command(&app_, "status", "Show the device, its store and the upload outbox", "status",
            [](Invocation&) { return json::object(); });
}

void Parser::add_site() {
    CLI::App* site = group("site", "Sites in the device's site register");
    command(site, "list", "List the sites", "site.list",
            [](Invocation&) { return json::object(); });
    CLI::App* show = command(site, "show", "Show a site and the discharge limits that apply",
                             "site.show", nullptr);
    TextArg& id = positional(show, "SITE_ID", "Site identifier");
    commands_[show].second = [&id](Invocation&) { return json::object{{"site_id", name_of(id)}}; };
}

void Parser::add_inspection() {
    CLI::App* inspection = group("inspection", "Start, close and review inspections");

    CLI::App* start =
        command(inspection, "start", "Open an inspection at a site", "inspection.start", nullptr);
    TextArg& site = option(start, "--site", "ID", "Site identifier", true);
    TextArg& kind = option(start, "--kind", "KIND", described("Kind", inspection_kinds), true);
    ListArg& inspectors =
        repeated(start, "--inspector", "NAME", "Inspector present (repeat for each)", true);
    TextArg& notes = option(start, "--notes", "TEXT", "Notes");
    TextArg& lat = option(start, "--lat", "DEGREES", "Latitude, when entered by hand");
    TextArg& lon = option(start, "--lon", "DEGREES", "Longitude, with --lat");
    commands_[start].second = [&](Invocation&) {
        json::object args{{"site_id", name_of(site)},
                          {"kind", choice_of(kind, inspection_kinds)},
                          {"inspectors", names_of(inspectors)}};
        put_text(args, "notes", notes);
        if (lat.given() != lon.given()) {
            usage(std::string(lat.given() ? "--lat" : "--lon") + ": give --lat and --lon together");
        }
        if (lat.given()) {
            args["lat"] = number_in(lat, -90, 90);
            args["lon"] = number_in(lon, -180, 180);
        }
        return args;
    };

    CLI::App* close =
        command(inspection, "close", "Close an inspection", "inspection.close", nullptr);
    TextArg& close_id = option(close, "--id", "ID", "Inspection (default: the open one)");
    TextArg& verdict = option(close, "--verdict", "TEXT", "Overall verdict");
    TextArg& close_notes = option(close, "--notes", "TEXT", "Notes");
    commands_[close].second = [&](Invocation&) {
        json::object args;
        put_name(args, "inspection_id", close_id);
        put_text(args, "verdict", verdict);
        put_text(args, "notes", close_notes);
        return args;
    };

    CLI::App* list =
        command(inspection, "list", "List inspections, newest first", "inspection.list", nullptr);
    TextArg& from = option(list, "--from", "TIME", "Started at or after");
    TextArg& to = option(list, "--to", "TIME", "Started at or before");
    TextArg& list_site = option(list, "--site", "ID", "Only this site");
    TextArg& limit = option(list, "--limit", "N", "At most N inspections");
    commands_[list].second = [&](Invocation&) {
        json::object args;
        if (from.given()) args["from_ms"] = time_of(from, DayEdge::start);
        if (to.given()) args["to_ms"] = time_of(to, DayEdge::end);
        if (from.given() && to.given() && args["from_ms"].as_int64() > args["to_ms"].as_int64()) {
            usage("--from: " + in_quotes(from.value) + " is after --to " + in_quotes(to.value));
        }
        put_name(args, "site_id", list_site);
        if (limit.given()) args["limit"] = integer_in(limit, 1, max_limit);
        return args;
    };

    CLI::App* show =
        command(inspection, "show",
                "Show an inspection with its readings, photos, marks and rectifications",
                "inspection.show", nullptr);
    TextArg& id = positional(show, "ID", "Inspection identifier");
    commands_[show].second = [&id](Invocation&) {
        return json::object{{"inspection_id", name_of(id)}};
    };
}

void Parser::add_measure() {
    CLI::App* measure = group("measure", "Record and review discharge measurements");

    CLI::App* add =
        command(measure, "add", "Record a reading; the daemon judges it against the site's limits",
                "measurement.add", nullptr);
    TextArg& parameter = positional(add, "PARAMETER", "Parameter, e.g. COD, NH3-N, pH");
    TextArg& value = positional(add, "VALUE", "Value as read");
    TextArg& unit = positional(add, "UNIT", "Unit as read, e.g. mg/L");
    TextArg& point = option(add, "--point", "NAME", "Sampling point");
    TextArg& method =
        option(add, "--method", "METHOD", described("Method (default field)", methods));
    TextArg& lab_sample = option(add, "--lab-sample", "ID", "Laboratory sample identifier");
    TextArg& water_temp = option(add, "--water-temp", "CELSIUS", "Water temperature");
    TextArg& inspection = option(add, "--inspection", "ID", "Inspection (default: the open one)");
    commands_[add].second = [&](Invocation&) {
        json::object args{{"parameter", name_of(parameter)},
                          {"value", number_of(value)},
                          {"unit", name_of(unit)}};
        put_name(args, "inspection_id", inspection);
        put_name(args, "sampling_point", point);
        if (method.given()) args["method"] = choice_of(method, methods);
        put_name(args, "lab_sample_id", lab_sample);
        if (water_temp.given()) args["water_temp_c"] = number_of(water_temp);
        return args;
    };

    CLI::App* list =
        command(measure, "list", "List readings with verdicts and the field vs online comparison",
                "measurement.list", nullptr);
    TextArg& list_inspection =
        option(list, "--inspection", "ID", "Inspection (default: the open one)");
    commands_[list].second = [&](Invocation&) {
        json::object args;
        put_name(args, "inspection_id", list_inspection);
        return args;
    };
}

void Parser::add_photo() {
    CLI::App* photo = group("photo", "Attach and list photos");

    CLI::App* add = command(photo, "add", "Attach a photo file; the daemon reads and stores it",
                            "photo.add", nullptr);
    TextArg& file = positional(add, "FILE", "Image file");
    ListArg& tags = repeated(add, "--tag", "TAG", "Tag (repeat for several)");
    TextArg& caption = option(add, "--caption", "TEXT", "Caption");
    TextArg& inspection = option(add, "--inspection", "ID", "Inspection (default: the open one)");
    commands_[add].second = [&](Invocation&) {
        // The daemon runs elsewhere in the file system's view (its own working directory), so
        // it gets an absolute path, and a typo is caught here rather than there.
        std::error_code ec;
        auto path = std::filesystem::canonical(name_of(file), ec);
        if (ec) usage(file.name + ": " + in_quotes(file.value) + ": " + ec.message());
        if (!std::filesystem::is_regular_file(path, ec)) {
            usage(file.name + ": " + in_quotes(file.value) + " is not a regular file");
        }
        json::object args{{"path", path.string()}};
        put_name(args, "inspection_id", inspection);
        if (!tags.values.empty()) args["tags"] = names_of(tags);
        put_text(args, "caption", caption);
        return args;
    };

    CLI::App* list = command(photo, "list", "List photos", "photo.list", nullptr);
    TextArg& list_inspection =
        option(list, "--inspection", "ID", "Inspection (default: the open one)");
    commands_[list].second = [&](Invocation&) {
        json::object args;
        put_name(args, "inspection_id", list_inspection);
        return args;
    };
}

void Parser::add_mark() {
    CLI::App* mark = command(&app_, "mark",
                             "Mark this spot in the open inspection: the time and, with a GNSS "
                             "fix, the position (as holding the device's button does)",
                             "mark.add", nullptr);
    TextArg& label = option(mark, "--label", "TEXT", "What is here");
    CLI::App* list = command(mark, "list", "List the marks of an inspection", "mark.list", nullptr);
    TextArg& inspection = option(list, "--inspection", "ID", "Inspection (default: the open one)");
    commands_[mark].second = [&](Invocation&) {
        json::object args{{"source", "cli"}};
        put_text(args, "label", label);
        return args;
    };
    commands_[list].second = [&](Invocation&) {
        // Global options fall through to parents, so "mark list --label" would reach `mark`.
        if (label.given()) usage("--label: sets a new mark's label; 'mark list' takes none");
        json::object args;
        put_name(args, "inspection_id", inspection);
        return args;
    };
}

void Parser::add_complaint() {
    CLI::App* complaint = group("complaint", "Track complaint cases");

    CLI::App* add =
        command(complaint, "add", "Register a complaint case", "complaint.add", nullptr);
    TextArg& add_case = positional(add, "CASE", "Case number");
    TextArg& batch =
        option(add, "--batch", "N", "Batch the case arrived in (default: the office's assignment)");
    TextArg& summary = option(add, "--summary", "TEXT", "What the complaint is about");
    TextArg& received = option(add, "--received", "TIME", "When it was received (default now)");
    TextArg& unit = option(add, "--unit", "NAME", "Responsible unit");
    commands_[add].second = [&](Invocation&) {
        json::object args{{"case_number", name_of(add_case)}};
        if (batch.given()) args["batch_number"] = integer_in(batch, 1, max_count);
        put_text(args, "summary", summary);
        put_time_or_now(args, "received_ms", received);
        put_name(args, "responsible_unit", unit);
        return args;
    };

    CLI::App* forward = command(complaint, "forward", "Record that a case was forwarded",
                                "complaint.forward", nullptr);
    TextArg& forward_case = positional(forward, "CASE", "Case number");
    TextArg& forward_unit = option(forward, "--unit", "NAME", "Unit it went to", true);
    TextArg& at = option(forward, "--at", "TIME", "When it was forwarded (default now)");
    commands_[forward].second = [&](Invocation&) {
        json::object args{{"case_number", name_of(forward_case)},
                          {"responsible_unit", name_of(forward_unit)}};
        put_time_or_now(args, "forwarded_ms", at);
        return args;
    };

    CLI::App* update =
        command(complaint, "update", "Change a case's status or finding, link an inspection",
                "complaint.update", nullptr);
    TextArg& update_case = positional(update, "CASE", "Case number");
    TextArg& status = option(update, "--status", "STATUS", described("Status", complaint_statuses));
    TextArg& finding = option(update, "--finding", "FINDING", described("Finding", findings));
    TextArg& inspection = option(update, "--inspection", "ID", "Inspection to link");
    TextArg& notes = option(update, "--notes", "TEXT", "Notes");
    commands_[update].second = [&](Invocation&) {
        if (!status.given() && !finding.given() && !inspection.given() && !notes.given()) {
            usage("nothing to update: give --status, --finding, --inspection or --notes");
        }
        json::object args{{"case_number", name_of(update_case)}};
        if (status.given()) args["status"] = choice_of(status, complaint_statuses);
        if (finding.given()) args["finding"] = choice_of(finding, findings);
        put_name(args, "inspection_id", inspection);
        put_text(args, "notes", notes);
        return args;
    };

    CLI::App* list = command(complaint, "list", "List complaint cases", "complaint.list", nullptr);
    TextArg& list_batch = option(list, "--batch", "N", "Only this batch");
    TextArg& list_status =
        option(list, "--status", "STATUS", described("Only this status", complaint_statuses));
    commands_[list].second = [&](Invocation&) {
        json::object args;
        if (list_batch.given()) args["batch_number"] = integer_in(list_batch, 1, max_count);
        if (list_status.given()) args["status"] = choice_of(list_status, complaint_statuses);
        return args;
    };

    command(complaint, "summary", "Count cases by status and finding", "complaint.summary",
            [](Invocation&) { return json::object(); });
}

void Parser::add_document() {
    CLI::App* document = group("document", "Record document batches handed over");

    CLI::App* add = command(document, "add", "Record a batch of documents handed over",
                            "document.add", nullptr);
    TextArg& batch = positional(add, "BATCH", "Batch number");
    TextArg& items = option(add, "--items", "N", "Number of items", true);
    TextArg& documents = option(add, "--documents", "N", "Number of documents", true);
    ListArg& topics = repeated(add, "--topic", "TOPIC", "Topic (repeat for several)");
    TextArg& at = option(add, "--at", "TIME", "When it was handed over (default now)");
    TextArg& notes = option(add, "--notes", "TEXT", "Notes");
    commands_[add].second = [&](Invocation&) {
        json::object args{{"batch_number", integer_in(batch, 1, max_count)},
                          {"items", integer_in(items, 0, max_count)},
                          {"documents", integer_in(documents, 0, max_count)}};
        if (!topics.values.empty()) args["topics"] = names_of(topics);
        put_time_or_now(args, "handed_over_ms", at);
        put_text(args, "notes", notes);
        return args;
    };

    command(document, "list", "List document batches", "document.list",
            [](Invocation&) { return json::object(); });
    command(document, "summary", "Total batches, items and documents", "document.summary",
            [](Invocation&) { return json::object(); });
}

void Parser::add_rectification() {
    CLI::App* rectification = group("rectification", "Track ordered rectifications");

    CLI::App* add =
        command(rectification, "add", "Order a rectification", "rectification.add", nullptr);
    TextArg& problem = option(add, "--problem", "TEXT", "The problem to put right", true);
    TextArg& responsible = option(add, "--responsible", "NAME", "Who must put it right", true);
    TextArg& deadline = option(add, "--deadline", "DATE",
                               "Deadline (a date alone means the end of that day)", true);
    TextArg& inspection =
        option(add, "--inspection", "ID", "Inspection that found it (default: the open one)");
    TextArg& notes = option(add, "--notes", "TEXT", "Notes");
    commands_[add].second = [&](Invocation&) {
        json::object args{{"problem", name_of(problem)},
                          {"responsible_party", name_of(responsible)},
                          {"deadline_ms", time_of(deadline, DayEdge::end)}};
        put_name(args, "inspection_id", inspection);
        put_text(args, "notes", notes);
        return args;
    };

    CLI::App* verify = command(rectification, "verify", "Record the follow-up check",
                               "rectification.verify", nullptr);
    TextArg& id = positional(verify, "ID", "Rectification identifier");
    TextArg& outcome = option(verify, "--outcome", "OUTCOME", described("Outcome", outcomes), true);
    TextArg& verify_inspection =
        option(verify, "--inspection", "ID", "Follow-up inspection (default: the open one)");
    TextArg& verify_notes = option(verify, "--notes", "TEXT", "Notes");
    commands_[verify].second = [&](Invocation&) {
        json::object args{{"rectification_id", name_of(id)},
                          {"outcome", choice_of(outcome, outcomes)}};
        put_name(args, "inspection_id", verify_inspection);
        put_text(args, "notes", verify_notes);
        return args;
    };

    CLI::App* list =
        command(rectification, "list", "List rectifications", "rectification.list", nullptr);
    CLI::Option* overdue =
        list->add_flag("--overdue")->description("Only those past their deadline");
    TextArg& status =
        option(list, "--status", "STATUS", described("Only this status", rectification_statuses));
    commands_[list].second = [&, overdue](Invocation&) {
        json::object args;
        if (overdue->count() > 0) args["overdue"] = true;
        if (status.given()) args["status"] = choice_of(status, rectification_statuses);
        return args;
    };
}

void Parser::add_verify_export_logs() {
    command(&app_, "verify", "Check the evidence chain (exit code 6 when it finds problems)",
            "verify", [](Invocation&) { return json::object(); });

    CLI::App* exp = command(&app_, "export", "Export the records of a period", "export", nullptr);
    TextArg& from = option(exp, "--from", "TIME", "Start of the period", true);
    TextArg& to = option(exp, "--to", "TIME", "End of the period", true);
    TextArg& format = option(exp, "--format", "FORMAT", "json (default) or csv");
    TextArg& output =
        option(exp, "--output", "FILE", "Write to FILE (replaced atomically) instead of stdout");
    commands_[exp].second = [&](Invocation& invocation) {
        json::object args{{"from_ms", time_of(from, DayEdge::start)},
                          {"to_ms", time_of(to, DayEdge::end)}};
        if (args["from_ms"].as_int64() > args["to_ms"].as_int64()) {
            usage("--from: " + in_quotes(from.value) + " is after --to " + in_quotes(to.value));
        }
        if (format.given()) {
            invocation.export_format =
                choice_of(format, export_formats) == "csv" ? ExportFormat::csv : ExportFormat::json;
        }
        if (invocation.json_output && invocation.export_format == ExportFormat::csv) {
            usage("--json: conflicts with --format csv");
        }
        if (output.given()) {
            std::filesystem::path path = name_of(output);
            std::error_code ec;
            if (std::filesystem::is_directory(path, ec)) {
                usage(output.name + ": " + in_quotes(output.value) + " is a directory");
            }
            auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
            if (!std::filesystem::is_directory(dir, ec)) {
                usage(output.name + ": directory " + in_quotes(dir.string()) + " does not exist");
            }
            invocation.output_path = path;
        }
        return args;
    };

    CLI::App* logs = command(&app_, "logs", "Show the device log, newest first", "logs", nullptr);
    TextArg& limit = option(logs, "--limit", "N", "At most N entries (default 100)");
    TextArg& level = option(logs, "--level", "LEVEL", described("Only this level", log_levels));
    commands_[logs].second = [&](Invocation&) {
        json::object args;
        if (limit.given()) args["limit"] = integer_in(limit, 1, max_limit);
        if (level.given()) args["level"] = choice_of(level, log_levels);
        return args;
    };
}

void Parser::add_sync() {
    CLI::App* sync = command(&app_, "sync",
                             "Upload the outbox to the office server now (--wait: until it is "
                             "empty, with progress on a terminal)",
                             "sync", nullptr);
    CLI::Option* wait =
        sync->add_flag("--wait")->description("Return once the outbox is drained or sync fails");
    commands_[sync].second = [this, wait](Invocation& invocation) {
        json::object args;
        if (wait->count() > 0) {
            args["wait"] = true;
            // A drain of a long offline stretch outlasts the usual 30 s.
            if (!timeout_->given()) invocation.timeout = sync_wait_timeout;
        }
        return args;
    };
}

std::string help_hint(const CLI::App* selected) {
    std::string path;
    for (const CLI::App* app = selected; app != nullptr; app = app->get_parent()) {
        path = app->get_name() + (path.empty() ? "" : " " + path);
    }
    return "Run '" + path + " --help' for usage.\n";
}

std::variant<Invocation, ParseStop> Parser::parse(std::span<const std::string> args) {
    std::vector<const char*> argv{"fieldlog"};
    for (const auto& arg : args) argv.push_back(arg.c_str());

    const CLI::App* selected = &app_;
    auto stop = [&](std::string message) {
        return ParseStop{
            ExitCode::usage, {}, "fieldlog: usage: " + message + "\n" + help_hint(selected)};
    };
    try {
        app_.parse(static_cast<int>(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            std::ostringstream out, err;
            app_.exit(e, out, err);
            return ParseStop{ExitCode::ok, out.str(), err.str()};
        }
        for (auto subs = app_.get_subcommands(); !subs.empty();
             subs = subs.front()->get_subcommands()) {
            selected = subs.front();
        }
        // CLI11 reports a mistyped command as a missing one; name what was typed instead.
        // Fallthrough leaves the stray word with whichever ancestor took it.
        if (!commands_.contains(selected)) {
            for (const CLI::App* app = selected; app != nullptr; app = app->get_parent()) {
                if (!app->remaining().empty()) {
                    return stop("unknown command " + in_quotes(app->remaining().front()));
                }
            }
        }
        return stop(e.what());
    }
    for (auto subs = app_.get_subcommands(); !subs.empty();
         subs = subs.front()->get_subcommands()) {
        selected = subs.front();
    }
    auto command = commands_.find(selected);
    if (command == commands_.end()) {
        return stop("no command given");
    }

    Invocation invocation;
    invocation.op = command->second.first;
    invocation.json_output = json_;
    try {
        invocation.socket_path = socket_->given() ? name_of(*socket_) : default_socket_;
        if (timeout_->given()) {
            double seconds = number_in(*timeout_, 0.001, 86'400);
            invocation.timeout = std::chrono::milliseconds(std::llround(seconds * 1000));
        }
        invocation.args = command->second.second(invocation);
    } catch (const UsageError& e) {
        return stop(e.message);
    }
    return invocation;
}

}  // namespace

std::variant<Invocation, ParseStop> parse_command_line(
    std::span<const std::string> args, const std::optional<std::string>& socket_from_env) {
    Parser parser(socket_from_env);
    return parser.parse(args);
}

}  // namespace fieldlog::cli
