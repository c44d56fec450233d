// The SR written from findings: checked by dciodvfy, pixelmed's DicomSRValidator and dsrdump as
// processes, and read back with DCMTK.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "modic/core/structured_report.hpp"
#include "modic/core/version.hpp"
#include "report/narrative.hpp"
#include "sr_reader.hpp"
#include "sr_test_support.hpp"

namespace modic::test {
namespace {
namespace fs = std::filesystem;
using core::Findings;
using core::SourceInstance;

// Japanese name of PS3.5 H.3.1 (ISO 2022 IR 87 with escape sequences): Yamada^Tarou=山田^太郎=やまだ^たろう
const std::string kJapaneseName =
    "Yamada^Tarou=\x1b$B;3ED\x1b(B^\x1b$BB@O:\x1b(B=\x1b$B$d$^$@\x1b(B^\x1b$B$?$m$&\x1b(B";

struct SrCase {
    std::string name;
    std::string spider;
    SourceText text;
    Findings (*findings)(const std::vector<SourceInstance>&);
    int series_number_t2 = 0;  // > 0: t2 takes this SeriesNumber
};

const std::vector<SrCase>& sr_cases() {
    static const std::vector<SrCase> cases = {
        {"changes", "spider_001", {"ISO_IR 100", "SPIDER^1", ""}, findings_with_changes},
        {"normal", "spider_007", {"ISO_IR 100", "SPIDER^7", "Doe^John"}, normal_findings},
        {"not_analysable", "spider_013", {"ISO_IR 100", "SPIDER^13", ""}, not_analysable_findings},
        {"latin1", "spider_017", {"ISO_IR 100", "M\xfcller^J\xfcrgen", "B\xf6hm^Ren\xe9"}, findings_with_changes},
        {"iso2022_japanese", "spider_018", {"\\ISO 2022 IR 87", kJapaneseName, ""}, findings_with_changes},
        {"utf8", "spider_022", {"ISO_IR 192", "G\xc3\xb3mez^Jos\xc3\xa9=\xe7\x8e\x8b^\xe5\xb0\x8f\xe4\xb8\x9c",
                                "\xc3\x98stergaard^S\xc3\xb8ren"},
         findings_with_changes, 9901},
        {"default_repertoire", "spider_029", {"", "PLAIN^ASCII", ""}, normal_findings},
    };
    return cases;
}

struct WrittenCase {
    std::vector<SourceInstance> study;
    Findings findings;
    fs::path sr;
    core::WrittenSr written;
};

// Every case's SR is written once for the suite: the validators are slow to start.
class SrWriterTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        folder_ = std::make_unique<TempDir>("modic-sr-test");
        core::SrOptions options;
        options.institution_name = "Klinikum M\xc3\xbcnchen";  // UTF-8, as the configuration gives it
        options.station_ae_title = "MODICNODE";
        for (const auto& sr_case : sr_cases()) {
            WrittenCase written;
            written.study = make_source_study(spider_case(sr_case.spider), folder_->path() / sr_case.name, sr_case.text,
                                              sr_case.series_number_t2);
            written.findings = sr_case.findings(written.study);
            written.sr = folder_->path() / (sr_case.name + "-sr.dcm");
            written.written = core::write_structured_report(written.findings, written.study, options, written.sr);
            cases_[sr_case.name] = std::move(written);
        }
        if (const char* keep = std::getenv("MODIC_KEEP_SR_DIR")) {  // for looking at them by hand
            fs::create_directories(keep);
            for (const auto& [name, written] : cases_)
                fs::copy_file(written.sr, fs::path(keep) / written.sr.filename(), fs::copy_options::overwrite_existing);
        }
    }
    static void TearDownTestSuite() {
        cases_.clear();
        folder_.reset();
    }
    static const WrittenCase& sr(const std::string& name) { return cases_.at(name); }

    static std::unique_ptr<TempDir> folder_;
    static std::map<std::string, WrittenCase> cases_;
};
std::unique_ptr<TempDir> SrWriterTest::folder_;
std::map<std::string, WrittenCase> SrWriterTest::cases_;

TEST_F(SrWriterTest, DciodvfyReportsNoErrors) {
    for (const auto& sr_case : sr_cases()) {
        const auto errors = dciodvfy_errors(sr(sr_case.name).sr);
        std::string joined;
        for (const auto& error : errors) joined += error + "\n";
        EXPECT_TRUE(errors.empty()) << sr_case.name << ":\n" << joined;
    }
}

}  // namespace
}  // namespace modic::test
