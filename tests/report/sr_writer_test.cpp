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
#include "dcmtk/dcmdata/dcuid.h"
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


// pixelmed's own main takes one file and a JVM start costs seconds: ValidateSrFiles.java runs
// its DicomSRValidator on every file in one JVM (java's source launcher compiles it). The JAXP
// limits must be lifted for its XSLT; the C1-only JIT halves the CPU time of this short run.
std::map<std::string, std::string> pixelmed_reports(const std::vector<fs::path>& files) {
    std::string command =
        "java -XX:TieredStopAtLevel=1 "
        "-Djdk.xml.xpathExprOpLimit=0 -Djdk.xml.xpathExprGrpLimit=0 -Djdk.xml.xpathTotalOpLimit=0 "
        "-cp /usr/share/java/pixelmed.jar '" MODIC_REPORT_TEST_DIR "/ValidateSrFiles.java'";
    for (const auto& file : files) command += " '" + file.string() + "'";
    const auto result = run_process(command);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    std::map<std::string, std::string> reports;
    std::string* current = nullptr;
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind("=== ", 0) == 0) {
            current = &reports[line.substr(4)];
            continue;
        }
        if (current) *current += line + "\n";
    }
    return reports;
}

std::vector<std::string> lines_starting(const std::string& text, const std::string& prefix) {
    std::vector<std::string> found;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind(prefix, 0) == 0) found.push_back(line);
    return found;
}

TEST_F(SrWriterTest, PixelmedFindsTid1500AndReportsNoErrors) {
    std::vector<fs::path> files;
    for (const auto& sr_case : sr_cases()) files.push_back(sr(sr_case.name).sr);
    const auto reports = pixelmed_reports(files);
    for (const auto& sr_case : sr_cases()) {
        const auto found = reports.find(sr(sr_case.name).sr.string());
        ASSERT_NE(found, reports.end()) << "no pixelmed report for " << sr_case.name;
        const auto& report = found->second;
        EXPECT_NE(report.find("Found ComprehensiveSR IOD"), std::string::npos) << sr_case.name << ":\n" << report;
        EXPECT_NE(report.find("Found Root Template TID_1500"), std::string::npos) << sr_case.name << ":\n" << report;
        EXPECT_NE(report.find("IOD validation complete"), std::string::npos) << sr_case.name << ":\n" << report;
        EXPECT_TRUE(lines_starting(report, "Error").empty()) << sr_case.name << ":\n" << report;
    }
}

TEST_F(SrWriterTest, DsrdumpReadsEverySr) {
    for (const auto& sr_case : sr_cases()) {
        const auto result = run_process("dsrdump '" + sr(sr_case.name).sr.string() + "'");
        EXPECT_EQ(result.exit_code, 0) << sr_case.name << ":\n" << result.output;
        EXPECT_NE(result.output.find("Comprehensive SR Document"), std::string::npos) << result.output;
        EXPECT_NE(result.output.find("Imaging Measurement Report"), std::string::npos) << result.output;
        EXPECT_TRUE(lines_starting(result.output, "E:").empty()) << sr_case.name << ":\n" << result.output;
        // DCMTK 3.6.7 warns that its VR checker does not know ISO 2022 IR 87 and ISO_IR 192 (the
        // same for the source images); any other warning is ours.
        for (const auto& warning : lines_starting(result.output, "W:"))
            EXPECT_TRUE(warning.find("Character Set") != std::string::npos ||
                        warning.find("SpecificCharacterSet") != std::string::npos)
                << sr_case.name << ": " << warning;
    }
}

const ReadGroup* group_tracked(const ReadSr& read, const std::string& tracking_id) {
    for (const auto& group : read.groups)
        if (group.tracking_id == tracking_id) return &group;
    return nullptr;
}

std::string tracking_id_of(const core::EndplateFinding& endplate) {
    return endplate.vertebra + " " + std::string(core::to_string(endplate.side)) + " endplate";
}

// The SR's code of a Modic type, read back to the findings' spelling ("1", "2/3").
std::string type_from_finding_code(const Code& code) {
    if (code.scheme != "99MODIC" || code.value.rfind("MC", 0) != 0) return "?";
    std::string type = code.value.substr(2);
    std::replace(type.begin(), type.end(), '-', '/');
    return type;
}

