#include <array>
#include <stdexcept>
#include <string>

#include "sr_reader.hpp"

#include "dcmtk/config/osconfig.h"
#include "dcmtk/dcmdata/dcfilefo.h"
#include "dcmtk/dcmsr/dsrdoc.h"

namespace modic::test {
namespace {

Code code_of(const DSRCodedEntryValue& code) {
    return {code.getCodeValue().c_str(), code.getCodingSchemeDesignator().c_str(), code.getCodeMeaning().c_str()};
}


void read_site_modifier(DSRDocumentTree& tree, ReadGroup& group) {
    const size_t site = tree.getNodeID();
    if (tree.goDown() != 0) {
        do {
            const auto& item = tree.getCurrentContentItem();
            if (item.getConceptName().getCodeValue() == "106233006")
                group.site_modifier = code_of(item.getCodeValue());
        } while (tree.gotoNext() != 0);
    }
    tree.gotoNode(site);
}

void read_outline_image(DSRDocumentTree& tree, ReadGroup& group) {
    const size_t scoord = tree.getNodeID();
    if (tree.goDown() != 0 && tree.getCurrentContentItem().getValueType() == DSRTypes::VT_Image) {
        const auto& image = tree.getCurrentContentItem().getImageReference();
        group.outline_sop_class_uid = image.getSOPClassUID().c_str();
        group.outline_sop_instance_uid = image.getSOPInstanceUID().c_str();
    }
    tree.gotoNode(scoord);
}

void read_group_item(DSRDocumentTree& tree, ReadGroup& group) {
    const auto& item = tree.getCurrentContentItem();
    const std::string concept_value = item.getConceptName().getCodeValue().c_str();
    switch (item.getValueType()) {
        case DSRTypes::VT_Text:
            if (concept_value == "112039") group.tracking_id = item.getStringValue().c_str();
            else group.texts[concept_value] = item.getStringValue().c_str();
            break;
        case DSRTypes::VT_UIDRef:
            if (concept_value == "112040") group.tracking_uid = item.getStringValue().c_str();
            break;
        case DSRTypes::VT_Code:
            if (concept_value == "121071") {
                group.finding = code_of(item.getCodeValue());
            } else if (concept_value == "363698007") {
                group.site = code_of(item.getCodeValue());
                read_site_modifier(tree, group);
            } else {
                group.evaluations[concept_value] = code_of(item.getCodeValue());
            }
            break;
        case DSRTypes::VT_Num: {
            const double value = std::stod(item.getNumericValue().getNumericValue().c_str());
            group.numbers[concept_value] = {value, code_of(item.getNumericValue().getMeasurementUnit())};
            break;
        }
        case DSRTypes::VT_SCoord: {
            auto coordinates = item.getSpatialCoordinates();  // a copy: the list has no const getter
            group.outline_graphic_type = DSRTypes::graphicTypeToEnumeratedValue(coordinates.getGraphicType());
            const auto& points = coordinates.getGraphicDataList();
            for (size_t i = 1; i <= points.getNumberOfItems(); ++i)
                group.outline.push_back({points.getItem(i).Column, points.getItem(i).Row});
            read_outline_image(tree, group);
            break;
        }
        default:
            break;
    }
}

ReadGroup read_group(DSRDocumentTree& tree) {
    ReadGroup group;
    const size_t container = tree.getNodeID();
    if (tree.goDown() != 0) {
        do read_group_item(tree, group);
        while (tree.gotoNext() != 0);
    }
    tree.gotoNode(container);
    return group;
}

void read_qualitative_evaluations(DSRDocumentTree& tree, ReadSr& sr) {
    const size_t container = tree.getNodeID();
    if (tree.goDown() != 0) {
        do {
            const auto& item = tree.getCurrentContentItem();
            const std::string concept_value = item.getConceptName().getCodeValue().c_str();
            if (item.getValueType() == DSRTypes::VT_Text) sr.report_texts[concept_value] = item.getStringValue().c_str();
            if (item.getValueType() == DSRTypes::VT_Code) sr.report_codes[concept_value] = code_of(item.getCodeValue());
        } while (tree.gotoNext() != 0);
    }
    tree.gotoNode(container);
}

}  // namespace

ReadSr read_sr(const std::filesystem::path& file) {
    DcmFileFormat format;
    if (format.loadFile(file.c_str()).bad()) throw std::runtime_error("cannot read " + file.string());
    DSRDocument document;
    const OFCondition status = document.read(*format.getDataset());
    if (status.bad()) throw std::runtime_error("DSRDocument cannot read " + file.string() + ": " + status.text());

    ReadSr sr;
    auto& tree = document.getTree();
    if (tree.gotoRoot() == 0) throw std::runtime_error("empty SR tree in " + file.string());
    sr.document_title = code_of(tree.getCurrentContentItem().getConceptName());
    std::vector<size_t> groups, evaluations;
    do {
        const auto& item = tree.getCurrentContentItem();
        const std::string concept_value = item.getConceptName().getCodeValue().c_str();
        if (concept_value == "125007") groups.push_back(tree.getNodeID());
        if (concept_value == "C0034375") evaluations.push_back(tree.getNodeID());
        if (concept_value == "121058") sr.procedures.push_back(code_of(item.getCodeValue()));
    } while (tree.iterate() != 0);
    for (const size_t id : groups) {
        tree.gotoNode(id);
        sr.groups.push_back(read_group(tree));
    }
    for (const size_t id : evaluations) {
        tree.gotoNode(id);
        read_qualitative_evaluations(tree, sr);
    }
    return sr;
}

}  // namespace modic::test
