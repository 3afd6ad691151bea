// An owned SQLite connection with statements prepared once and bound, never assembled.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "fieldlog/error.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace fieldlog::store {

// A prepared statement. reset() keeps earlier bindings, so every use binds every parameter.
class Statement {
public:
    Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& reset();
    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, std::int64_t{value}); }
    Statement& bind(int index, double value);
    Statement& bind(int index, std::string_view text);
    Statement& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
    Statement& bind(int index, const std::string& text) {
        return bind(index, std::string_view(text));
    }
    Statement& bind_blob(int index, std::span<const std::uint8_t> bytes);
    Statement& bind_null(int index);
    template <class T>
    Statement& bind(int index, const std::optional<T>& value) {
        return value ? bind(index, *value) : bind_null(index);
    }

    // Returns true when a row is ready, false when the statement is done.
    [[nodiscard]] Result<bool> step();
    // Runs to completion, for statements that return no rows.
    [[nodiscard]] Status run();

    bool is_null(int column) const;
    std::int64_t int64(int column) const;
    double real(int column) const;
    std::string text(int column) const;
    std::span<const std::uint8_t> blob(int column) const;
    std::optional<std::int64_t> opt_int64(int column) const;
    std::optional<double> opt_real(int column) const;
    std::optional<std::string> opt_text(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* stmt_;
};

class Database {
public:
    enum class Mode { read_write_create, read_only };

    [[nodiscard]] static Result<Database> open(const std::filesystem::path& path,
                                               Mode mode = Mode::read_write_create);
    [[nodiscard]] static Result<Database> open_memory();

    Database(Database&&) noexcept;
    Database& operator=(Database&&) noexcept;
    ~Database();

    // Runs SQL that takes no parameters and may hold several statements (schema, pragmas).
    [[nodiscard]] Status exec(std::string_view sql);
    // Runs one parameterless statement through the statement cache; for the statements run on
    // every commit (BEGIN, COMMIT, SAVEPOINT), which exec() would compile each time.
    [[nodiscard]] Status run(std::string_view sql);
    // A statement prepared on first use and kept for the life of the connection; already reset.
    [[nodiscard]] Result<Statement*> prepare(std::string_view sql);

    std::int64_t changes() const;
    const std::filesystem::path& path() const { return path_; }

private:
    struct Connection;
    explicit Database(std::unique_ptr<Connection> connection, std::filesystem::path path);

    std::unique_ptr<Connection> connection_;
    std::filesystem::path path_;
};

// Maps an SQLite result code to an Error: SQLITE_FULL becomes Errc::no_space, corruption
// Errc::corrupt, a constraint Errc::conflict.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// BEGIN IMMEDIATE now; ROLLBACK on destruction unless commit() succeeded.
class Transaction {
public:
    [[nodiscard]] static Result<Transaction> begin(Database& db);
    Transaction(Transaction&& other) noexcept : db_(std::exchange(other.db_, nullptr)) {}
    Transaction& operator=(Transaction&&) = delete;
    ~Transaction();

    [[nodiscard]] Status commit();

private:
    explicit Transaction(Database& db) : db_(&db) {}
    Database* db_;
};

}  // namespace fieldlog::store
