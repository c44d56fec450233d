// Receiving: UID validation, atomic writes, re-sends, conflicts, mixed patients, the watermark.
#include <gtest/gtest.h>

#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "storage_test_support.hpp"

namespace modic::storage {
namespace {

using namespace modic::storage::testing;

const std::string kStudy = "1.2.826.0.1.3680043.10.1";
const std::string kSeries = "1.2.826.0.1.3680043.10.1.1";
const std::string kOtherSeries = "1.2.826.0.1.3680043.10.1.2";

TEST(Uid, AcceptsWellFormedUids) {
    EXPECT_FALSE(uid_problem("1.2.840.10008.5.1.4.1.1.4"));
    EXPECT_FALSE(uid_problem("0"));
    EXPECT_FALSE(uid_problem(std::string(64, '1')));
}

TEST(Uid, RejectsPathCharactersDotsAndLength) {
    const std::vector<std::string> bads = {"", "1.2/3", "../1.2", "1..2", ".1.2", "1.2.", "1.2\\3", "1.2.3a", "1 2",
                                  std::string("1.2\0.3", 6), std::string(65, '1')};
    for (const std::string& bad : bads) {
        EXPECT_TRUE(uid_problem(bad)) << "accepted \"" << bad << "\"";
        EXPECT_THROW(validate_uid(bad, "SOP Instance UID"), InvalidUidError);
    }
}

TEST(Uid, ErrorNamesTheUid) {
    try {
        validate_uid("1.2/../../etc", "Series Instance UID");
        FAIL();
    } catch (const InvalidUidError& error) {
        EXPECT_EQ(error.which(), "Series Instance UID");
        EXPECT_NE(std::string(error.what()).find("Series Instance UID"), std::string::npos);
        EXPECT_NE(std::string(error.what()).find("'/'"), std::string::npos) << error.what();
    }
}

class FileStore : public ::testing::Test {
protected:
    TempFolder folder_;
    Storage storage_{options_for(folder_.path() / "store")};
    std::filesystem::path root() const { return folder_.path() / "store"; }
};

TEST_F(FileStore, StoresUnderValidatedUidsWithChecksum) {
    const auto bytes = bytes_for("a");
    const StoreResult result = storage_.store_instance(instance(kStudy, kSeries, "1.2.3.1"), bytes);
    EXPECT_EQ(result.outcome, StoreOutcome::stored);
    EXPECT_EQ(result.path, root() / "images" / kStudy / kSeries / "1.2.3.1.dcm");
    EXPECT_EQ(read_bytes(result.path), bytes);
    EXPECT_EQ(result.size, bytes.size());
    EXPECT_EQ(result.checksum, checksum64(bytes));
    const auto files = storage_.study_instances(kStudy);
    ASSERT_EQ(files.size(), 1u);
    EXPECT_EQ(files[0].checksum, checksum64(bytes));
    EXPECT_EQ(files[0].transfer_syntax_uid, "1.2.840.10008.1.2.1");
    EXPECT_TRUE(files_under(storage_.temp_dir()).empty());
}

TEST_F(FileStore, ChecksumSeesEveryByte) {
    auto bytes = bytes_for("c", 1001);
    const auto original = checksum64(bytes);
    for (std::size_t position : {0ul, 31ul, 32ul, 500ul, 999ul, 1000ul}) {
        auto changed = bytes;
        changed[position] ^= std::byte{1};
        EXPECT_NE(checksum64(changed), original) << position;
    }
    EXPECT_EQ(checksum64(bytes), original);
}

TEST_F(FileStore, BadUidIsRejectedAndNothingIsWritten) {
    auto bad = instance(kStudy, kSeries, "1.2.3/../../../evil");
    try {
        storage_.store_instance(bad, bytes_for("x"));
        FAIL();
    } catch (const InvalidUidError& error) {
        EXPECT_EQ(error.which(), "SOP Instance UID");
    }
    auto bad_study = instance("1.2.3..4", kSeries, "1.2.3.4");
    EXPECT_THROW(storage_.store_instance(bad_study, bytes_for("x")), InvalidUidError);
    EXPECT_TRUE(files_under(root() / "images").empty());
    EXPECT_TRUE(files_under(storage_.temp_dir()).empty());
    EXPECT_EQ(storage_.status().instances, 0);
}

TEST_F(FileStore, FailedWriteLeavesNoPartialFile) {
    // Let the kernel refuse writes beyond 1000 bytes (EFBIG), as a full disk would mid-file.
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit previous{};
    ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &previous), 0);
    rlimit small = previous;
    small.rlim_cur = 1000;
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
    EXPECT_THROW(storage_.store_instance(instance(kStudy, kSeries, "1.2.3.9"), bytes_for("big", 5000)), StorageError);
    ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &previous), 0);
    EXPECT_TRUE(files_under(root() / "images").empty());
    EXPECT_TRUE(files_under(storage_.temp_dir()).empty());
    EXPECT_TRUE(storage_.study_instances(kStudy).empty());
    // The store still works afterwards.
    EXPECT_EQ(storage_.store_instance(instance(kStudy, kSeries, "1.2.3.9"), bytes_for("big", 5000)).outcome,
              StoreOutcome::stored);
}

