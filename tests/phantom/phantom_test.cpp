// modic-phantom: determinism, DICOM validity, and that truth.json tells the truth about the pixels.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <memory>
#include <set>

#include "anatomy.hpp"
#include "lesions.hpp"
#include "modic/core/findings.hpp"
#include "phantom_test_support.hpp"
#include "study.hpp"
#include "tissue.hpp"

namespace modic::phantom::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One labelled set shared by the truth tests: varied variants, two lesion-rich seeds' worth.
// MODIC_PHANTOM_TEST_SEED replaces the seed, to try the same checks on other studies by hand.
const fs::path& labelled_set() {
    static const fs::path set = [] {
        const char* env = std::getenv("MODIC_PHANTOM_TEST_SEED");
        const std::string seed = env && *env ? env : "2024";
        return shared_study_set("labelled_seed" + seed, "--seed " + seed + " --cases 6 --debug-labels");
    }();
    return set;
}

std::vector<fs::path> case_folders(const fs::path& set) {
    std::vector<fs::path> folders;
    for (const auto& entry : fs::directory_iterator(set))
        if (entry.is_directory() && entry.path().filename().string().rfind("case_", 0) == 0)
            folders.push_back(entry.path());
    std::sort(folders.begin(), folders.end());
    return folders;
}

std::string read_bytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint8_t vertebra_code(const std::string& label) {
    static const std::vector<std::string> labels = {"T10", "T11", "T12", "L1", "L2", "L3", "L4",
                                                    "L5",  "S1",  "S2",  "S3", "S4", "S5"};
    const auto it = std::find(labels.begin(), labels.end(), label);
    return it == labels.end() ? 0 : static_cast<std::uint8_t>(it - labels.begin() + 1);
}

std::vector<const DicomImage*> series_images(const std::vector<DicomImage>& images, const std::string& uid) {
    std::vector<const DicomImage*> out;
    for (const DicomImage& im : images)
        if (im.series_uid == uid) out.push_back(&im);
    return out;
}

// ------------------------------------------------------------------ determinism

TEST(PhantomDeterminism, SameSeedGivesTheSameBytes) {
    const fs::path a = fresh_temp_dir("det_a"), b = fresh_temp_dir("det_b");
    ASSERT_EQ(run_phantom("--out " + a.string() + " --seed 77 --cases 2"), 0);
    ASSERT_EQ(run_phantom("--out " + b.string() + " --seed 77 --cases 2"), 0);
    std::vector<fs::path> files;
    for (const auto& entry : fs::recursive_directory_iterator(a))
        if (entry.is_regular_file()) files.push_back(fs::relative(entry.path(), a));
    ASSERT_GT(files.size(), 6u);
    std::size_t count_b = 0;
    for (const auto& entry : fs::recursive_directory_iterator(b)) count_b += entry.is_regular_file();
    EXPECT_EQ(files.size(), count_b);
    for (const fs::path& f : files) EXPECT_EQ(read_bytes(a / f), read_bytes(b / f)) << f;
    fs::remove_all(a);
    fs::remove_all(b);
}

TEST(PhantomDeterminism, DifferentSeedsGiveDifferentStudies) {
    const fs::path a = fresh_temp_dir("seed_a"), b = fresh_temp_dir("seed_b");
    ASSERT_EQ(run_phantom("--out " + a.string() + " --seed 1 --cases 1 --single-slice"), 0);
    ASSERT_EQ(run_phantom("--out " + b.string() + " --seed 2 --cases 1 --single-slice"), 0);
    const json ta = read_json(a / "case_0001" / "truth.json"), tb = read_json(b / "case_0001" / "truth.json");
    EXPECT_NE(ta["study_instance_uid"], tb["study_instance_uid"]);
    EXPECT_NE(ta["vertebrae"], tb["vertebrae"]);
    fs::remove_all(a);
    fs::remove_all(b);
}

// The shortcut that answers far-from-bone points from the soft-tissue profile never changes the answer.
TEST(PhantomModel, CullingAgreesWithTheExhaustiveClassification) {
    for (int case_index = 1; case_index <= 4; ++case_index) {
        Rng master(case_seed(99, case_index));
        Rng plan_rng = master.fork(11), anatomy_rng = master.fork(12);
        const SpineModel model = SpineModel::build(anatomy_rng, plan_lesions(plan_rng));
        Rng points(case_index);
        int bone = 0;
        for (int i = 0; i < 60000; ++i) {
            const Vec3 p{points.uniform(-80, 80), points.uniform(-200, 200), points.uniform(-250, 250)};
            const Sample fast = model.classify(p), full = model.classify_exhaustive(p);
            ASSERT_EQ(fast.tissue, full.tissue) << p.x << " " << p.y << " " << p.z;
            ASSERT_EQ(fast.structure, full.structure);
            bone += is_marrow_like(full.tissue);
        }
        EXPECT_GT(bone, 100);  // the sample did reach the spine
    }
}