TEST_F(SrWriterTest, ReadBackRecoversEveryChangedEndplate) {
    for (const char* name : {"changes", "latin1", "iso2022_japanese", "utf8"}) {
        const auto& written = sr(name);
        const auto read = read_sr(written.sr);
        std::size_t changed = 0;
        for (const auto& endplate : written.findings.endplates) {
            if (endplate.modic_type == core::ModicType::None) continue;
            ++changed;
            const auto* group = group_tracked(read, tracking_id_of(endplate));
            ASSERT_NE(group, nullptr) << name << ": no group for " << tracking_id_of(endplate);
            EXPECT_EQ(type_from_finding_code(group->finding), core::to_string(endplate.modic_type));
            EXPECT_EQ(group->site.scheme, "SCT");
            ASSERT_TRUE(group->site_modifier.has_value());
            EXPECT_EQ(group->site_modifier->meaning,
                      endplate.side == core::EndplateSide::Superior ? "Superior" : "Inferior");
            EXPECT_NEAR(group->numbers.at("MCDEPTH").value, endplate.depth_fraction * 100.0, 1e-6);
            EXPECT_NEAR(group->numbers.at("MCEXTENT").value, endplate.extent_fraction * 100.0, 1e-6);
            EXPECT_NEAR(group->numbers.at("118565006").value, endplate.volume_ml, 1e-6);
            EXPECT_NEAR(group->numbers.at("111012").value, endplate.confidence * 100.0, 1e-6);
            EXPECT_EQ(group->numbers.at("MCDEPTH").unit, (Code{"%", "UCUM", "percent"}));
            EXPECT_EQ(group->numbers.at("118565006").unit, (Code{"ml", "UCUM", "milliliter"}));
            EXPECT_FALSE(group->tracking_uid.empty());
            EXPECT_EQ(group->texts.at("111001"), std::string(core::kProductName));
            EXPECT_EQ(group->texts.at("111003"), std::string(core::kVersion));

            const auto& evidence = *endplate.evidence;
            EXPECT_EQ(group->outline_graphic_type, "POLYLINE");
            EXPECT_EQ(group->outline_sop_instance_uid, evidence.sop_instance_uid);
            EXPECT_EQ(group->outline_sop_class_uid, instance_named(written.study, "t2").sop_class_uid);
            // Closed: the first point comes again last.
            ASSERT_EQ(group->outline.size(), evidence.outline_px.size() + 1);
            for (std::size_t i = 0; i < evidence.outline_px.size(); ++i) {
                EXPECT_FLOAT_EQ(group->outline[i][0], static_cast<float>(evidence.outline_px[i][0]));
                EXPECT_FLOAT_EQ(group->outline[i][1], static_cast<float>(evidence.outline_px[i][1]));
            }
            EXPECT_EQ(group->outline.back(), group->outline.front());
        }
        EXPECT_EQ(changed, 3u);
    }
}

TEST_F(SrWriterTest, CodesTheSitesOfTheChangedEndplates) {
    const auto read = read_sr(sr("changes").sr);
    EXPECT_EQ(group_tracked(read, "L4 inferior endplate")->site, (Code{"11994002", "SCT", "Fourth lumbar vertebra"}));
    EXPECT_EQ(group_tracked(read, "L5 superior endplate")->site, (Code{"49668003", "SCT", "Fifth lumbar vertebra"}));
    EXPECT_EQ(group_tracked(read, "S1 superior endplate")->site, (Code{"54735007", "SCT", "Sacrum"}));
    EXPECT_EQ(group_tracked(read, "L4 inferior endplate")->finding, (Code{"MC1", "99MODIC", "Modic type 1 change"}));
    EXPECT_EQ(group_tracked(read, "S1 superior endplate")->finding, (Code{"MC2-3", "99MODIC", "Modic type 2/3 change"}));
}

