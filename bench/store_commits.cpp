// bench_store_commits: durable commits per second through fieldlog's Store against a plain
// sqlite3 loop on the same disk with the same PRAGMAs, one record per commit and 1,000 records
// per commit. Rounds interleave baseline and store so that drift in the disk's speed hits both.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <future>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>

#include "bench_support.hpp"
#include "fieldlog/store/store.hpp"

namespace {

namespace json = boost::json;
namespace bench = fieldlog::bench;
using fieldlog::Errc;
using fieldlog::Error;
using fieldlog::Result;
using fieldlog::store::Database;
using fieldlog::store::RecordKind;
using fieldlog::store::Store;
using fieldlog::store::StoreOptions;
using fieldlog::store::WriteContext;

constexpr int rounds = 3;
constexpr int batch_rows = 1000;
// Seconds each run lasts at least: single commits are noisier than batches.
constexpr double single_min_time = 1.0;
constexpr double batch_min_time = 0.5;

// The store test suite's minimal record kind (tests/store/store_test.cpp): a note with an id
// and a body. The job hands the store the record it wrote, as the domain's writes do, so the
// loader runs only in verify.
const RecordKind& note_kind() {
    static const RecordKind kind = [] {
        RecordKind k;
        k.name = "note";
        k.list_sql = "SELECT id, last_seq FROM notes";
        k.load = [](Database& db, std::string_view id) -> Result<std::optional<json::object>> {
            auto stmt = db.prepare("SELECT id, body FROM notes WHERE id = ?1");
            if (!stmt) return stmt.error();
            (*stmt)->bind(1, id);
            auto row = (*stmt)->step();
            if (!row) return row.error();
            if (!*row) return std::optional<json::object>();
            json::object out{{"id", (*stmt)->text(0)}, {"body", (*stmt)->text(1)}};
            (*stmt)->reset();
            return std::optional(std::move(out));
        };
        return k;
    }();
    return kind;
}

Store::WriteJob put_note(std::int64_t n) {
    return [n](WriteContext& ctx) -> Result<json::value> {
        auto stmt = ctx.db().prepare("INSERT INTO notes (id, body, last_seq) VALUES (?1, ?2, ?3)");
        if (!stmt) return stmt.error();
        std::string id = "note-" + std::to_string(n);
        std::string body = bench::record_body(n);
        (*stmt)->bind(1, id).bind(2, body).bind(3, ctx.next_seq());
        if (auto done = (*stmt)->run(); !done) return done.error();
        auto seq =
            ctx.append(note_kind(), id, json::object{{"id", id}, {"body", body}}, std::nullopt);
        if (!seq) return seq.error();
        return json::value(*seq);
    };
}

// A store in a fresh temp directory, with the notes table, counting its commits: the store
// reads the wall clock once per group commit.
struct OpenStore {
    bench::TempDir dir{"fieldlog-bench-store"};
    std::shared_ptr<std::atomic<std::int64_t>> commits =
        std::make_shared<std::atomic<std::int64_t>>(0);
    std::unique_ptr<Store> store;