TEST_F(FileStore, FailedRenameLeavesNoFile) {
    // A file where the study folder must go: creating the folder fails.
    std::filesystem::create_directories(root() / "images");
    std::ofstream(root() / "images" / "1.2.99") << "in the way";
    EXPECT_THROW(storage_.store_instance(instance("1.2.99", kSeries, "1.2.3.10"), bytes_for("y")), StorageError);
    EXPECT_TRUE(files_under(storage_.temp_dir()).empty());
    EXPECT_EQ(storage_.status().instances, 0);
}

TEST_F(FileStore, ResendIsStoredOnce) {
    const auto in = instance(kStudy, kSeries, "1.2.3.1");
    const auto first = storage_.store_instance(in, bytes_for("a"));
    const auto generation = storage_.find_study(kStudy)->generation;
    auto resent = in;
    resent.transfer_syntax_uid = "1.2.840.10008.1.2";  // another transfer syntax: still the same instance
    const auto second = storage_.store_instance(resent, bytes_for("a-implicit", 4000));
    EXPECT_EQ(second.outcome, StoreOutcome::duplicate);
    EXPECT_EQ(second.path, first.path);
    EXPECT_EQ(read_bytes(first.path), bytes_for("a"));
    EXPECT_EQ(files_under(root() / "images").size(), 1u);
    EXPECT_EQ(storage_.find_study(kStudy)->generation, generation);
    EXPECT_EQ(storage_.status().instances, 1);
}

TEST_F(FileStore, ResendRepairsADamagedHeldFile) {
    const auto in = instance(kStudy, kSeries, "1.2.3.1");
    const auto first = storage_.store_instance(in, bytes_for("a"));
    std::filesystem::resize_file(first.path, 10);  // as if the crash came before the bytes hit the disk
    const auto again = storage_.store_instance(in, bytes_for("a"));
    EXPECT_EQ(again.outcome, StoreOutcome::stored);
    EXPECT_EQ(read_bytes(first.path), bytes_for("a"));
    EXPECT_EQ(storage_.status().instances, 1);
}

TEST_F(FileStore, SameSopUnderOtherSeriesIsAConflictKeptApart) {
    const auto first = storage_.store_instance(instance(kStudy, kSeries, "1.2.3.1"), bytes_for("a"));
    const auto clash = storage_.store_instance(instance(kStudy, kOtherSeries, "1.2.3.1"), bytes_for("b"));
    EXPECT_EQ(clash.outcome, StoreOutcome::conflict);
    EXPECT_EQ(clash.path.parent_path(), root() / "conflicts" / "1.2.3.1");
    EXPECT_EQ(read_bytes(clash.path), bytes_for("b"));
    EXPECT_EQ(read_bytes(first.path), bytes_for("a"));  // never overwritten
    const auto again = storage_.store_instance(instance("1.2.5", "1.2.5.1", "1.2.3.1"), bytes_for("c"));
    EXPECT_EQ(again.outcome, StoreOutcome::conflict);
    EXPECT_NE(again.path, clash.path);
    const auto conflicts = storage_.list_conflicts();
    ASSERT_EQ(conflicts.size(), 2u);
    EXPECT_EQ(conflicts[1].existing_series_uid, kSeries);
    EXPECT_EQ(conflicts[1].series_uid, kOtherSeries);
    EXPECT_EQ(storage_.study_instances(kStudy).size(), 1u);
    EXPECT_FALSE(storage_.find_study("1.2.5"));  // a conflict is part of no study
    EXPECT_EQ(storage_.status().conflicts, 2);
}

TEST_F(FileStore, SameSopWithOtherSopClassIsAConflict) {
    storage_.store_instance(instance(kStudy, kSeries, "1.2.3.1"), bytes_for("a"));
    auto other_class = instance(kStudy, kSeries, "1.2.3.1");
    other_class.sop_class_uid = "1.2.840.10008.5.1.4.1.1.7";
    EXPECT_EQ(storage_.store_instance(other_class, bytes_for("a")).outcome, StoreOutcome::conflict);
}

