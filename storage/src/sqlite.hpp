// A thin RAII layer over the SQLite C API: a connection, cached prepared statements, transactions.
// Not thread-safe by itself: Storage serialises access with its mutex.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace modic::storage::sqlite {

class Statement {
public:
    Statement(sqlite3* db, sqlite3_stmt* statement) : db_(db), statement_(statement) {}
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    // Binds parameters 1..N in order; clears earlier bindings and resets the statement.
    template <typename... Values>
    Statement& bind_all(const Values&... values) {
        reset();
        int index = 1;
        (bind(index++, values), ...);
        return *this;
    }
    void bind(int index, std::int64_t value);
    void bind(int index, int value) { bind(index, static_cast<std::int64_t>(value)); }
    void bind(int index, std::uint64_t value) { bind(index, static_cast<std::int64_t>(value)); }
    void bind(int index, std::string_view value);
    void bind(int index, const std::string& value) { bind(index, std::string_view(value)); }
    void bind(int index, const char* value) { bind(index, std::string_view(value)); }
    void bind(int index, std::nullopt_t);
    void bind(int index, const std::optional<std::string>& value);
    void bind(int index, const std::optional<std::int64_t>& value);

    bool step();   // true: a row is available
    void run();    // steps to the end (for statements without rows)
    void reset();

    std::int64_t integer(int column) const;
    std::string text(int column) const;
    bool is_null(int column) const;

private:
    sqlite3* db_;
    sqlite3_stmt* statement_;
};

class Database {
public:
    explicit Database(const std::filesystem::path& file);
    ~Database();
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    void exec(std::string_view sql);
    // A prepared statement kept for the connection's lifetime (prepared once per SQL text).
    Statement& statement(const std::string& sql);
    std::int64_t last_insert_id() const;
    int changes() const;
    sqlite3* handle() const { return db_; }
    const std::filesystem::path& file() const { return file_; }

private:
    std::filesystem::path file_;
    sqlite3* db_ = nullptr;
    std::map<std::string, std::unique_ptr<Statement>> cache_;
    std::map<std::string, sqlite3_stmt*> raw_;
};

// BEGIN IMMEDIATE on construction; ROLLBACK in the destructor unless commit() was called.
class Transaction {
public:
    explicit Transaction(Database& db);
    ~Transaction();
    void commit();

private:
    Database& db_;
    bool done_ = false;
};

}  // namespace modic::storage::sqlite
