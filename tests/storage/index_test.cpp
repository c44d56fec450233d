// The SQLite index: WAL mode, schema version and migrations, admin access beside a running node,
// and the group-commit sync.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <fstream>
#include <thread>

#include "group_sync.hpp"
#include "storage_test_support.hpp"

namespace modic::storage {
namespace {

using namespace modic::storage::testing;

std::string query_text(const std::filesystem::path& db_file, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    std::string value;
    if (sqlite3_step(statement) == SQLITE_ROW && sqlite3_column_text(statement, 0))
        value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
}

void execute(const std::filesystem::path& db_file, const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_close(db);
}

TEST(Index, IsInWalModeWithTheCurrentSchemaVersion) {
    TempFolder folder;
    Storage storage(options_for(folder.path()));
    EXPECT_EQ(query_text(storage.database_path(), "PRAGMA journal_mode"), "wal");
    EXPECT_EQ(query_text(storage.database_path(), "PRAGMA user_version"), std::to_string(kSchemaVersion));
    for (const char* table : {"studies", "series", "instances", "jobs", "deliveries", "conflicts"})
        EXPECT_EQ(query_text(storage.database_path(),
                             std::string("SELECT name FROM sqlite_master WHERE type = 'table' AND name = '") + table + "'"),
                  table);
}

TEST(Index, EmptyDatabaseFileIsMigrated) {
    TempFolder folder;
    execute(folder.path() / "index.sqlite", "CREATE TABLE unrelated (x)");  // version 0, not empty
    Storage storage(options_for(folder.path()));
    EXPECT_EQ(query_text(storage.database_path(), "PRAGMA user_version"), std::to_string(kSchemaVersion));
}

TEST(Index, OlderSchemaIsMigratedKeepingItsData) {
    TempFolder folder;
    {
        Storage storage(options_for(folder.path()));
        storage.store_instance(instance("1.2.3", "1.2.3.4", "1.2.3.4.5"), bytes_for("a"));
    }
    // Back to version 1: what was received, no jobs yet.
    execute(folder.path() / "index.sqlite",
            "DROP TABLE deliveries; DROP TABLE conflicts; DROP TABLE jobs; PRAGMA user_version = 1;");
    Storage storage(options_for(folder.path()));
    EXPECT_EQ(query_text(storage.database_path(), "PRAGMA user_version"), std::to_string(kSchemaVersion));
    EXPECT_EQ(storage.study_instances("1.2.3").size(), 1u);
    const auto jobs = storage.create_jobs_for_quiet_studies(std::chrono::seconds(0), Clock::now() + std::chrono::seconds(1));
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].study_uid, "1.2.3");
}

TEST(Index, NewerSchemaIsRefused) {
    TempFolder folder;
    { Storage storage(options_for(folder.path())); }
    execute(folder.path() / "index.sqlite", "PRAGMA user_version = " + std::to_string(kSchemaVersion + 5));
    try {
        Storage storage(options_for(folder.path()));
        FAIL();
    } catch (const StorageError& error) {
        EXPECT_NE(std::string(error.what()).find("newer"), std::string::npos) << error.what();
    }
}

TEST(Index, AdminConnectionReadsBesideTheNode) {
    TempFolder folder;
    Storage node(options_for(folder.path()));
    node.store_instance(instance("1.2.3", "1.2.3.4", "1.2.3.4.5"), bytes_for("a"));
    auto admin_options = options_for(folder.path());
    admin_options.recover = false;
    Storage admin(admin_options);
    EXPECT_EQ(admin.status().instances, 1);
    node.store_instance(instance("1.2.3", "1.2.3.4", "1.2.3.4.6"), bytes_for("b"));
    EXPECT_EQ(admin.status().instances, 2);
}

TEST(GroupSync, ConcurrentWaitersShareRounds) {
    TempFolder folder;
    GroupSync sync(true);
    sync.sync_always(folder.path() / "always");
    std::ofstream(folder.path() / "always") << "x";
    constexpr int kThreads = 8;
    constexpr int kEach = 20;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < kEach; ++i) sync.wait_durable({folder.path()});
        });
    for (auto& thread : threads) thread.join();
    EXPECT_GE(sync.rounds(), static_cast<std::uint64_t>(kEach));  // each thread's waits are sequential
    // Waiters that arrive during a round are covered together by the next one.
    EXPECT_LT(sync.rounds(), static_cast<std::uint64_t>(kThreads * kEach));
}

TEST(GroupSync, FailureIsReportedToTheWaitersOfItsRound) {
    TempFolder folder;
    GroupSync sync(true);
    // A FIFO cannot be opened read-only without a writer... use a path whose open fails instead:
    // a directory we may not open is hard as root, so name a too-long path.
    const std::filesystem::path unopenable = folder.path() / std::string(300, 'x');
    EXPECT_THROW(sync.wait_durable({unopenable}), StorageError);
    sync.wait_durable({folder.path()});  // the next round is clean
    EXPECT_EQ(sync.rounds(), 2u);
}

TEST(GroupSync, DisabledDoesNothing) {
    TempFolder folder;
    GroupSync sync(false);
    sync.wait_durable({folder.path() / "does-not-matter"});
    EXPECT_EQ(sync.rounds(), 0u);
}

}  // namespace
}  // namespace modic::storage
