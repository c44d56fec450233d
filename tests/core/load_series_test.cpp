#include "image/load_series.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "dicom_test_files.hpp"

namespace modic::core {
namespace {

namespace fs = std::filesystem;
using test::SyntheticMr;
using test::TempDir;

SourceInstance source_of(const fs::path& file, const SyntheticMr& mr) {
    return {file, mr.study_uid, mr.series_uid,
            mr.series_uid + "." + std::to_string(mr.instance_number), mr.sop_class_uid,
            mr.patient_id, mr.series_number};
}

std::vector<SourceInstance> sources_of(const std::vector<fs::path>& files) {
    std::vector<SourceInstance> sources;
    for (const auto& file : files) sources.push_back({file, "", "", "", "", "", 0});
    return sources;
}

float voxel(const SeriesVolume& volume, long column, long row, long slice) {
    return volume.image->GetPixel({{column, row, slice}});
}

TEST(LoadSeries, OneSliceTakesItsThicknessAsSpacing) {
    TempDir dir;
    SyntheticMr mr;
    mr.slice_thickness_mm = 3.5;
    write_mr(mr, dir / "only.dcm");
    const auto loaded = load_series({source_of(dir / "only.dcm", mr)}, "t1");
    ASSERT_TRUE(loaded.volume.has_value()) << loaded.error;
    const auto& volume = *loaded.volume;
    const auto size = volume.image->GetLargestPossibleRegion().GetSize();
    EXPECT_EQ(size[0], 5u);  // columns
    EXPECT_EQ(size[1], 6u);  // rows
    EXPECT_EQ(size[2], 1u);
    EXPECT_DOUBLE_EQ(volume.image->GetSpacing()[0], 0.7);
    EXPECT_DOUBLE_EQ(volume.image->GetSpacing()[1], 0.8);
    EXPECT_DOUBLE_EQ(volume.image->GetSpacing()[2], 3.5);
    EXPECT_DOUBLE_EQ(volume.image->GetOrigin()[1], -100);
    // Columns of the direction: row direction (+y), column direction (-z), normal (-x).
    const auto& direction = volume.image->GetDirection();
    EXPECT_DOUBLE_EQ(direction[1][0], 1);
    EXPECT_DOUBLE_EQ(direction[2][1], -1);
    EXPECT_DOUBLE_EQ(direction[0][2], -1);
    EXPECT_EQ(voxel(volume, 3, 2, 0), mr.stored_value(2, 3));
    EXPECT_EQ(volume.sop_instance_uids, std::vector<std::string>{mr.series_uid + ".1"});
    EXPECT_EQ(volume.role, "t1");
    EXPECT_EQ(volume.series_instance_uid, mr.series_uid);
    EXPECT_DOUBLE_EQ(volume.slice_thickness_mm, 3.5);
}

TEST(LoadSeries, SlicesAreOrderedAlongTheNormalWithSpacingFromPositions) {
    TempDir dir;
    SyntheticMr base;
    base.slice_thickness_mm = 3;  // thinner than the gap: the spacing must come from positions
    const auto files = test::write_sagittal_series(base, {2, 0, 3, 1}, 4.4, dir.path());
    const auto loaded = load_series(sources_of(files), "t2");
    ASSERT_TRUE(loaded.volume.has_value()) << loaded.error;
    const auto& volume = *loaded.volume;
    EXPECT_EQ(volume.image->GetLargestPossibleRegion().GetSize()[2], 4u);
    EXPECT_NEAR(volume.image->GetSpacing()[2], 4.4, 1e-9);
    // The normal of IOP 0\1\0\0\0\-1 is -x: the first slice is the one furthest right (+x).
    EXPECT_NEAR(volume.image->GetOrigin()[0], 3 * 4.4, 1e-9);
    for (long k = 0; k < 4; ++k) {
        const int instance_number = 4 - static_cast<int>(k);
        EXPECT_EQ(volume.sop_instance_uids[k], base.series_uid + "." + std::to_string(instance_number));
        EXPECT_EQ(voxel(volume, 0, 0, k), 10.0f * instance_number);
    }
    // Index -> physical point follows the positions written in the files.
    itk::Point<double, 3> point;
    volume.image->TransformIndexToPhysicalPoint({{0, 0, 3}}, point);
    EXPECT_NEAR(point[0], 0.0, 1e-9);
    EXPECT_TRUE(loaded.warnings.empty());
}

// A 3-D series is read within 45 mm of its middle slice only (the analysis looks no further),
// the middle staying the middle: 31 slices 4 mm apart keep the middle one and 11 either side.
TEST(LoadSeries, SlicesFarFromTheMiddleAreNotRead) {
    TempDir dir;
    SyntheticMr base;
    std::vector<int> order(31);
    for (int i = 0; i < 31; ++i) order[i] = i;
    const auto files = test::write_sagittal_series(base, order, 4.0, dir.path());
    const auto whole = load_series(sources_of(files), "t1");
    ASSERT_TRUE(whole.volume.has_value()) << whole.error;
    const auto& volume = *whole.volume;
    EXPECT_EQ(volume.image->GetLargestPossibleRegion().GetSize()[2], 23u);
    // Ordered along the normal (-x), the 16th of 31 instances is the middle one.
    EXPECT_EQ(volume.sop_instance_uids[23 / 2], base.series_uid + ".16");
    EXPECT_NEAR(volume.image->GetSpacing()[2], 4.0, 1e-9);
    EXPECT_TRUE(whole.warnings.empty());
}

// A 3-D series' 0.9 mm slices are read every second one, from the middle slice out: 41 slices
// give 21, 1.8 mm apart, the middle one the middle.
TEST(LoadSeries, ThinSlicesAreReadEverySecondFromTheMiddle) {
    TempDir dir;
    SyntheticMr base;
    base.slice_thickness_mm = 0.9;
    std::vector<int> order(41);
    for (int i = 0; i < 41; ++i) order[i] = i;
    const auto files = test::write_sagittal_series(base, order, 0.9, dir.path());
    const auto loaded = load_series(sources_of(files), "t1");
    ASSERT_TRUE(loaded.volume.has_value()) << loaded.error;
    const auto& volume = *loaded.volume;
    EXPECT_EQ(volume.image->GetLargestPossibleRegion().GetSize()[2], 21u);
    EXPECT_EQ(volume.sop_instance_uids[21 / 2], base.series_uid + ".21");
    EXPECT_NEAR(volume.image->GetSpacing()[2], 1.8, 1e-9);
    EXPECT_DOUBLE_EQ(volume.slice_thickness_mm, 0.9) << "a change's volume still uses the slice's own thickness";
}

TEST(LoadSeries, RescaleSlopeAndInterceptAreApplied) {
    TempDir dir;
    SyntheticMr mr;
    mr.rescale_slope = 2.5;
    mr.rescale_intercept = -100;
    write_mr(mr, dir / "rescaled.dcm");
    const auto loaded = load_series({source_of(dir / "rescaled.dcm", mr)}, "t1");
    ASSERT_TRUE(loaded.volume.has_value()) << loaded.error;
    EXPECT_FLOAT_EQ(voxel(*loaded.volume, 4, 5, 0), mr.stored_value(5, 4) * 2.5f - 100);
}

TEST(LoadSeries, Monochrome1IsInverted) {
    TempDir dir;
    SyntheticMr mr;
    mr.photometric = "MONOCHROME1";
    write_mr(mr, dir / "inverted.dcm");
    const auto loaded = load_series({source_of(dir / "inverted.dcm", mr)}, "t1");
    ASSERT_TRUE(loaded.volume.has_value()) << loaded.error;
    EXPECT_EQ(voxel(*loaded.volume, 1, 1, 0), 4095 - mr.stored_value(1, 1));
}

TEST(LoadSeries, SignedPixelsAreSignExtendedFromBitsStored) {
    TempDir dir;
    SyntheticMr mr;
    mr.rows = 1;
    mr.columns = 3;
    mr.is_signed = true;
    // -5 and -2048 in 12 bits; the unused top bits hold noise that must be ignored.
    mr.pixels = {0x0ffb, 0xf800, 0x07ff};
    write_mr(mr, dir / "signed.dcm");
    const auto loaded = load_series({source_of(dir / "signed.dcm", mr)}, "t1");
    ASSERT_TRUE(loaded.volume.has_value()) << loaded.error;
    EXPECT_EQ(voxel(*loaded.volume, 0, 0, 0), -5);
    EXPECT_EQ(voxel(*loaded.volume, 1, 0, 0), -2048);
    EXPECT_EQ(voxel(*loaded.volume, 2, 0, 0), 2047);
}

TEST(LoadSeries, CompressedCopiesGiveTheSamePixels) {
    TempDir dir;
    const auto original = test::spider_dev_dir() / "spider_001" / "t1.dcm";
    test::write_compressed_copy(original, dir / "jpeg-ls.dcm", test::Compression::JpegLsLossless);
    test::write_compressed_copy(original, dir / "rle.dcm", test::Compression::Rle);
    const auto reference = load_series(sources_of({original}), "t1");
    ASSERT_TRUE(reference.volume.has_value()) << reference.error;
    const auto& expected = *reference.volume->image;
    const auto count = expected.GetLargestPossibleRegion().GetNumberOfPixels();
    EXPECT_EQ(count, 448u * 578u);
    for (const auto* name : {"jpeg-ls.dcm", "rle.dcm"}) {
        ASSERT_LT(fs::file_size(dir / name), fs::file_size(original)) << name << " is compressed";
        const auto loaded = load_series(sources_of({dir / name}), "t1");
        ASSERT_TRUE(loaded.volume.has_value()) << name << ": " << loaded.error;
        const auto& actual = *loaded.volume->image;
        ASSERT_EQ(actual.GetLargestPossibleRegion(), expected.GetLargestPossibleRegion());
        EXPECT_TRUE(std::equal(expected.GetBufferPointer(), expected.GetBufferPointer() + count,
                               actual.GetBufferPointer()))
            << name;
        EXPECT_EQ(actual.GetSpacing(), expected.GetSpacing());
    }
}

TEST(LoadSeries, ATruncatedFileIsNotLoadableAndTheErrorNamesInstanceAndFile) {
    TempDir dir;
    const auto original = test::spider_dev_dir() / "spider_001" / "t1.dcm";
    test::write_compressed_copy(original, dir / "jpeg-ls.dcm", test::Compression::JpegLsLossless);
    test::write_truncated_copy(original, dir / "cut.dcm", fs::file_size(original) / 2);
    test::write_truncated_copy(dir / "jpeg-ls.dcm", dir / "cut-jpeg-ls.dcm",
                               fs::file_size(dir / "jpeg-ls.dcm") * 2 / 3);
    for (const auto* name : {"cut.dcm", "cut-jpeg-ls.dcm"}) {
        SourceInstance source{dir / name, "", "", "1.2.3.4.5", "", "", 0};
        const auto loaded = load_series({source}, "t1");
        EXPECT_FALSE(loaded.volume.has_value()) << name;
        EXPECT_NE(loaded.error.find("pixel data of instance "), std::string::npos) << loaded.error;
        EXPECT_NE(loaded.error.find((dir / name).string() + " cannot be decoded: "),
                  std::string::npos)
            << loaded.error;
    }
}

TEST(LoadSeries, ACorruptCompressedStreamIsAnErrorNotACrash) {
    TempDir dir;
    const auto original = test::spider_dev_dir() / "spider_001" / "t1.dcm";
    test::write_compressed_copy(original, dir / "jpeg-ls.dcm", test::Compression::JpegLsLossless);
    // Overwrite the middle of the compressed stream, keeping the file's length and structure.
    const auto size = fs::file_size(dir / "jpeg-ls.dcm");
    {
        std::fstream stream(dir / "jpeg-ls.dcm", std::ios::in | std::ios::out | std::ios::binary);
        stream.seekp(static_cast<std::streamoff>(size / 2));
        const std::string garbage(2000, '\xff');
        stream.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    }
    SourceInstance source{dir / "jpeg-ls.dcm", "", "", "1.2.3.4.5", "", "", 0};
    const auto loaded = load_series({source}, "t1");
    EXPECT_FALSE(loaded.volume.has_value());
    EXPECT_NE(loaded.error.find("pixel data of instance"), std::string::npos) << loaded.error;
    EXPECT_NE(loaded.error.find("jpeg-ls.dcm cannot be decoded: "), std::string::npos)
        << loaded.error;
}

TEST(LoadSeries, SlicesOfAnotherMatrixOrOrientationAreSetAsideWithAWarning) {
    TempDir dir;
    SyntheticMr base;
    auto files = test::write_sagittal_series(base, {0, 1, 2}, 4, dir.path());
    SyntheticMr odd = base;
    odd.instance_number = 9;
    odd.rows = 12;
    write_mr(odd, dir / "odd.dcm");
    SyntheticMr axial = base;
    axial.instance_number = 10;
    axial.orientation = test::kAxial;
    write_mr(axial, dir / "axial.dcm");
    files.push_back(dir / "odd.dcm");
    files.push_back(dir / "axial.dcm");
    const auto loaded = load_series(sources_of(files), "t1");
    ASSERT_TRUE(loaded.volume.has_value()) << loaded.error;
    EXPECT_EQ(loaded.volume->image->GetLargestPossibleRegion().GetSize()[2], 3u);
    ASSERT_EQ(loaded.warnings.size(), 1u);
    EXPECT_NE(loaded.warnings[0].find("2 of 5 images set aside"), std::string::npos)
        << loaded.warnings[0];
}

TEST(LoadSeries, UnevenGapsAndDuplicatePositionsAreReported) {
    TempDir dir;
    SyntheticMr base;
    auto files = test::write_sagittal_series(base, {0, 1, 2, 4}, 4, dir.path());
    SyntheticMr repeat = base;
    repeat.instance_number = 7;  // acquired again at slice 0's position
    write_mr(repeat, dir / "repeat.dcm");
    files.push_back(dir / "repeat.dcm");
    const auto loaded = load_series(sources_of(files), "t1");
    ASSERT_TRUE(loaded.volume.has_value()) << loaded.error;
    EXPECT_EQ(loaded.volume->image->GetLargestPossibleRegion().GetSize()[2], 4u);
    EXPECT_NEAR(loaded.volume->image->GetSpacing()[2], 4, 1e-9);  // the median gap
    ASSERT_EQ(loaded.warnings.size(), 2u);
    EXPECT_NE(loaded.warnings[0].find("same position as instance " + base.series_uid + ".1"),
              std::string::npos)
        << loaded.warnings[0];
    EXPECT_NE(loaded.warnings[1].find("uneven spacing"), std::string::npos) << loaded.warnings[1];
}

TEST(LoadSeries, AnImageWithoutPositionIsNotLoadable) {
    TempDir dir;
    SyntheticMr mr;
    mr.write_position = false;
    write_mr(mr, dir / "unplaced.dcm");
    const auto loaded = load_series({source_of(dir / "unplaced.dcm", mr)}, "t1");
    EXPECT_FALSE(loaded.volume.has_value());
    EXPECT_NE(loaded.error.find("unplaced.dcm has no usable ImagePositionPatient"),
              std::string::npos)
        << loaded.error;
}

// A change's volume is its area times the slice thickness: a header's 0 or negative
// SliceThickness gives way to the spacing between slices, and to 1 mm, said, for one slice.
TEST(LoadSeries, ASliceThicknessThatIsNotPositiveIsNotUsed) {
    TempDir dir;
    SyntheticMr base;
    base.slice_thickness_mm = -5;
    const auto files = test::write_sagittal_series(base, {0, 1, 2}, 4.4, dir.path());
    const auto several = load_series(sources_of(files), "t1");
    ASSERT_TRUE(several.volume.has_value()) << several.error;
    EXPECT_NEAR(several.volume->slice_thickness_mm, 4.4, 1e-9);

    SyntheticMr single;
    single.slice_thickness_mm = 0;
    write_mr(single, dir / "single.dcm");
    const auto one = load_series({source_of(dir / "single.dcm", single)}, "t1");
    ASSERT_TRUE(one.volume.has_value()) << one.error;
    EXPECT_DOUBLE_EQ(one.volume->slice_thickness_mm, 1.0);
    ASSERT_EQ(one.warnings.size(), 1u);
    EXPECT_NE(one.warnings[0].find("has no usable SliceThickness; 1 mm assumed"), std::string::npos)
        << one.warnings[0];
}

TEST(LoadSeries, AnImplausiblePixelSpacingIsNotLoadable) {
    TempDir dir;
    SyntheticMr mr;
    mr.pixel_spacing_mm = {1e9, 1e9};
    write_mr(mr, dir / "huge.dcm");
    const auto loaded = load_series({source_of(dir / "huge.dcm", mr)}, "t1");
    EXPECT_FALSE(loaded.volume.has_value());
    EXPECT_NE(loaded.error.find("huge.dcm has an invalid PixelSpacing"), std::string::npos) << loaded.error;
}

// ImageOrientationPatient is two perpendicular unit vectors; rounding in the header is let pass.
TEST(LoadSeries, AnOrientationThatIsNotTwoPerpendicularUnitVectorsIsNotLoadable) {
    TempDir dir;
    for (const auto& [name, orientation] :
         {std::pair{"skewed", std::array<double, 6>{0, 1, 0, 0, 0.5, -1}},
          std::pair{"scaled", std::array<double, 6>{0, 2, 0, 0, 0, -2}}}) {
        SyntheticMr mr;
        mr.orientation = orientation;
        const auto file = dir / (std::string(name) + ".dcm");
        write_mr(mr, file);
        const auto loaded = load_series({source_of(file, mr)}, "t1");
        EXPECT_FALSE(loaded.volume.has_value()) << name;
        EXPECT_NE(loaded.error.find(name + std::string(".dcm has an invalid ImageOrientationPatient")),
                  std::string::npos)
            << loaded.error;
    }
    SyntheticMr rounded;
    rounded.orientation = {0, 0.99999, 0.00436, 0, -0.00436, -0.99999};  // printed to 5 decimals
    write_mr(rounded, dir / "rounded.dcm");
    EXPECT_TRUE(load_series({source_of(dir / "rounded.dcm", rounded)}, "t1").volume.has_value());
}

TEST(LoadSeries, AFileThatVanishedIsReportedNotThrown) {
    TempDir dir;
    const auto loaded = load_series(sources_of({dir / "gone.dcm"}), "t2");
    EXPECT_FALSE(loaded.volume.has_value());
    EXPECT_NE(loaded.error.find("gone.dcm"), std::string::npos) << loaded.error;
}

}  // namespace
}  // namespace modic::core