TEST_F(SrWriterTest, StatesEveryUnchangedLevelAsAbsent) {
    const std::map<std::string, std::string> disc_codes = {
        {"L1/L2", "243920003"}, {"L2/L3", "243921004"}, {"L3/L4", "243922006"},
        {"L4/L5", "243923001"}, {"L5/S1", "243927000"}};
    const auto normal = read_sr(sr("normal").sr);
    EXPECT_EQ(normal.groups.size(), 5u);
    for (const auto& [level, code] : disc_codes) {
        const auto* group = group_tracked(normal, level + " disc level");
        ASSERT_NE(group, nullptr) << level;
        EXPECT_EQ(group->site.value, code);
        EXPECT_EQ(group->site.scheme, "SCT");
        EXPECT_EQ(group->finding, (Code{"MC", "99MODIC", "Modic change"}));
        EXPECT_EQ(group->evaluations.at("MC"), (Code{"2667000", "SCT", "Absent"}));
        EXPECT_NEAR(group->numbers.at("111012").value, 85.0, 1e-6);
    }
    // With changes at L4/L5 and L5/S1, only L1/L2..L3/L4 are stated absent.
    const auto changes = read_sr(sr("changes").sr);
    EXPECT_NE(group_tracked(changes, "L3/L4 disc level"), nullptr);
    EXPECT_EQ(group_tracked(changes, "L4/L5 disc level"), nullptr);
    EXPECT_EQ(group_tracked(changes, "L5/S1 disc level"), nullptr);
    EXPECT_EQ(changes.groups.size(), 6u);
}

TEST_F(SrWriterTest, CarriesTheNarrativeAsText) {
    for (const auto& sr_case : sr_cases()) {
        const auto read = read_sr(sr(sr_case.name).sr);
        EXPECT_EQ(read.report_texts.at("111412"), core::report::narrative_summary(sr(sr_case.name).findings));
        EXPECT_EQ(read.document_title, (Code{"126000", "DCM", "Imaging Measurement Report"}));
        ASSERT_EQ(read.procedures.size(), 1u);
        EXPECT_EQ(read.procedures[0].scheme, "LN");
    }
}

TEST_F(SrWriterTest, NotAnalysableStudySaysSoAndWhy) {
    const auto read = read_sr(sr("not_analysable").sr);
    EXPECT_TRUE(read.groups.empty());
    EXPECT_EQ(read.report_codes.at("MCANALYSIS"), (Code{"MCNOTANALYSED", "99MODIC", "Study not analysed"}));
    EXPECT_EQ(read.report_texts.at("MCREASON"), "no sagittal T2 or STIR series");
    EXPECT_EQ(read.report_texts.at("111412"), "Not analysed: no sagittal T2 or STIR series.");
}

TEST_F(SrWriterTest, KeepsThePatientAndStudyTextBytesOfTheSource) {
    for (const auto& sr_case : sr_cases()) {
        const auto& written = sr(sr_case.name);
        const auto source = instance_named(written.study, "t1").file;
        for (const auto& [group, element] : std::vector<std::pair<unsigned, unsigned>>{
                 {0x0008, 0x0005}, {0x0010, 0x0010}, {0x0008, 0x0090}, {0x0010, 0x0020}, {0x0008, 0x0050},
                 {0x0020, 0x000D}, {0x0008, 0x0020}, {0x0020, 0x0010}, {0x0010, 0x0040}})
            EXPECT_EQ(raw_string(written.sr, group, element), raw_string(source, group, element))
                << sr_case.name << std::hex << " (" << group << "," << element << ")";
        EXPECT_EQ(raw_string(written.sr, 0x0010, 0x0010), sr_case.text.patient_name) << sr_case.name;
        EXPECT_EQ(raw_string(written.sr, 0x0008, 0x0005), sr_case.text.specific_character_set) << sr_case.name;
    }
}

// Reads one attribute of the SR as DCMTK sees it (value 0), "" when absent.
std::string attribute(const fs::path& file, const DcmTagKey& tag) {
    DcmFileFormat format;
    if (format.loadFile(file.c_str()).bad()) return "<unreadable>";
    OFString value;
    format.getDataset()->findAndGetOFString(tag, value, 0, OFTrue /*search into sequences*/);
    return value.c_str();
}

std::set<std::string> evidence_uids(const fs::path& file) {
    DcmFileFormat format;
    format.loadFile(file.c_str());
    std::set<std::string> uids;
    DcmItem* study = nullptr;
    for (long s = 0; format.getDataset()->findAndGetSequenceItem(DCM_CurrentRequestedProcedureEvidenceSequence,
                                                                 study, s).good(); ++s) {
        DcmItem* series = nullptr;
        for (long r = 0; study->findAndGetSequenceItem(DCM_ReferencedSeriesSequence, series, r).good(); ++r) {
            DcmItem* instance = nullptr;
            for (long i = 0; series->findAndGetSequenceItem(DCM_ReferencedSOPSequence, instance, i).good(); ++i) {
                OFString uid;
                instance->findAndGetOFString(DCM_ReferencedSOPInstanceUID, uid);
                uids.insert(uid.c_str());
            }
        }
    }
    return uids;
}