// ------------------------------------------------------------------ DICOM validity

class PhantomDciodvfy : public ::testing::Test {
protected:
    void SetUp() override {
        if (std::system("command -v dciodvfy > /dev/null 2>&1") != 0) GTEST_SKIP() << "dciodvfy not installed";
    }
    // Lines of dciodvfy's report that start with "Error".
    static std::vector<std::string> errors_for(const fs::path& file) {
        fs::path checked = file;
        const DicomImage im = read_dicom(file);
        fs::path inflated;
        if (im.transfer_syntax == "1.2.840.10008.1.2.1.99") {
            // dicom3tools cannot read deflated files: validate the same data set inflated by DCMTK.
            inflated = fs::temp_directory_path() / ("modic_phantom_inflated_" + std::to_string(::getpid()) + ".dcm");
            const std::string cmd = "dcmconv +te '" + file.string() + "' '" + inflated.string() + "'";
            if (std::system(cmd.c_str()) != 0) return {"Error - dcmconv could not inflate " + file.string()};
            checked = inflated;
        }
        std::vector<std::string> errors;
        const std::string cmd = "dciodvfy '" + checked.string() + "' 2>&1";
        std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(cmd.c_str(), "r"), pclose);
        char line[4096];
        while (pipe && fgets(line, sizeof line, pipe.get()))
            if (std::string(line).rfind("Error", 0) == 0) errors.push_back(line);
        if (!inflated.empty()) fs::remove(inflated);
        return errors;
    }
};

TEST_F(PhantomDciodvfy, ReportsNoErrorsOnEveryFileOfEveryTransferSyntax) {
    const fs::path dir = fresh_temp_dir("dciodvfy");
    int case_index = 1;
    for (const char* syntax : {"explicit", "implicit", "jpeg-lossless", "jpeg-ls", "rle", "deflate"}) {
        ASSERT_EQ(run_phantom("--out " + dir.string() + " --seed 40 --cases 1 --first-case " +
                              std::to_string(case_index) + " --single-slice --transfer-syntax " + syntax),
                  0);
        ++case_index;
    }
    // And a whole study with the drawn protocol (localizers, axial and post-contrast series).
    ASSERT_EQ(run_phantom("--out " + dir.string() + " --seed 31 --cases 1 --first-case 10 --multi-slice"), 0);
    int files = 0;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
        if (entry.path().extension() != ".dcm") continue;
        ++files;
        const auto errors = errors_for(entry.path());
        EXPECT_TRUE(errors.empty()) << entry.path() << ": " << (errors.empty() ? "" : errors.front());
    }
    EXPECT_GT(files, 20);
    fs::remove_all(dir);
}

// ------------------------------------------------------------------ truth.json against the pixels

TEST(PhantomTruth, ListsEveryEndplateAndTheSeriesRoles) {
    for (const fs::path& folder : case_folders(labelled_set())) {
        const json truth = read_json(folder / "truth.json");
        const std::vector<DicomImage> images = read_study(folder);
        std::set<std::string> series_uids;
        for (const DicomImage& im : images) series_uids.insert(im.series_uid);

        const json& endplates = truth["endplates"];
        ASSERT_EQ(endplates.size(), 11u) << folder;
        EXPECT_EQ(endplates.front()["vertebra"], "L1");
        EXPECT_EQ(endplates.front()["side"], "superior");
        EXPECT_EQ(endplates.back()["vertebra"], "S1");
        EXPECT_EQ(endplates.back()["side"], "superior");
        int changed = 0;
        for (const json& e : endplates) {
            const auto type = core::modic_type_from_string(e["modic_type"].get<std::string>());
            ASSERT_TRUE(type.has_value()) << e;
            if (*type != core::ModicType::None) {
                ++changed;
                EXPECT_GT(e["depth_fraction"].get<double>(), 0.0);
                EXPECT_GT(e["extent_fraction"].get<double>(), 0.0);
            }
        }
        EXPECT_LE(changed, 4);
        std::vector<std::string> labels;
        for (const json& v : truth["vertebrae"]) labels.push_back(v["label"]);
        EXPECT_EQ(labels, (std::vector<std::string>{"T12", "L1", "L2", "L3", "L4", "L5", "S1"}));

        const json& roles = truth["series"];
        EXPECT_TRUE(series_uids.count(roles["t1"].get<std::string>())) << folder;
        EXPECT_TRUE(series_uids.count(roles["t2"].get<std::string>())) << folder;
        if (!roles["stir"].is_null()) {
            EXPECT_TRUE(series_uids.count(roles["stir"].get<std::string>()));
        }
        std::size_t role_count = 2 + (roles["stir"].is_null() ? 0 : 1) + roles["ignore"].size();
        EXPECT_EQ(role_count, series_uids.size()) << "every series has exactly one role";
        for (const json& detail : truth["series_details"]) {
            if (detail["kind"] != "sag_t1_post") continue;
            for (const DicomImage* im : series_images(images, detail["series_instance_uid"])) {
                EXPECT_TRUE(im->has_contrast_agent && !im->contrast_agent.empty());
            }
        }
        const bool aligned = truth["variant"]["aligned"];
        const auto t1 = series_images(images, roles["t1"]), t2 = series_images(images, roles["t2"]);
        EXPECT_EQ(aligned, t1.front()->frame_uid == t2.front()->frame_uid) << folder;
        if (truth["variant"]["single_slice"]) {
            EXPECT_EQ(t1.size(), 1u);
            EXPECT_EQ(t2.size(), 1u);
        } else {
            EXPECT_GE(t1.size(), 11u);
            EXPECT_LE(t1.size(), 19u);
        }
    }
}

