#include "phantom_test_support.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>

namespace modic::phantom::testing {
namespace fs = std::filesystem;

int run_phantom(const std::string& arguments) {
    const std::string command = std::string(MODIC_PHANTOM_EXE) + " --quiet " + arguments;
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

fs::path fresh_temp_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("modic_phantom_test_" + name + "_" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

fs::path shared_study_set(const std::string& name, const std::string& arguments) {
    // Keyed by the generator binary's size and time, so a rebuilt generator makes a fresh set.
    const fs::path exe(MODIC_PHANTOM_EXE);
    const auto stamp = fs::last_write_time(exe).time_since_epoch().count();
    const fs::path root = fs::path(MODIC_PHANTOM_FIXTURE_DIR);
    const fs::path target = root / (name + "_" + std::to_string(fs::file_size(exe)) + "_" + std::to_string(stamp));
    if (fs::exists(target / "complete")) return target;
    fs::create_directories(root);
    const fs::path staging = root / (name + ".staging." + std::to_string(::getpid()));
    fs::remove_all(staging);
    if (run_phantom("--out " + staging.string() + " " + arguments) != 0)
        throw std::runtime_error("modic-phantom failed for " + arguments);
    std::ofstream(staging / "complete") << arguments << "\n";
    std::error_code error;
    fs::rename(staging, target, error);  // another process may have won the race: use its set
    if (error) fs::remove_all(staging);
    if (!fs::exists(target / "complete")) throw std::runtime_error("no study set at " + target.string());
    // Sets made by earlier builds of the generator are stale: drop them so the build tree stays small.
    for (const auto& entry : fs::directory_iterator(root, error)) {
        const std::string file = entry.path().filename().string();
        if (file.rfind(name + "_", 0) == 0 && entry.path() != target) fs::remove_all(entry.path(), error);
    }
    return target;
}

namespace {

void register_decoders() {
    static bool done = false;
    if (done) return;
    DJDecoderRegistration::registerCodecs();
    DJLSDecoderRegistration::registerCodecs();
    DcmRLEDecoderRegistration::registerCodecs();
    done = true;
}

std::string text(DcmDataset& ds, const DcmTagKey& tag) {
    OFString value;
    ds.findAndGetOFStringArray(tag, value);
    return value.c_str();
}

double number(DcmDataset& ds, const DcmTagKey& tag, unsigned long index, double fallback) {
    Float64 value = 0;
    return ds.findAndGetFloat64(tag, value, index).good() ? value : fallback;
}

}  // namespace

std::array<double, 3> DicomImage::locate(const std::array<double, 3>& point) const {
    const std::array<double, 3> rel = {point[0] - position[0], point[1] - position[1], point[2] - position[2]};
    const std::array<double, 3> row = {orientation[0], orientation[1], orientation[2]};
    const std::array<double, 3> col = {orientation[3], orientation[4], orientation[5]};
    const std::array<double, 3> normal = {row[1] * col[2] - row[2] * col[1], row[2] * col[0] - row[0] * col[2],
                                          row[0] * col[1] - row[1] * col[0]};
    auto dot = [](const std::array<double, 3>& a, const std::array<double, 3>& b) {
        return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    };
    return {dot(rel, row) / spacing[1], dot(rel, col) / spacing[0], dot(rel, normal)};
}

DicomImage read_dicom(const fs::path& path) {
    register_decoders();
    DcmFileFormat file;
    if (file.loadFile(path.string().c_str()).bad()) throw std::runtime_error("cannot read " + path.string());
    DcmDataset& ds = *file.getDataset();
    DicomImage im;
    im.path = path;
    im.transfer_syntax = DcmXfer(ds.getOriginalXfer()).getXferID();
    im.sop_uid = text(ds, DCM_SOPInstanceUID);
    im.series_uid = text(ds, DCM_SeriesInstanceUID);
    im.frame_uid = text(ds, DCM_FrameOfReferenceUID);
    im.has_contrast_agent = ds.tagExists(DCM_ContrastBolusAgent);
    im.contrast_agent = text(ds, DCM_ContrastBolusAgent);
    Uint16 rows = 0, cols = 0;
    ds.findAndGetUint16(DCM_Rows, rows);
    ds.findAndGetUint16(DCM_Columns, cols);
    im.rows = rows;
    im.cols = cols;
    for (unsigned long i = 0; i < 3; ++i) im.position[i] = number(ds, DCM_ImagePositionPatient, i, 0);
    for (unsigned long i = 0; i < 6; ++i) im.orientation[i] = number(ds, DCM_ImageOrientationPatient, i, 0);
    for (unsigned long i = 0; i < 2; ++i) im.spacing[i] = number(ds, DCM_PixelSpacing, i, 1);
    im.thickness = number(ds, DCM_SliceThickness, 0, 0);
    im.slope = number(ds, DCM_RescaleSlope, 0, 1);
    im.intercept = number(ds, DCM_RescaleIntercept, 0, 0);
    if (ds.chooseRepresentation(EXS_LittleEndianExplicit, nullptr).bad())
        throw std::runtime_error("cannot decompress " + path.string());
    const Uint16* data = nullptr;
    unsigned long count = 0;
    if (ds.findAndGetUint16Array(DCM_PixelData, data, &count).bad() || count < static_cast<unsigned long>(rows) * cols)
        throw std::runtime_error("no pixel data in " + path.string());
    im.pixels.resize(static_cast<std::size_t>(rows) * cols);
    for (std::size_t i = 0; i < im.pixels.size(); ++i) im.pixels[i] = data[i] * im.slope + im.intercept;
    return im;
}

std::vector<DicomImage> read_study(const fs::path& folder) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(folder))
        if (entry.path().extension() == ".dcm") files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    std::vector<DicomImage> images;
    for (const fs::path& f : files) images.push_back(read_dicom(f));
    return images;
}

std::vector<std::uint16_t> read_label_map(const fs::path& path, int rows, int cols) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::string magic, line;
    in >> magic;
    in.get();
    while (in.peek() == '#') std::getline(in, line);
    int width = 0, height = 0, maxval = 0;
    in >> width >> height >> maxval;
    in.get();
    if (magic != "P5" || width != cols || height != rows || maxval != 65535)
        throw std::runtime_error("unexpected label map header in " + path.string());
    std::vector<std::uint16_t> labels(static_cast<std::size_t>(rows) * cols);
    for (auto& v : labels) {
        unsigned char bytes[2];
        in.read(reinterpret_cast<char*>(bytes), 2);
        v = static_cast<std::uint16_t>(bytes[0] << 8 | bytes[1]);
    }
    if (!in) throw std::runtime_error("short label map " + path.string());
    return labels;
}

nlohmann::json read_json(const fs::path& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    return nlohmann::json::parse(in);
}

}  // namespace modic::phantom::testing
