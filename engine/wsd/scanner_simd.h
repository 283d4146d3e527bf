// Which copy of the scanner's SIMD loops Scan runs.
//
// A few of the scanner's loops exist twice: for SSE2, the x86-64 baseline,
// and for AVX2 (with BMI1/BMI2), which Scan uses when the CPU has them. Both
// give the same results; only speed differs. Tests force the SSE2 copy to
// cover it on machines with AVX2.

#ifndef ONVIF_ENGINE_WSD_SCANNER_SIMD_H_
#define ONVIF_ENGINE_WSD_SCANNER_SIMD_H_

#include <cstdint>

namespace onvif::wsd {

enum class ScannerSimd : std::uint8_t {
  kAuto,  // AVX2 when the CPU has it, else SSE2 (the default)
  kSse2,  // always the baseline copy
};

// Applies to every Scanner in the process from its next Scan on (a relaxed
// atomic: set it before starting scans on other threads).
void SetScannerSimdForTesting(ScannerSimd simd);

// Whether Scan currently runs the AVX2 copies.
bool ScannerUsesAvx2();

}  // namespace onvif::wsd

#endif  // ONVIF_ENGINE_WSD_SCANNER_SIMD_H_
