#include "sr_test_support.hpp"

#include <array>
#include <cstdio>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcdeftag.h"
#include "dcmtk/dcmdata/dcfilefo.h"

namespace modic::test {
namespace fs = std::filesystem;

TempDir::TempDir(const std::string& prefix) {
    std::random_device random;
    path_ = fs::temp_directory_path() / (prefix + "-" + std::to_string(random()) + std::to_string(random()));
    fs::create_directories(path_);
}

TempDir::~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
}

fs::path spider_case(const std::string& name) {
    const char* shared = std::getenv("MODIC_SHARED_DIR");
    const fs::path root = shared ? fs::path(shared) : fs::path(MODIC_SHARED_DIR_DEFAULT);
    return root / "data" / "spider-dev" / name;
}

namespace {

std::string text_of(DcmItem& item, const DcmTagKey& tag) {
    OFString value;
    item.findAndGetOFString(tag, value);
    return value.c_str();
}

void put(DcmItem& item, const DcmTagKey& tag, const std::string& value) {
    if (item.putAndInsertString(tag, value.c_str()).bad())
        throw std::runtime_error("cannot set " + std::string(DcmTag(tag).getTagName()));
}

core::SourceInstance rewrite_copy(const fs::path& from, const fs::path& to, const SourceText& text,
                                  int series_number) {
    DcmFileFormat file;
    if (file.loadFile(from.c_str()).bad()) throw std::runtime_error("cannot read " + from.string());
    DcmDataset& data = *file.getDataset();
    if (text.specific_character_set.empty())
        data.findAndDeleteElement(DCM_SpecificCharacterSet);
    else
        put(data, DCM_SpecificCharacterSet, text.specific_character_set);
    put(data, DCM_PatientName, text.patient_name);
    put(data, DCM_ReferringPhysicianName, text.referring_physician);
    if (series_number > 0) put(data, DCM_SeriesNumber, std::to_string(series_number));
    if (file.saveFile(to.c_str(), EXS_LittleEndianExplicit).bad())
        throw std::runtime_error("cannot write " + to.string());

    core::SourceInstance instance;
    instance.file = to;
    instance.study_instance_uid = text_of(data, DCM_StudyInstanceUID);
    instance.series_instance_uid = text_of(data, DCM_SeriesInstanceUID);
    instance.sop_instance_uid = text_of(data, DCM_SOPInstanceUID);
    instance.sop_class_uid = text_of(data, DCM_SOPClassUID);
    instance.patient_id = text_of(data, DCM_PatientID);
    instance.series_number = std::stoi(text_of(data, DCM_SeriesNumber));
    return instance;
}

core::Evidence outline_on(const core::SourceInstance& instance, double column, double row) {
    core::Evidence evidence;
    evidence.series_role = "t2";
    evidence.sop_instance_uid = instance.sop_instance_uid;
    evidence.outline_px = {{column, row}, {column + 24.5, row}, {column + 24.5, row + 6.25}, {column, row + 6.25}};
    return evidence;
}

core::Findings analysed_base(const std::vector<core::SourceInstance>& study) {
    core::Findings findings;
    findings.study_instance_uid = study.front().study_instance_uid;
    findings.status = core::AnalysisStatus::Analyzed;
    findings.series.t1 = instance_named(study, "t1").series_instance_uid;
    findings.series.t2 = instance_named(study, "t2").series_instance_uid;
    for (const auto& label : core::kVertebraLabels) {
        if (label == "T12") continue;
        findings.vertebrae.push_back({std::string(label), {0.0, 0.0, 0.0}});
        for (auto side : {core::EndplateSide::Superior, core::EndplateSide::Inferior}) {
            if (label == "S1" && side == core::EndplateSide::Inferior) continue;
            if (label == "L1" && side == core::EndplateSide::Superior) continue;
            core::EndplateFinding endplate;
            endplate.vertebra = std::string(label);
            endplate.side = side;
            endplate.confidence = 0.9;
            findings.endplates.push_back(endplate);
        }
    }
    for (const auto& level : core::kDiscLevels)
        if (level != "T12/L1") findings.levels.push_back({std::string(level), core::ModicType::None, 0.85});
    return findings;
}

core::EndplateFinding& endplate(core::Findings& findings, const std::string& vertebra, core::EndplateSide side) {
    for (auto& found : findings.endplates)
        if (found.vertebra == vertebra && found.side == side) return found;
    throw std::logic_error("no endplate " + vertebra);
}

core::LevelFinding& level(core::Findings& findings, const std::string& name) {
    for (auto& found : findings.levels)
        if (found.disc_level == name) return found;
    throw std::logic_error("no level " + name);
}

}  // namespace

