// DCMTK's decoders for compressed transfer syntaxes, registered once per process.
#pragma once

namespace modic::core {

// Registers the JPEG, JPEG-LS and RLE decoders (deflate is built into dcmdata). Safe to call from
// any thread, any number of times: only the first call registers.
void register_dicom_decoders();

}  // namespace modic::core