    explicit OpenStore(std::size_t max_batch) {
        StoreOptions options;
        options.data_dir = dir / "data";
        options.device_id = "bench-1";
        options.synchronous_full = true;
        if (max_batch > 0) options.max_batch = max_batch;
        options.wall_clock_ms = [counter = commits] {
            counter->fetch_add(1);
            return std::int64_t{1'764'000'000'000};
        };
        auto opened = Store::open(options, {note_kind()});
        if (!opened) throw std::runtime_error(opened.error().to_string());
        store = std::move(*opened);
        auto created = store->write([](WriteContext& ctx) -> Result<json::value> {
            auto done = ctx.db().exec(
                "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, last_seq INTEGER NOT "
                "NULL)");
            if (!done) return done.error();
            return json::value();
        });
        if (!created) throw std::runtime_error(created.error().to_string());
        commits->store(0);
    }
};

void finish(benchmark::State& state, std::int64_t rows, std::int64_t commits) {
    state.SetItemsProcessed(rows);
    state.counters["rows"] = static_cast<double>(rows);
    state.counters["rows_per_commit"] =
        commits > 0 ? static_cast<double>(rows) / static_cast<double>(commits) : 0;
}

void plain_loop(benchmark::State& state, int rows_per_commit, bool same_rows_as_store = false) {
    bench::TempDir dir("fieldlog-bench-plain");
    bench::PlainSqlite plain(dir / "plain.db", same_rows_as_store);
    if (plain.journal_mode() != "wal") {
        state.SkipWithError("journal_mode is not WAL");
        return;
    }
    std::int64_t commits = 0;
    for (auto _ : state) {
        plain.commit_rows(rows_per_commit);
        ++commits;
    }
    finish(state, commits * rows_per_commit, commits);
}

void store_single(benchmark::State& state) {
    OpenStore open(0);
    std::int64_t n = 0;
    for (auto _ : state) {
        auto written = open.store->write(put_note(++n));
        if (!written) {
            state.SkipWithError(written.error().to_string().c_str());
            break;
        }
    }
    finish(state, n, open.commits->load());
}

// Queues batch_rows writes and waits until the last is acknowledged. With gate set, a read job
// holds the writer thread until all of them are queued, so one commit takes them all (the
// batch limit is raised to batch_rows); without it the writer starts on the first write at
// once and takes what has queued up meanwhile, up to the default limit (512).
void store_batched(benchmark::State& state, bool gate) {
    OpenStore open(gate ? std::size_t{batch_rows} : 0);
    std::int64_t n = 0;
    std::atomic<bool> failed{false};
    for (auto _ : state) {
        std::promise<void> held;
        std::promise<void> release;
        std::shared_future<void> released = release.get_future().share();
        if (gate) {
            open.store->submit_read(
                [&held, released](Database&) -> Result<json::value> {
                    held.set_value();
                    released.wait();
                    return json::value();
                },
                [](Result<json::value>) {});
            held.get_future().wait();
        }
        // Shared with the callbacks: the last one may still be inside set_value() when this
        // thread wakes up and moves on.
        auto all_done = std::make_shared<std::promise<void>>();
        auto finished = all_done->get_future();
        auto remaining = std::make_shared<std::atomic<int>>(batch_rows);
        for (int i = 0; i < batch_rows; ++i) {
            open.store->submit_write(put_note(++n),
                                     [&failed, remaining, all_done](Result<json::value> r) {
                                         if (!r) failed = true;
                                         if (remaining->fetch_sub(1) == 1) all_done->set_value();
                                     });
        }
        if (gate) release.set_value();
        finished.wait();
        if (failed) {
            state.SkipWithError("a store write failed");
            break;
        }
    }
    finish(state, n, open.commits->load());
}

// Per benchmark (without its round suffix): rows/s and rows per commit of each round.
class RatioReporter : public benchmark::ConsoleReporter {
public:
    // Colours only on a terminal: a reporter passed in does not see --benchmark_color.
    RatioReporter()
        : ConsoleReporter(::isatty(STDOUT_FILENO) != 0 ? OO_ColorTabular : OO_Tabular) {}

    std::map<std::string, std::vector<double>> rates;
    std::map<std::string, std::vector<double>> rows_per_commit;

    void ReportRuns(const std::vector<Run>& runs) override {
        ConsoleReporter::ReportRuns(runs);
        for (const Run& run : runs) {
            if (run.run_type != Run::RT_Iteration || run.error_occurred) continue;
            std::string name = run.run_name.function_name;
            name = name.substr(0, name.find("/round:"));
            auto rows = run.counters.find("rows");
            auto per_commit = run.counters.find("rows_per_commit");
            if (rows == run.counters.end() || per_commit == run.counters.end() ||
                run.real_accumulated_time <= 0) {
                continue;
            }
            // Wall-clock rate: the work happens on the store's thread, not the timed one.
            rates[name].push_back(rows->second.value / run.real_accumulated_time);
            rows_per_commit[name].push_back(per_commit->second.value);
        }
    }
};

double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    bench::TempDir probe("fieldlog-bench-probe");
    const std::string where =
        probe.path().parent_path().string() + " (" + bench::describe_filesystem(probe.path()) + ")";
    benchmark::AddCustomContext("temp dir", where);
    benchmark::AddCustomContext("machine", bench::describe_machine());
    const std::string disk =
        bench::fixed(bench::fdatasync_rate(probe.path(), std::chrono::seconds(1)), 0) +
        " fdatasync/s (4 KiB write + fdatasync, 1 s, before the runs)";
    benchmark::AddCustomContext("disk", disk);
    benchmark::AddCustomContext("pragmas", "journal_mode=WAL, synchronous=FULL (both sides)");
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