// Checks one series: the image nearest to each truth centre shows that vertebra's body there.
void expect_centres_in_bodies(const fs::path& folder, const std::vector<const DicomImage*>& series,
                              const json& vertebrae, const char* centre_key, const char* fov_key, int& checked) {
    for (const json& v : vertebrae) {
        if (!v[fov_key].get<bool>()) continue;
        const auto centre = v[centre_key].get<std::array<double, 3>>();
        const DicomImage* best = nullptr;
        std::array<double, 3> where{};
        for (const DicomImage* im : series) {
            const auto loc = im->locate(centre);
            if (!best || std::abs(loc[2]) < std::abs(where[2])) {
                best = im;
                where = loc;
            }
        }
        ASSERT_NE(best, nullptr);
        const int c = static_cast<int>(std::lround(where[0])), r = static_cast<int>(std::lround(where[1]));
        ASSERT_TRUE(c >= 0 && c < best->cols && r >= 0 && r < best->rows) << folder << " " << v;
        const auto labels = read_label_map(folder / "debug" / (best->sop_uid + ".pgm"), best->rows, best->cols);
        const std::uint16_t label = labels[static_cast<std::size_t>(r) * best->cols + c];
        EXPECT_EQ(label_structure(label), vertebra_code(v["label"])) << folder << " " << v;
        EXPECT_TRUE(is_marrow_like(label_tissue(label))) << folder << " " << v << " " << to_string(label_tissue(label));
        ++checked;
    }
}

TEST(PhantomTruth, EveryVertebraCentreLiesInsideThatVertebrasBody) {
    int checked = 0;
    for (const fs::path& folder : case_folders(labelled_set())) {
        const json truth = read_json(folder / "truth.json");
        const std::vector<DicomImage> images = read_study(folder);
        const auto t1 = series_images(images, truth["series"]["t1"]);
        const auto t2 = series_images(images, truth["series"]["t2"]);
        const bool aligned = truth["variant"]["aligned"];
        expect_centres_in_bodies(folder, t1, truth["vertebrae"], "center_mm", "in_t1_field_of_view", checked);
        expect_centres_in_bodies(folder, t2, truth["vertebrae"], aligned ? "center_mm" : "center_mm_t2",
                                 "in_t2_field_of_view", checked);
    }
    EXPECT_GT(checked, 40);
}

// Mean stored signal of a labelled region, from pixels whose 3x3 neighbourhood has the same label
// (so that partial volume with the cortex or a neighbouring region does not blur the comparison).
struct RegionMeans {
    std::map<Tissue, double> sum;
    std::map<Tissue, int> count;
    double mean(Tissue t) const { return count.count(t) ? sum.at(t) / count.at(t) : 0.0; }
    int n(Tissue t) const { return count.count(t) ? count.at(t) : 0; }
};

