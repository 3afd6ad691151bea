// Shared pieces of the benchmarks: a temp directory that is removed afterwards, a description
// of the disk it lives on, the plain sqlite3 baseline loop, and small formatting helpers.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>

struct sqlite3;
struct sqlite3_stmt;

namespace fieldlog::bench {

// A fresh directory under FIELDLOG_BENCH_DIR (default /var/tmp), removed with everything in it
// when this object goes away.
class TempDir {
public:
    explicit TempDir(std::string_view prefix);
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    std::filesystem::path operator/(const std::filesystem::path& name) const {
        return path_ / name;
    }

private:
    std::filesystem::path path_;
};

// The root temp directories are made under.
std::filesystem::path bench_root();

// "ext4 on /dev/vda (mounted at /)", from /proc/self/mountinfo.
std::string describe_filesystem(const std::filesystem::path& path);

// Machine facts printed at the top of every benchmark: cores, kernel, SQLite version.
std::string describe_machine();

// The baseline: a plain sqlite3 connection with the store's PRAGMAs (journal_mode=WAL,
// synchronous=FULL, foreign_keys=ON), inserting rows shaped like the store's test record
// (id, body, last_seq) with one prepared statement, BEGIN IMMEDIATE ... COMMIT around each
// group of rows. With same_rows_as_store, each record also gets the two other rows the store
// writes for it, in tables shaped like the store's: an evidence_chain row (constant hashes,
// nothing computed) and an outbox row holding the record's JSON.
class PlainSqlite {
public:
    explicit PlainSqlite(const std::filesystem::path& db_path, bool same_rows_as_store = false);
    ~PlainSqlite();
    PlainSqlite(const PlainSqlite&) = delete;
    PlainSqlite& operator=(const PlainSqlite&) = delete;

    // One durable transaction holding rows inserts.
    void commit_rows(int rows);
    // journal_mode as SQLite reports it after the PRAGMA ("wal").
    const std::string& journal_mode() const { return journal_mode_; }

private:
    void exec(const char* sql);
    sqlite3* db_ = nullptr;
    sqlite3_stmt* insert_ = nullptr;
    sqlite3_stmt* chain_ = nullptr;
    sqlite3_stmt* outbox_ = nullptr;
    std::int64_t next_id_ = 0;
    std::string journal_mode_;
};

struct Rate {
    std::int64_t rows = 0;
    std::int64_t commits = 0;
    double seconds = 0;
    double rows_per_second() const { return seconds > 0 ? static_cast<double>(rows) / seconds : 0; }
};

// Runs the plain loop, rows_per_commit rows a transaction, for about duration, in a fresh
// database file under dir.
Rate run_plain_loop(const std::filesystem::path& dir, int rows_per_commit,
                    std::chrono::duration<double> duration);

// How many 4 KiB write + fdatasync pairs a second a file in dir takes, for about duration:
// the disk's own limit on durable commits, printed beside the results.
double fdatasync_rate(const std::filesystem::path& dir, std::chrono::duration<double> duration);

// The body every benchmark record carries: about the size of a short field note.
std::string record_body(std::int64_t n);

std::string fixed(double value, int decimals);
// "PASS" or "MISS" against a minimum ratio.
std::string verdict(double ratio, double target);

}  // namespace fieldlog::bench