TEST_F(SrWriterTest, WritesANewComprehensiveSrSeriesOfTheSourceStudy) {
    for (const auto& sr_case : sr_cases()) {
        const auto& written = sr(sr_case.name);
        const auto& file = written.sr;
        EXPECT_EQ(attribute(file, DCM_SOPClassUID), UID_ComprehensiveSRStorage);
        EXPECT_EQ(attribute(file, DCM_Modality), "SR");
        EXPECT_EQ(attribute(file, DCM_SeriesDescription), "Modic changes (AI)");
        EXPECT_EQ(attribute(file, DCM_CompletionFlag), "COMPLETE");
        EXPECT_EQ(attribute(file, DCM_VerificationFlag), "UNVERIFIED");
        EXPECT_EQ(attribute(file, DCM_Manufacturer), std::string(core::kProductName));
        EXPECT_FALSE(attribute(file, DCM_ContentDate).empty());
        EXPECT_FALSE(attribute(file, DCM_ContentTime).empty());
        EXPECT_EQ(attribute(file, DCM_StudyInstanceUID), written.study.front().study_instance_uid);
        EXPECT_EQ(attribute(file, DCM_SeriesInstanceUID), written.written.series_instance_uid);
        EXPECT_EQ(attribute(file, DCM_SOPInstanceUID), written.written.sop_instance_uid);
        for (const auto& instance : written.study) {
            EXPECT_NE(written.written.series_instance_uid, instance.series_instance_uid);
            EXPECT_NE(std::to_string(instance.series_number), attribute(file, DCM_SeriesNumber)) << sr_case.name;
        }
        // Every instance of the series used (or examined, when none was chosen) is evidence.
        std::set<std::string> expected;
        for (const auto& instance : written.study) expected.insert(instance.sop_instance_uid);
        EXPECT_EQ(evidence_uids(file), expected) << sr_case.name;
        EXPECT_EQ(attribute(file, DCM_CodingSchemeDesignator), "99MODIC");  // first item of (0008,0110)
    }
    EXPECT_EQ(attribute(sr("changes").sr, DCM_SeriesNumber), "9901");
    EXPECT_EQ(attribute(sr("utf8").sr, DCM_SeriesNumber), "9902");  // its t2 is series 9901
}

TEST_F(SrWriterTest, NamesModicNodeAsContributingEquipment) {
    const auto& file = sr("latin1").sr;
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(file.c_str()).good());
    DcmItem* equipment = nullptr;
    ASSERT_TRUE(format.getDataset()->findAndGetSequenceItem(DCM_ContributingEquipmentSequence, equipment, 0).good());
    OFString value;
    equipment->findAndGetOFString(DCM_Manufacturer, value);
    EXPECT_EQ(value, core::kProductName.data());
    equipment->findAndGetOFString(DCM_SoftwareVersions, value);
    EXPECT_EQ(value, core::kVersion.data());
    equipment->findAndGetOFString(DCM_StationName, value);
    EXPECT_EQ(value, "MODICNODE");
    DcmItem* purpose = nullptr;
    ASSERT_TRUE(equipment->findAndGetSequenceItem(DCM_PurposeOfReferenceCodeSequence, purpose, 0).good());
    purpose->findAndGetOFString(DCM_CodeValue, value);
    EXPECT_EQ(value, "109102");
    // The UTF-8 institution name from the configuration, in the source's Latin-1.
    EXPECT_EQ(raw_string(file, 0x0008, 0x0080), "Klinikum M\xfcnchen");
    EXPECT_EQ(raw_string(sr("utf8").sr, 0x0008, 0x0080), "Klinikum M\xc3\xbcnchen");
}

