#include "bench_support.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace fieldlog::bench {

namespace fs = std::filesystem;

fs::path bench_root() {
    const char* env = std::getenv("FIELDLOG_BENCH_DIR");
    return env != nullptr && *env != '\0' ? fs::path(env) : fs::path("/var/tmp");
}

TempDir::TempDir(std::string_view prefix) {
    std::string pattern = (bench_root() / (std::string(prefix) + "-XXXXXX")).string();
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    if (::mkdtemp(buffer.data()) == nullptr) {
        throw std::runtime_error("cannot create a temp directory like " + pattern);
    }
    path_ = buffer.data();
}

TempDir::~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

std::string describe_filesystem(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        return "unknown filesystem";
    }
    std::string wanted = std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev));
    std::error_code ec;
    std::string canonical = fs::canonical(path, ec).string();
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::string line;
    std::string best_type = "unknown";
    std::string best_source;
    std::string best_mount;
    while (std::getline(mountinfo, line)) {
        std::istringstream in(line);
        std::vector<std::string> fields;
        for (std::string f; in >> f;) {
            fields.push_back(f);
        }
        if (fields.size() < 7 || fields[2] != wanted) {
            continue;
        }
        std::size_t dash = 6;
        while (dash < fields.size() && fields[dash] != "-") {
            ++dash;
        }
        if (dash + 2 >= fields.size()) {
            continue;
        }
        const std::string& mount = fields[4];
        bool covers = canonical.compare(0, mount.size(), mount) == 0;
        if (covers && mount.size() >= best_mount.size()) {
            best_mount = mount;
            best_type = fields[dash + 1];
            best_source = fields[dash + 2];
        }
    }
    return best_type + " on " + best_source + " (mounted at " + best_mount + ")";
}

std::string describe_machine() {
    std::string cpu = "unknown CPU";
    std::ifstream cpuinfo("/proc/cpuinfo");
    for (std::string line; std::getline(cpuinfo, line);) {
        if (line.rfind("model name", 0) == 0) {
            cpu = line.substr(line.find(':') + 2);
            break;
        }
    }
    struct utsname names {};
    ::uname(&names);
    std::ostringstream out;
    out << ::sysconf(_SC_NPROCESSORS_ONLN) << " cores (" << cpu << "), " << names.sysname << " "
        << names.release << " " << names.machine << ", SQLite " << sqlite3_libversion();
    return out.str();
}

namespace {

void bind_text(sqlite3_stmt* stmt, int index, const std::string& text) {
    sqlite3_bind_text(stmt, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
}

}  // namespace

PlainSqlite::PlainSqlite(const fs::path& db_path, bool same_rows_as_store) {
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(db_path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        throw std::runtime_error("cannot open " + db_path.string() + ": " + sqlite3_errmsg(db_));
    }
    sqlite3_stmt* mode = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA journal_mode = WAL", -1, &mode, nullptr) != SQLITE_OK ||
        sqlite3_step(mode) != SQLITE_ROW) {
        sqlite3_finalize(mode);
        throw std::runtime_error(std::string("PRAGMA journal_mode failed: ") + sqlite3_errmsg(db_));
    }
    journal_mode_ = reinterpret_cast<const char*>(sqlite3_column_text(mode, 0));
    sqlite3_finalize(mode);
    exec("PRAGMA synchronous = FULL");
    exec("PRAGMA foreign_keys = ON");
    exec(
        "CREATE TABLE IF NOT EXISTS notes (id TEXT PRIMARY KEY, body TEXT NOT NULL, last_seq "
        "INTEGER NOT NULL)");
    auto prepare = [&](const char* sql, sqlite3_stmt** stmt) {
        if (sqlite3_prepare_v2(db_, sql, -1, stmt, nullptr) != SQLITE_OK) {
            throw std::runtime_error(std::string("cannot prepare ") + sql + ": " +
                                     sqlite3_errmsg(db_));
        }
    };
    prepare("INSERT INTO notes (id, body, last_seq) VALUES (?1, ?2, ?3)", &insert_);
    if (same_rows_as_store) {
        // The store's evidence_chain and outbox tables (firmware/store/src/schema.cpp).
        exec(
            "CREATE TABLE evidence_chain (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, record_id "
            "TEXT NOT NULL, action TEXT NOT NULL CHECK (action IN ('put', 'delete')), "
            "payload_hash BLOB NOT NULL, prev_hash BLOB NOT NULL, entry_hash BLOB NOT NULL, "
            "device_time_ms INTEGER NOT NULL, gnss_time_ms INTEGER);"
            "CREATE INDEX evidence_chain_by_record ON evidence_chain (kind, record_id);"
            "CREATE TABLE outbox (seq INTEGER PRIMARY KEY REFERENCES evidence_chain (seq), "
            "payload TEXT NOT NULL)");
        prepare(
            "INSERT INTO evidence_chain (seq, kind, record_id, action, payload_hash, prev_hash, "
            "entry_hash, device_time_ms, gnss_time_ms) VALUES (?1, 'note', ?2, 'put', ?3, ?3, ?3, "
            "?4, NULL)",
            &chain_);
        prepare("INSERT INTO outbox (seq, payload) VALUES (?1, ?2)", &outbox_);
    }
}

