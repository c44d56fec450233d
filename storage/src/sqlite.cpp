#include "sqlite.hpp"

#include <fmt/core.h>

#include "modic/storage/errors.hpp"

namespace modic::storage::sqlite {
namespace {

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
    throw StorageError(fmt::format("SQLite: {}: {}", what, db ? sqlite3_errmsg(db) : "out of memory"));
}

}  // namespace

void Statement::bind(int index, std::int64_t value) {
    if (sqlite3_bind_int64(statement_, index, value) != SQLITE_OK) fail(db_, "bind");
}
void Statement::bind(int index, std::string_view value) {
    if (sqlite3_bind_text(statement_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT) !=
        SQLITE_OK)
        fail(db_, "bind");
}
void Statement::bind(int index, std::nullopt_t) {
    if (sqlite3_bind_null(statement_, index) != SQLITE_OK) fail(db_, "bind");
}
void Statement::bind(int index, const std::optional<std::string>& value) {
    if (value) bind(index, std::string_view(*value)); else bind(index, std::nullopt);
}
void Statement::bind(int index, const std::optional<std::int64_t>& value) {
    if (value) bind(index, *value); else bind(index, std::nullopt);
}

bool Statement::step() {
    const int result = sqlite3_step(statement_);
    if (result == SQLITE_ROW) return true;
    if (result == SQLITE_DONE) return false;
    const std::string message = fmt::format("step \"{}\"", sqlite3_sql(statement_));
    sqlite3_reset(statement_);
    fail(db_, message);
}

void Statement::run() {
    while (step()) {
    }
    sqlite3_reset(statement_);
}

void Statement::reset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
}

std::int64_t Statement::integer(int column) const { return sqlite3_column_int64(statement_, column); }
std::string Statement::text(int column) const {
    const auto* text = sqlite3_column_text(statement_, column);
    return text ? std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(statement_, column))
                : std::string();
}
bool Statement::is_null(int column) const { return sqlite3_column_type(statement_, column) == SQLITE_NULL; }

Database::Database(const std::filesystem::path& file) : file_(file) {
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(file.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
        const std::string message = db_ ? sqlite3_errmsg(db_) : "out of memory";
        sqlite3_close(db_);
        db_ = nullptr;
        throw StorageError(fmt::format("SQLite: cannot open {}: {}", file.string(), message));
    }
    sqlite3_busy_timeout(db_, 10000);
}

Database::~Database() {
    cache_.clear();
    for (auto& [sql, statement] : raw_) sqlite3_finalize(statement);
    sqlite3_close(db_);
}

void Database::exec(std::string_view sql) {
    char* error = nullptr;
    const std::string text(sql);
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
        const std::string message = error ? error : sqlite3_errmsg(db_);
        sqlite3_free(error);
        throw StorageError(fmt::format("SQLite: {} ({}): {}", text.substr(0, 60), file_.string(), message));
    }
}

Statement& Database::statement(const std::string& sql) {
    if (auto found = cache_.find(sql); found != cache_.end()) return *found->second;
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr) != SQLITE_OK)
        fail(db_, fmt::format("prepare \"{}\"", sql));
    raw_.emplace(sql, raw);
    return *cache_.emplace(sql, std::make_unique<Statement>(db_, raw)).first->second;
}

std::int64_t Database::last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
int Database::changes() const { return sqlite3_changes(db_); }

Transaction::Transaction(Database& db) : db_(db) { db_.exec("BEGIN IMMEDIATE"); }
Transaction::~Transaction() {
    if (!done_) {
        try {
            db_.exec("ROLLBACK");
        } catch (...) {
            // The transaction is gone either way; the original error is what matters.
        }
    }
}
void Transaction::commit() {
    db_.exec("COMMIT");
    done_ = true;
}

}  // namespace modic::storage::sqlite
