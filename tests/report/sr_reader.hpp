// Reads back what the SR tests check: each Measurement Group of a modic-node SR, as plain values.
#pragma once

#include <array>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modic::test {

struct Code {
    std::string value, scheme, meaning;
    bool operator==(const Code&) const = default;
};

struct Number {
    double value = 0.0;
    Code unit;
};

struct ReadGroup {
    std::string tracking_id;
    std::string tracking_uid;
    Code finding;
    Code site;
    std::optional<Code> site_modifier;
    std::map<std::string, Number> numbers;  // by concept code value
    std::map<std::string, Code> evaluations;  // CODE items below the group, by concept code value
    std::map<std::string, std::string> texts;  // TEXT items below the group, by concept code value
    std::vector<std::array<float, 2>> outline;  // SCOORD graphic data, (column, row)
    std::string outline_graphic_type;
    std::string outline_sop_class_uid, outline_sop_instance_uid;
};

struct ReadSr {
    std::vector<ReadGroup> groups;
    std::map<std::string, std::string> report_texts;  // TEXT items of Qualitative Evaluations
    std::map<std::string, Code> report_codes;  // CODE items of Qualitative Evaluations
    Code document_title;
    std::vector<Code> procedures;
};

// Reads the file with DCMTK's DSRDocument; throws std::runtime_error when it cannot.
ReadSr read_sr(const std::filesystem::path& file);

}  // namespace modic::test
