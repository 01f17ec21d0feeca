#pragma once
// Charts to files without a window: PNG at an exact pixel size, SVG whose root has that size.
// The report and the headless `detslim-gui --export-chart` use these; so does ChartsView's
// export, on a fresh chart so the one on screen is not resized.

#include <QImage>
#include <QSize>
#include <QString>
#include <vector>

#include "core/base/status.h"
#include "core/store/store.h"
#include "ui/charts/charts.h"

namespace detslim::ui {

// Sizes outside this range are refused: 0 has nothing to draw, and past it a PNG takes
// hundreds of MiB.
inline constexpr int kMinExportSide = 64;
inline constexpr int kMaxExportSide = 10000;

// The chart laid out for and painted at exactly `size` pixels on white. The chart is moved into
// a scene of its own for the call if it has none; a chart shown in a view keeps its geometry.
QImage renderChartImage(QChart* chart, const QSize& size);

// Writes the chart as PNG or SVG, chosen by the path's suffix (.png / .svg, case-insensitive).
// Refuses another suffix, a size outside [kMinExportSide, kMaxExportSide] and a path it
// cannot write, naming the file.
Status saveChart(QChart* chart, const QString& path, const QSize& size);

// Builds the chart of that kind over `runs` and saves it (as saveChart). A chart with no data
// is refused (its empty message, naming the kind) rather than written as an empty picture.
Status exportChart(ChartKind kind, const std::vector<store::RunRecord>& runs, int64_t baseline_id,
                   const ChartOptions& options, const QString& path, const QSize& size);

// The chart of that kind as an image (with its empty message drawn when it has no data).
QImage renderChart(ChartKind kind, const std::vector<store::RunRecord>& runs, int64_t baseline_id,
                   const ChartOptions& options, const QSize& size);

// "1600x900" -> QSize; nullopt-like invalid QSize for anything else or out of range.
QSize parseExportSize(const QString& text);

}  // namespace detslim::ui