std::vector<core::SourceInstance> make_source_study(const fs::path& spider_folder, const fs::path& folder,
                                                    const SourceText& text, int series_number_t2) {
    fs::create_directories(folder);
    return {rewrite_copy(spider_folder / "t1.dcm", folder / "t1.dcm", text, 0),
            rewrite_copy(spider_folder / "t2.dcm", folder / "t2.dcm", text, series_number_t2)};
}

const core::SourceInstance& instance_named(const std::vector<core::SourceInstance>& study,
                                           const std::string& file_stem) {
    for (const auto& instance : study)
        if (instance.file.stem() == file_stem) return instance;
    throw std::logic_error("no instance " + file_stem);
}

core::Findings findings_with_changes(const std::vector<core::SourceInstance>& study) {
    auto findings = analysed_base(study);
    const auto& t2 = instance_named(study, "t2");
    auto& l4 = endplate(findings, "L4", core::EndplateSide::Inferior);
    l4.modic_type = core::ModicType::Type1;
    l4.confidence = 0.82;
    l4.depth_fraction = 0.30;
    l4.extent_fraction = 0.60;
    l4.volume_ml = 1.25;
    l4.evidence = outline_on(t2, 200.5, 310.0);
    auto& l5 = endplate(findings, "L5", core::EndplateSide::Superior);
    l5.modic_type = core::ModicType::Type1;
    l5.confidence = 0.77;
    l5.depth_fraction = 0.25;
    l5.extent_fraction = 0.40;
    l5.volume_ml = 0.8;
    l5.evidence = outline_on(t2, 202.0, 330.5);
    auto& s1 = endplate(findings, "S1", core::EndplateSide::Superior);
    s1.modic_type = core::ModicType::Type2_3;
    s1.confidence = 0.64;
    s1.depth_fraction = 0.12;
    s1.extent_fraction = 0.35;
    s1.volume_ml = 0.4;
    s1.evidence = outline_on(t2, 210.0, 380.0);
    level(findings, "L4/L5") = {"L4/L5", core::ModicType::Type1, 0.8};
    level(findings, "L5/S1") = {"L5/S1", core::ModicType::Type2_3, 0.6};
    return findings;
}

core::Findings normal_findings(const std::vector<core::SourceInstance>& study) { return analysed_base(study); }

core::Findings not_analysable_findings(const std::vector<core::SourceInstance>& study) {
    core::Findings findings;
    findings.study_instance_uid = study.front().study_instance_uid;
    findings.status = core::AnalysisStatus::NotAnalyzable;
    findings.reason = "no sagittal T2 or STIR series";
    return findings;
}

ProcessResult run_process(const std::string& command_line) {
    ProcessResult result;
    FILE* pipe = popen((command_line + " 2>&1").c_str(), "r");
    if (!pipe) throw std::runtime_error("cannot start: " + command_line);
    std::array<char, 4096> buffer{};
    std::size_t read = 0;
    while ((read = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), read);
    const int status = pclose(pipe);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return result;
}

std::vector<std::string> dciodvfy_errors(const fs::path& file) {
    const auto result = run_process("dciodvfy '" + file.string() + "'");
    std::vector<std::string> errors;
    std::istringstream lines(result.output);
    for (std::string line; std::getline(lines, line);)
        if (line.rfind("Error", 0) == 0) errors.push_back(line);
    return errors;
}

std::string raw_string(const fs::path& file, unsigned group, unsigned element) {
    DcmFileFormat format;
    if (format.loadFile(file.c_str()).bad()) throw std::runtime_error("cannot read " + file.string());
    const char* value = nullptr;
    Uint32 length = 0;
    if (format.getDataset()->findAndGetString(DcmTagKey(group, element), value, length).bad() || !value) return {};
    return std::string(value, length);
}

}  // namespace modic::test
