// modic-phantom: writes K synthetic lumbar spine MR studies (DICOM + truth.json) for a seed.
#include <exception>
#include <iostream>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "study.hpp"

int main(int argc, char** argv) {
    using namespace modic::phantom;
    CLI::App app{"Synthetic lumbar spine MR studies with planted Modic changes and their truth"};
    GeneratorOptions options;
    std::string out_dir;
    bool single = false, multi = false, quiet = false;
    std::string syntax;
    app.add_option("--out", out_dir, "output folder (one sub-folder per study)")->required();
    app.add_option("--seed", options.seed, "seed: the same seed gives the same bytes")->required();
    app.add_option("--cases", options.cases, "number of studies")->check(CLI::Range(1, 100000));
    app.add_option("--first-case", options.first_case, "index of the first study (default 1)");
    app.add_flag("--single-slice", single, "force the single mid-sagittal slice variant");
    app.add_flag("--multi-slice", multi, "forbid the single mid-sagittal slice variant");
    app.add_option("--transfer-syntax", syntax,
                   "force: explicit, implicit, jpeg-lossless, jpeg-ls, rle or deflate");
    app.add_flag("--three-d", options.three_d,
                 "3-D sagittal series (190 slices of 0.9 mm, 512 rows), for time and memory");
    app.add_flag("--debug-labels", options.debug_labels,
                 "also write each image's tissue label map to <study>/debug/<SOPInstanceUID>.pgm");
    app.add_flag("--quiet", quiet, "no progress lines");
    CLI11_PARSE(app, argc, argv);

    options.out_dir = out_dir;
    if (single && multi) {
        std::cerr << "modic-phantom: --single-slice and --multi-slice exclude each other\n";
        return 2;
    }
    if (single || multi) options.single_slice = single;
    if (options.three_d && single) {
        std::cerr << "modic-phantom: --three-d and --single-slice exclude each other\n";
        return 2;
    }
    if (!syntax.empty()) {
        static const std::vector<std::pair<std::string, TransferSyntax>> names = {
            {"explicit", TransferSyntax::ExplicitLittle}, {"implicit", TransferSyntax::ImplicitLittle},
            {"jpeg-lossless", TransferSyntax::JpegLossless}, {"jpeg-ls", TransferSyntax::JpegLs},
            {"rle", TransferSyntax::Rle}, {"deflate", TransferSyntax::Deflate}};
        for (const auto& [name, value] : names)
            if (name == syntax) options.transfer_syntax = value;
        if (!options.transfer_syntax) {
            std::cerr << "modic-phantom: unknown transfer syntax '" << syntax << "'\n";
            return 2;
        }
    }
    try {
        for (int k = 0; k < options.cases; ++k) {
            const int case_index = options.first_case + k;
            const StudyResult result = generate_study(options, case_index);
            if (!quiet)
                std::cout << fmt::format("{}: {} images in {:.2f} s\n", result.folder.string(), result.files,
                                         result.seconds);
        }
    } catch (const std::exception& error) {
        std::cerr << "modic-phantom: " << error.what() << "\n";
        return 1;
    }
    return 0;
}