    for (int round = 1; round <= rounds; ++round) {
        std::string suffix = "/round:" + std::to_string(round);
        benchmark::RegisterBenchmark(("single/plain" + suffix).c_str(),
                                     [](benchmark::State& s) { plain_loop(s, 1); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond)
            ->MinTime(single_min_time);
        benchmark::RegisterBenchmark(("single/store" + suffix).c_str(), store_single)
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond)
            ->MinTime(single_min_time);
    }
    for (int round = 1; round <= rounds; ++round) {
        std::string suffix = "/round:" + std::to_string(round);
        benchmark::RegisterBenchmark(("batch1000/plain" + suffix).c_str(),
                                     [](benchmark::State& s) { plain_loop(s, batch_rows); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(batch_min_time);
        benchmark::RegisterBenchmark(("batch1000/store" + suffix).c_str(),
                                     [](benchmark::State& s) { store_batched(s, true); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(batch_min_time);
        benchmark::RegisterBenchmark(("queued1000/store" + suffix).c_str(),
                                     [](benchmark::State& s) { store_batched(s, false); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(batch_min_time);
        benchmark::RegisterBenchmark(("batch1000/plain_same_rows" + suffix).c_str(),
                                     [](benchmark::State& s) { plain_loop(s, batch_rows, true); })
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond)
            ->MinTime(batch_min_time);
    }

    RatioReporter reporter;
    try {
        benchmark::RunSpecifiedBenchmarks(&reporter);
    } catch (const std::exception& e) {
        std::cerr << "bench_store_commits: " << e.what() << "\n";
        return 1;
    }
    benchmark::Shutdown();

    auto rate = [&](const std::string& name) { return median(reporter.rates[name]); };
    auto per_commit = [&](const std::string& name) {
        return median(reporter.rows_per_commit[name]);
    };
    std::printf("\nbench_store_commits: median of %d interleaved rounds, temp dir %s\n", rounds,
                where.c_str());
    std::printf("disk: %s\n", disk.c_str());
    std::printf("%-44s %12s %12s %8s %8s  %s\n", "case", "plain rows/s", "store rows/s", "ratio",
                "target", "verdict");
    struct Line {
        const char* label;
        std::string plain;
        std::string store;
        double target;
    };
    const Line lines[] = {
        {"1 record per commit, wait for each ack", "single/plain", "single/store", 0.8},
        {"1,000 records per commit (queued at once)", "batch1000/plain", "batch1000/store", 0.9},
        {"1,000 queued, default max_batch 512 (ref.)", "batch1000/plain", "queued1000/store", 0.0},
        {"1,000 per commit vs plain writing the store's", "batch1000/plain_same_rows",
         "batch1000/store", 0.0},
        {"  3 rows per record (note+chain+outbox; ref.)", "", "", 0.0},
    };
    for (const Line& line : lines) {
        if (line.plain.empty()) {
            std::printf("%s\n", line.label);
            continue;
        }
        double plain = rate(line.plain);
        double store = rate(line.store);
        if (plain <= 0 || store <= 0) continue;
        double ratio = store / plain;
        std::printf("%-44s %12.0f %12.0f %7.2fx %7s  %s (store: %.0f rows/commit)\n", line.label,
                    plain, store, ratio,
                    line.target > 0 ? (">=" + bench::fixed(line.target, 1) + "x").c_str() : "-",
                    line.target > 0 ? bench::verdict(ratio, line.target).c_str() : "reference",
                    per_commit(line.store));
    }
    return 0;
}