TEST_F(FileStore, MixedPatientIdsFlagTheStudy) {
    storage_.store_instance(instance(kStudy, kSeries, "1.2.3.1", "PAT1"), bytes_for("a"));
    EXPECT_FALSE(storage_.find_study(kStudy)->mixed_patients);
    storage_.store_instance(instance(kStudy, kSeries, "1.2.3.2", "PAT2"), bytes_for("b"));
    EXPECT_TRUE(storage_.find_study(kStudy)->mixed_patients);
    const auto jobs = storage_.create_jobs_for_quiet_studies(std::chrono::seconds(0), Clock::now() + std::chrono::seconds(1));
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].state, JobState::not_analyzable);
    EXPECT_NE(jobs[0].reason.find("PatientID"), std::string::npos);
}

TEST_F(FileStore, StoreFromATempFileMovesIt) {
    const auto temp = storage_.new_temp_path();
    EXPECT_EQ(temp.parent_path(), storage_.temp_dir());
    { std::ofstream(temp, std::ios::binary) << "DICM-ish bytes"; }
    const auto result = storage_.store_instance_file(instance(kStudy, kSeries, "1.2.3.1"), temp);
    EXPECT_EQ(result.outcome, StoreOutcome::stored);
    EXPECT_FALSE(std::filesystem::exists(temp));
    EXPECT_EQ(result.size, 14u);
    const auto temp2 = storage_.new_temp_path();
    { std::ofstream(temp2, std::ios::binary) << "DICM-ish bytes"; }
    EXPECT_EQ(storage_.store_instance_file(instance(kStudy, kSeries, "1.2.3.1"), temp2).outcome, StoreOutcome::duplicate);
    EXPECT_FALSE(std::filesystem::exists(temp2));
    const auto temp3 = storage_.new_temp_path();
    { std::ofstream(temp3, std::ios::binary) << "x"; }
    EXPECT_THROW(storage_.store_instance_file(instance(kStudy, kSeries, "bad/uid"), temp3), InvalidUidError);
    EXPECT_FALSE(std::filesystem::exists(temp3));
}

TEST(Watermark, BelowTheWatermarkNothingIsWritten) {
    TempFolder folder;
    auto options = options_for(folder.path());
    options.min_free_bytes = std::uint64_t{1} << 62;  // more than any disk
    Storage storage(options);
    try {
        storage.store_instance(instance(kStudy, kSeries, "1.2.3.1"), bytes_for("a"));
        FAIL();
    } catch (const DiskBelowWatermarkError& error) {
        EXPECT_EQ(error.watermark_bytes(), std::uint64_t{1} << 62);
        EXPECT_LT(error.free_bytes(), error.watermark_bytes());
    }
    EXPECT_THROW(storage.check_free_space(), DiskBelowWatermarkError);
    EXPECT_TRUE(files_under(folder.path() / "images").empty());
    EXPECT_EQ(storage.status().instances, 0);
}

TEST(ParallelStores, ManyWritersWithFsyncAllLand) {
    TempFolder folder;
    Storage storage(options_for(folder.path(), /*fsync=*/true));
    constexpr int kThreads = 6;
    constexpr int kEach = 25;
    std::vector<std::thread> writers;
    for (int t = 0; t < kThreads; ++t)
        writers.emplace_back([&, t] {
            for (int i = 0; i < kEach; ++i) {
                const std::string sop = "1.2.3." + std::to_string(t) + "." + std::to_string(i);
                storage.store_instance(instance(kStudy, kSeries + "." + std::to_string(t), sop), bytes_for(sop, 20000));
            }
        });
    for (auto& writer : writers) writer.join();
    const auto files = storage.study_instances(kStudy);
    ASSERT_EQ(files.size(), static_cast<std::size_t>(kThreads * kEach));
    for (const auto& file : files) EXPECT_EQ(read_bytes(file.path), bytes_for(file.sop_instance_uid, 20000));
    EXPECT_EQ(storage.find_study(kStudy)->generation, kThreads * kEach);
}

TEST(ParallelStores, SameInstanceFromTwoAssociationsAtOnceIsStoredOnce) {
    TempFolder folder;
    Storage storage(options_for(folder.path()));
    std::vector<std::thread> writers;
    std::atomic<int> stored{0};
    std::atomic<int> duplicates{0};
    for (int t = 0; t < 4; ++t)
        writers.emplace_back([&] {
            for (int i = 0; i < 30; ++i) {
                const auto outcome =
                    storage.store_instance(instance(kStudy, kSeries, "1.2.7." + std::to_string(i)), bytes_for("s")).outcome;
                (outcome == StoreOutcome::stored ? stored : duplicates)++;
            }
        });
    for (auto& writer : writers) writer.join();
    EXPECT_EQ(stored.load(), 30);
    EXPECT_EQ(duplicates.load(), 90);
    EXPECT_EQ(storage.find_study(kStudy)->generation, 30);
}

}  // namespace
}  // namespace modic::storage
