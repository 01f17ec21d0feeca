#pragma once
// R-TOSS kernel patterns (seed 001, Sec. IV-B): which cells of a 3x3 kernel a pattern keeps.
// A pattern is a 9-bit mask, bit r * 3 + c for row r, column c. Exposed for tests and docs.

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace detslim::prune {

// Every mask with `entries` cells set whose cells form one connected set (adjacency 4: cells
// sharing an edge; 8: a corner is enough), ascending. Empty for entries outside 1..9.
std::vector<uint16_t> rtossPatterns(int entries, int adjacency = 4);

// PatDNN's kind of pattern (the paper's baseline): 4 cells including the centre, 4-connected.
std::vector<uint16_t> patdnnPatterns();

// Index into `patterns` of the one keeping the largest sum of `energy` (squared weights) over
// its cells; ties go to the first. `patterns` must not be empty.
size_t bestPattern(const std::array<double, 9>& energy, const std::vector<uint16_t>& patterns);

}  // namespace detslim::prune
