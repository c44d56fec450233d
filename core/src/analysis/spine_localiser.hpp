// Finds the intervertebral discs of the lumbar spine on one sagittal plane and labels them by
// counting up from the sacrum. Vertebral bodies and endplates follow from the discs.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "analysis/sagittal_plane.hpp"

namespace modic::core {

// How discs differ from marrow on a plane. T1: discs are darker than marrow. Fluid-sensitive
// (T2, STIR): healthy discs are brighter, degenerated ones darker, so either sign counts.
enum class PlaneContrast { T1, Fluid };

struct Disc {
    double x = 0, y = 0;  // centre, in plane pixels
    double angle = 0;  // tilt of the disc plane, radians; its long axis is along()
    double score = 0;  // band contrast, in units of the plane's marrow signal
    // Distances from the centre to the band's edges, mm, both positive: the upper edge lies
    // upper_edge toward the head along -normal(), the lower one lower_edge along normal().
    double upper_edge = 0, lower_edge = 0;
    double length = 0;  // anterior-posterior extent of the band, mm
    std::string label;  // "L5/S1"

    std::array<double, 2> along() const;  // anterior -> posterior along the disc
    std::array<double, 2> normal() const;  // perpendicular, pointing to the feet
    std::array<double, 2> centre() const { return {x, y}; }
    // Moves the centre `mm` millimetres along the unit `direction` (see `moved`).
    void move(const std::array<double, 2>& direction, double mm, double pixel_mm);
};

struct SpineLocalisation {
    std::vector<Disc> discs;  // cranial to caudal; the last one is L5/S1
    std::string failure;  // why no spine was found; empty on success
    std::vector<Disc> candidates;  // every band found, for diagnostics
};

SpineLocalisation localise_spine(const SagittalPlane& plane, PlaneContrast contrast);

// The median distance between neighbouring discs of a chain, mm; 0 for fewer than two discs.
double median_spacing(const std::vector<Disc>& chain, double pixel_mm);

// Cuts the chain at its first band that lies in front of the column rather than on it: well
// forward of where the line through the two discs above it leads, and turned backward from the
// disc above (vessels, the front of a disc's bulge), with every band below it, which followed
// it there. The column is then followed on from its last disc. Where more bands lie from that
// band down than above it, the line was drawn through bands off the column at the chain's top:
// those are cut instead, and the rest judged again.
void cut_chain_in_front_of_column(std::vector<Disc>& chain, const SagittalPlane& plane);

// Cuts back the chain's ends while the band there is no disc of the column: below L5/S1 the
// sacrum's junctions, steeper than L5/S1 and weaker or thinner than the column's discs, or short
// or pale and well beyond the usual spacing; at either end a short, weak band (a vessel, a bowel
// wall). A lowest band turned forward from a flat band above, as L5/S1 is from L4/L5, is kept
// however short when it lies about one spacing below it. The chain's bands carry their measured
// edges. Returns the bands cut from the lower end, lowest last.
std::vector<Disc> trim_chain_ends(std::vector<Disc>& chain, const SagittalPlane& plane);

// Whether `disc`'s band is much shorter than the chain's discs: a steep lumbosacral disc is a
// wedge, often fitted at its front, where its band is read short and tilted the wrong way.
bool fitted_short(const Disc& disc, const std::vector<Disc>& chain);

// The chain without its lowest disc, labelled again from the bottom up (the disc above becomes
// L5/S1) and judged again as localise_spine judges a chain: when the new labels make it
// implausible as the lumbar column, `failure` says why and no disc is left.
void drop_lowest_disc(SpineLocalisation& spine, const SagittalPlane& plane);

// Whether the chain's lowest band, as long as its discs, is tilted back (its anterior end higher)
// by more than 15 degrees: L5/S1 lies on the sacrum's slope, so such a band lies beyond it (bowel
// or a sacral junction in front of a sacrum curving backward).
bool lowest_disc_tilted_back(const SpineLocalisation& spine, const SagittalPlane& plane);

// "L4/L5" -> {"L4", "L5"}; "L5/S1" -> {"L5", "S1"}.
std::array<std::string, 2> vertebrae_of_disc(const std::string& disc_label);

}  // namespace modic::core
