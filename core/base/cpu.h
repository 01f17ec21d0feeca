#pragma once
// The host CPU's instruction-set features, read once (cpuid). Kernels accept or refuse by them.

#include <string>

namespace detslim {

struct CpuFeatures {
  bool sse42 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx512_vbmi = false;  // byte permutes (vpermi2b)
  bool avx512_bf16 = false;
  bool avx512_fp16 = false;
  bool amx = false;

  // The running machine's features.
  static const CpuFeatures& host();
  // A CPU with none of the optional features (forces reference / portable paths in tests).
  static CpuFeatures baseline() { return {}; }
  // "avx2 fma avx512f avx512bw avx512vl avx512_vnni avx512_bf16"
  std::string toString() const;
  // AVX-512 F + BW + VL + DQ: what the avx512 kernels are compiled for.
  bool hasAvx512Core() const { return avx512f && avx512bw && avx512vl && avx512dq; }
};

// "AMD EPYC 9R14 96-Core Processor" (from /proc/cpuinfo or cpuid brand string).
std::string cpuModelName();
// Logical cores available to this process (sched_getaffinity).
int availableCores();

}  // namespace detslim