TEST_F(SrWriterTest, ReusesTheSeriesOfAnEarlierReportAndNamesItsPredecessor) {
    const auto& first = sr("changes");
    core::SrOptions options;
    options.series_instance_uid = first.written.series_instance_uid;
    options.predecessor = core::PredecessorSr{first.study.front().study_instance_uid, first.written.series_instance_uid,
                                              UID_ComprehensiveSRStorage, first.written.sop_instance_uid};
    const auto output = folder_->path() / "changes-second-sr.dcm";
    const auto second = core::write_structured_report(first.findings, first.study, options, output);

    EXPECT_EQ(second.series_instance_uid, first.written.series_instance_uid);
    EXPECT_NE(second.sop_instance_uid, first.written.sop_instance_uid);
    EXPECT_EQ(attribute(output, DCM_SeriesNumber), attribute(first.sr, DCM_SeriesNumber));
    DcmFileFormat format;
    ASSERT_TRUE(format.loadFile(output.c_str()).good());
    DcmItem* study = nullptr;
    ASSERT_TRUE(format.getDataset()->findAndGetSequenceItem(DCM_PredecessorDocumentsSequence, study, 0).good());
    OFString uid;
    study->findAndGetOFString(DCM_ReferencedSOPInstanceUID, uid, 0, OFTrue);
    EXPECT_EQ(uid, first.written.sop_instance_uid.c_str());
    EXPECT_TRUE(dciodvfy_errors(output).empty());
}

TEST_F(SrWriterTest, RefusesEvidenceOnAnImageOutsideTheStudy) {
    const auto& written = sr("changes");
    auto findings = written.findings;
    for (auto& endplate : findings.endplates)
        if (endplate.evidence) endplate.evidence->sop_instance_uid = "1.2.3.4.5.6.7.8.9";
    const auto output = folder_->path() / "refused-sr.dcm";
    try {
        core::write_structured_report(findings, written.study, {}, output);
        FAIL() << "an SR was written with evidence outside the study";
    } catch (const std::runtime_error& error) {
        EXPECT_NE(std::string(error.what()).find("1.2.3.4.5.6.7.8.9"), std::string::npos) << error.what();
    }
    EXPECT_FALSE(fs::exists(output));
}

TEST_F(SrWriterTest, RefusesAStudyWithoutInstances) {
    const auto& written = sr("changes");
    EXPECT_THROW(core::write_structured_report(written.findings, {}, {}, folder_->path() / "empty-sr.dcm"),
                 std::runtime_error);
}

TEST_F(SrWriterTest, CodesThoracicSitesInThePrivateScheme) {
    const auto& written = sr("changes");
    auto findings = written.findings;
    core::EndplateFinding t12;
    t12.vertebra = "T12";
    t12.side = core::EndplateSide::Inferior;
    t12.modic_type = core::ModicType::Type2;
    t12.confidence = 0.7;
    t12.depth_fraction = 0.2;
    t12.extent_fraction = 0.5;
    t12.volume_ml = 0.3;
    t12.evidence = findings.endplates.front().evidence;  // none: L1's superior endplate is unchanged
    findings.endplates.push_back(t12);
    findings.levels.insert(findings.levels.begin(), {"T12/L1", core::ModicType::Type2, 0.7});
    const auto output = folder_->path() / "t12-sr.dcm";
    core::write_structured_report(findings, written.study, {}, output);

    const auto read = read_sr(output);
    const auto* group = group_tracked(read, "T12 inferior endplate");
    ASSERT_NE(group, nullptr);
    EXPECT_EQ(group->site, (Code{"T12", "99MODIC", "Twelfth thoracic vertebra"}));
    EXPECT_EQ(group->finding, (Code{"MC2", "99MODIC", "Modic type 2 change"}));
    EXPECT_TRUE(group->outline.empty());
    EXPECT_TRUE(dciodvfy_errors(output).empty());
}

TEST_F(SrWriterTest, ReportsALevelTypeThatHasNoEndplateDetail) {
    const auto& written = sr("normal");
    auto findings = written.findings;
    for (auto& level : findings.levels)
        if (level.disc_level == "L2/L3") level = {"L2/L3", core::ModicType::Type2, 0.66};
    const auto output = folder_->path() / "level-only-sr.dcm";
    core::write_structured_report(findings, written.study, {}, output);

    const auto read = read_sr(output);
    const auto* group = group_tracked(read, "L2/L3 disc level");
    ASSERT_NE(group, nullptr);
    EXPECT_EQ(group->finding, (Code{"MC2", "99MODIC", "Modic type 2 change"}));
    EXPECT_EQ(group->site.value, "243921004");
    EXPECT_TRUE(group->evaluations.empty());
    EXPECT_NEAR(group->numbers.at("111012").value, 66.0, 1e-6);
    EXPECT_EQ(read.groups.size(), 5u);
    EXPECT_TRUE(dciodvfy_errors(output).empty());
}

}  // namespace
}  // namespace modic::test
