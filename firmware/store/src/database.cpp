#include "fieldlog/store/database.hpp"

#include <sqlite3.h>

#include <utility>

namespace fieldlog::store {

Error sqlite_error(sqlite3* db, int rc, std::string_view what) {
    Errc code = Errc::database;
    switch (rc & 0xff) {
        case SQLITE_FULL:
            code = Errc::no_space;
            break;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            code = Errc::corrupt;
            break;
        case SQLITE_CONSTRAINT:
            code = Errc::conflict;
            break;
        case SQLITE_CANTOPEN:
        case SQLITE_IOERR:
            code = Errc::io;
            break;
        case SQLITE_READONLY:
        case SQLITE_PERM:
            code = Errc::permission;
            break;
        default:
            break;
    }
    std::string detail = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_FULL) {
        detail = "the disk is full (" + detail + ")";
    }
    return Error(code, std::string(what) + ": " + detail);
}

Statement::~Statement() { sqlite3_finalize(stmt_); }

Statement& Statement::reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    return *this;
}

Statement& Statement::bind(int index, std::int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
}

Statement& Statement::bind(int index, double value) {
    sqlite3_bind_double(stmt_, index, value);
    return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
    sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
    return *this;
}

Statement& Statement::bind_blob(int index, std::span<const std::uint8_t> bytes) {
    sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::bind_null(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
}

Result<bool> Statement::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) {
        return true;
    }
    if (rc == SQLITE_DONE) {
        return false;
    }
    Error error = sqlite_error(db_, rc, "SQLite");
    sqlite3_reset(stmt_);
    return error;
}

Status Statement::run() {
    for (;;) {
        auto row = step();
        if (!row) {
            return row.error();
        }
        if (!*row) {
            return {};
        }
    }
}

bool Statement::is_null(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

double Statement::real(int column) const { return sqlite3_column_double(stmt_, column); }

std::string Statement::text(int column) const {
    const unsigned char* p = sqlite3_column_text(stmt_, column);
    int n = sqlite3_column_bytes(stmt_, column);
    return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
                        : std::string();
}

std::span<const std::uint8_t> Statement::blob(int column) const {
    const void* p = sqlite3_column_blob(stmt_, column);
    int n = sqlite3_column_bytes(stmt_, column);
    if (p == nullptr) {
        return {};
    }
    return {static_cast<const std::uint8_t*>(p), static_cast<std::size_t>(n)};
}

std::optional<std::int64_t> Statement::opt_int64(int column) const {
    return is_null(column) ? std::nullopt : std::optional(int64(column));
}

std::optional<double> Statement::opt_real(int column) const {
    return is_null(column) ? std::nullopt : std::optional(real(column));
}

std::optional<std::string> Statement::opt_text(int column) const {
    return is_null(column) ? std::nullopt : std::optional(text(column));
}

struct Database::Connection {
    sqlite3* db = nullptr;
    // Keyed by SQL text: each statement is compiled once per connection.
    std::map<std::string, std::unique_ptr<Statement>, std::less<>> statements;

    ~Connection() {
        statements.clear();
        sqlite3_close_v2(db);
    }
};

Database::Database(std::unique_ptr<Connection> connection, std::filesystem::path path)
    : connection_(std::move(connection)), path_(std::move(path)) {}
Database::Database(Database&&) noexcept = default;
Database& Database::operator=(Database&&) noexcept = default;
Database::~Database() = default;

Result<Database> Database::open(const std::filesystem::path& path, Mode mode) {
    auto connection = std::make_unique<Connection>();
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
    flags |= mode == Mode::read_only ? SQLITE_OPEN_READONLY
                                     : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    int rc = sqlite3_open_v2(path.c_str(), &connection->db, flags, nullptr);
    if (rc != SQLITE_OK) {
        return sqlite_error(connection->db, rc, "cannot open database " + path.string());
    }
    sqlite3_busy_timeout(connection->db, 5000);
    sqlite3_extended_result_codes(connection->db, 1);
    Database db(std::move(connection), path);
    if (auto fk = db.exec("PRAGMA foreign_keys = ON"); !fk) {
        return fk.error();
    }
    return db;
}

Result<Database> Database::open_memory() { return open(":memory:"); }

Status Database::exec(std::string_view sql) {
    std::string text(sql);
    char* message = nullptr;
    int rc = sqlite3_exec(connection_->db, text.c_str(), nullptr, nullptr, &message);
    if (rc != SQLITE_OK) {
        std::string detail = message != nullptr ? message : sqlite3_errstr(rc);
        sqlite3_free(message);
        Error error = sqlite_error(connection_->db, rc, "SQLite");
        if ((rc & 0xff) == SQLITE_FULL) {
            return error;
        }
        return Error(error.code(), "SQLite: " + detail);
    }
    return {};
}

Status Database::run(std::string_view sql) {
    auto stmt = prepare(sql);
    if (!stmt) {
        return stmt.error();
    }
    return (*stmt)->run();
}

Result<Statement*> Database::prepare(std::string_view sql) {
    auto& statements = connection_->statements;
    if (auto it = statements.find(sql); it != statements.end()) {
        it->second->reset();
        return it->second.get();
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(connection_->db, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        return sqlite_error(connection_->db, rc, "cannot prepare SQL");
    }
    auto owned = std::make_unique<Statement>(connection_->db, stmt);
    Statement* raw = owned.get();
    statements.emplace(std::string(sql), std::move(owned));
    return raw;
}

std::int64_t Database::changes() const { return sqlite3_changes64(connection_->db); }

Result<Transaction> Transaction::begin(Database& db) {
    if (auto begun = db.run("BEGIN IMMEDIATE"); !begun) {
        return begun.error();
    }
    return Transaction(db);
}

Transaction::~Transaction() {
    if (db_ != nullptr) {
        // A failed ROLLBACK leaves nothing to do: SQLite rolls back on its own when the
        // transaction could not continue.
        (void)db_->run("ROLLBACK");
    }
}

Status Transaction::commit() {
    auto committed = db_->run("COMMIT");
    if (committed) {
        db_ = nullptr;
    }
    return committed;
}

}  // namespace fieldlog::store
