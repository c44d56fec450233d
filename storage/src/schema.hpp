// The index schema and its migrations (PRAGMA user_version = the schema version).
#pragma once

#include "sqlite.hpp"

namespace modic::storage::schema {

// Sets the connection's pragmas (WAL, synchronous, foreign keys) and migrates the schema to
// kSchemaVersion step by step, each step in its own transaction. Throws StorageError for a
// database newer than this program.
void open_and_migrate(sqlite::Database& db);

int user_version(sqlite::Database& db);

}  // namespace modic::storage::schema