RegionMeans measure_vertebra(const fs::path& folder, const std::vector<const DicomImage*>& series, std::uint8_t code) {
    RegionMeans m;
    for (const DicomImage* im : series) {
        const auto labels = read_label_map(folder / "debug" / (im->sop_uid + ".pgm"), im->rows, im->cols);
        for (int r = 1; r + 1 < im->rows; ++r) {
            for (int c = 1; c + 1 < im->cols; ++c) {
                const std::uint16_t label = labels[static_cast<std::size_t>(r) * im->cols + c];
                if (label_structure(label) != code) continue;
                bool uniform = true;
                for (int dr = -1; dr <= 1 && uniform; ++dr)
                    for (int dc = -1; dc <= 1; ++dc)
                        uniform = uniform && labels[static_cast<std::size_t>(r + dr) * im->cols + c + dc] == label;
                if (!uniform) continue;
                const Tissue t = label_tissue(label);
                m.sum[t] += im->pixels[static_cast<std::size_t>(r) * im->cols + c];
                m.count[t] += 1;
            }
        }
    }
    return m;
}

std::vector<Tissue> parts_of(core::ModicType type) {
    switch (type) {
        case core::ModicType::Type1: return {Tissue::Modic1};
        case core::ModicType::Type2: return {Tissue::Modic2};
        case core::ModicType::Type3: return {Tissue::Modic3};
        case core::ModicType::Type1_2: return {Tissue::Modic1, Tissue::Modic2};
        case core::ModicType::Type2_3: return {Tissue::Modic2, Tissue::Modic3};
        case core::ModicType::None: return {};
    }
    return {};
}

TEST(PhantomTruth, EachPlantedLesionHasItsTypesContrastAgainstNormalMarrow) {
    int measured = 0;
    std::set<Tissue> kinds_seen;
    for (const fs::path& folder : case_folders(labelled_set())) {
        const json truth = read_json(folder / "truth.json");
        const std::vector<DicomImage> images = read_study(folder);
        const auto t1 = series_images(images, truth["series"]["t1"]);
        const auto t2 = series_images(images, truth["series"]["t2"]);
        const bool has_stir = !truth["series"]["stir"].is_null();
        const auto stir = has_stir ? series_images(images, truth["series"]["stir"]) : std::vector<const DicomImage*>{};
        for (const json& e : truth["endplates"]) {
            const auto type = *core::modic_type_from_string(e["modic_type"].get<std::string>());
            if (type == core::ModicType::None) continue;
            const std::uint8_t code = vertebra_code(e["vertebra"]);
            const RegionMeans m1 = measure_vertebra(folder, t1, code), m2 = measure_vertebra(folder, t2, code);
            const RegionMeans ms = has_stir ? measure_vertebra(folder, stir, code) : RegionMeans{};
            ASSERT_GT(m1.n(Tissue::Marrow), 30) << folder << " " << e;
            for (Tissue part : parts_of(type)) {
                // Every part of a planted change must be visible; thin ones may lack interior pixels.
                if (m1.n(part) < 8 || m2.n(part) < 8) {
                    ADD_FAILURE() << folder << " " << e << ": too few " << to_string(part) << " pixels ("
                                  << m1.n(part) << " on T1, " << m2.n(part) << " on T2)";
                    continue;
                }
                const double r1 = m1.mean(part) / m1.mean(Tissue::Marrow);
                const double r2 = m2.mean(part) / m2.mean(Tissue::Marrow);
                const std::string where = folder.filename().string() + " " + e.dump() + " " + std::string(to_string(part));
                switch (part) {
                    case Tissue::Modic1:  // T1 low, T2 high
                        EXPECT_LT(r1, 0.8) << where;
                        EXPECT_GT(r2, 1.2) << where;
                        break;
                    case Tissue::Modic2:  // T1 high, T2 iso to high
                        EXPECT_GT(r1, 1.1) << where;
                        EXPECT_GT(r2, 1.0) << where;
                        break;
                    case Tissue::Modic3:  // T1 and T2 low
                        EXPECT_LT(r1, 0.6) << where;
                        EXPECT_LT(r2, 0.6) << where;
                        break;
                    default: break;
                }
                // Fat-suppressed fluid-sensitive series: oedema bright, fat dark.
                if (has_stir && ms.n(part) >= 8 && ms.n(Tissue::Marrow) > 30) {
                    const double rs = ms.mean(part) / ms.mean(Tissue::Marrow);
                    if (part == Tissue::Modic1) {
                        EXPECT_GT(rs, 2.0) << where << " (STIR)";
                    }
                    if (part == Tissue::Modic2) {
                        EXPECT_LT(rs, 1.0) << where << " (STIR)";
                    }
                }
                std::cout << where << ": lesion/marrow T1 " << r1 << ", T2 " << r2 << "\n";
                ++measured;
                kinds_seen.insert(part);
            }
        }
    }
    EXPECT_GE(measured, 4) << "the labelled set must plant enough lesions to test";
    EXPECT_GE(kinds_seen.size(), 2u);
}

}  // namespace
}  // namespace modic::phantom::testing
