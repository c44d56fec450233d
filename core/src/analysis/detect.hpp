// Spine localisation, labelling and Modic typing on the chosen series.
#pragma once

#include "image/series_volume.hpp"
#include "modic/core/findings.hpp"

namespace modic::core {

// Finds and labels the vertebrae, types every endplate and summarises each disc level, filling
// findings.vertebrae, .endplates, .levels and the localise/classify timings. `fluid` is the T2 or
// STIR series (its role says which); `stir`, when not null, a STIR beside the T2, read for oedema.
// When the spine cannot be found, sets status NotAnalyzable with the reason and leaves the lists
// empty.
void detect_modic_changes(const SeriesVolume& t1, const SeriesVolume& fluid, const SeriesVolume* stir,
                          Findings& findings);

}  // namespace modic::core