PlainSqlite::~PlainSqlite() {
    sqlite3_finalize(outbox_);
    sqlite3_finalize(chain_);
    sqlite3_finalize(insert_);
    sqlite3_close_v2(db_);
}

void PlainSqlite::exec(const char* sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &message) != SQLITE_OK) {
        std::string text = message != nullptr ? message : "unknown error";
        sqlite3_free(message);
        throw std::runtime_error(std::string(sql) + ": " + text);
    }
}

void PlainSqlite::commit_rows(int rows) {
    exec("BEGIN IMMEDIATE");
    for (int i = 0; i < rows; ++i) {
        std::int64_t n = ++next_id_;
        std::string id = "plain-" + std::to_string(n);
        std::string body = record_body(n);
        sqlite3_reset(insert_);
        bind_text(insert_, 1, id);
        bind_text(insert_, 2, body);
        sqlite3_bind_int64(insert_, 3, n);
        if (sqlite3_step(insert_) != SQLITE_DONE) {
            throw std::runtime_error(std::string("insert failed: ") + sqlite3_errmsg(db_));
        }
        if (chain_ == nullptr) {
            continue;
        }
        static const std::string hash(32, '\x5a');
        sqlite3_reset(chain_);
        sqlite3_bind_int64(chain_, 1, n);
        bind_text(chain_, 2, id);
        sqlite3_bind_blob(chain_, 3, hash.data(), static_cast<int>(hash.size()), SQLITE_STATIC);
        sqlite3_bind_int64(chain_, 4, 1'764'000'000'000);
        sqlite3_reset(outbox_);
        sqlite3_bind_int64(outbox_, 1, n);
        bind_text(outbox_, 2, R"({"body":")" + body + R"(","id":")" + id + R"("})");
        if (sqlite3_step(chain_) != SQLITE_DONE || sqlite3_step(outbox_) != SQLITE_DONE) {
            throw std::runtime_error(std::string("insert failed: ") + sqlite3_errmsg(db_));
        }
    }
    exec("COMMIT");
}

Rate run_plain_loop(const fs::path& dir, int rows_per_commit,
                    std::chrono::duration<double> duration) {
    fs::path db_path = dir / "plain.db";
    Rate rate;
    {
        PlainSqlite plain(db_path);
        if (plain.journal_mode() != "wal") {
            throw std::runtime_error("plain loop: journal_mode is " + plain.journal_mode());
        }
        auto start = std::chrono::steady_clock::now();
        auto end =
            start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration);
        std::chrono::steady_clock::time_point now;
        do {
            plain.commit_rows(rows_per_commit);
            rate.rows += rows_per_commit;
            ++rate.commits;
            now = std::chrono::steady_clock::now();
        } while (now < end);
        rate.seconds = std::chrono::duration<double>(now - start).count();
    }
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) {
        fs::remove(db_path.string() + suffix, ec);
    }
    return rate;
}

double fdatasync_rate(const fs::path& dir, std::chrono::duration<double> duration) {
    fs::path file = dir / "fdatasync.probe";
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw std::runtime_error("cannot create " + file.string());
    }
    std::vector<char> page(4096, 'x');
    std::int64_t count = 0;
    auto start = std::chrono::steady_clock::now();
    auto end = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(duration);
    std::chrono::steady_clock::time_point now;
    do {
        if (::pwrite(fd, page.data(), page.size(), 0) != static_cast<ssize_t>(page.size()) ||
            ::fdatasync(fd) != 0) {
            ::close(fd);
            throw std::runtime_error("write or fdatasync failed on " + file.string());
        }
        ++count;
        now = std::chrono::steady_clock::now();
    } while (now < end);
    ::close(fd);
    std::error_code ec;
    fs::remove(file, ec);
    return static_cast<double>(count) / std::chrono::duration<double>(now - start).count();
}

std::string record_body(std::int64_t n) {
    return "COD 75 mg/L at outfall 1, sample " + std::to_string(n) + ", clear, no odour";
}

std::string fixed(double value, int decimals) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
    return buffer;
}

std::string verdict(double ratio, double target) { return ratio >= target ? "PASS" : "MISS"; }

}  // namespace fieldlog::bench
