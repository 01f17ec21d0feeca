#pragma once
// The report of selected runs: configuration, metrics, changes against a baseline, the charts,
// the hosts that measured them and detection examples, as one self-contained HTML file (images
// as base64 data URIs) or a PDF (QTextDocument on QPdfWriter). The GUI and the headless
// `detslim-gui --report` both call exportReport.

#include <QImage>
#include <QSize>
#include <QString>
#include <cstdint>
#include <vector>

#include "core/base/status.h"
#include "core/store/store.h"

namespace detslim::ui {

struct ReportImage {
  QImage image;  // e.g. a detection viewer screenshot; scaled down past kMaxReportImageWidth
  QString caption;
};

enum class ReportFormat { kAuto, kHtml, kPdf };  // kAuto: from the output path's suffix

struct ReportRequest {
  std::vector<store::RunRecord> runs;  // in the order the tables list them
  int64_t baseline_id = 0;             // 0: no deltas; otherwise one of `runs`
  QString title = QStringLiteral("DetSlim report");
  QString output_path;
  ReportFormat format = ReportFormat::kAuto;
  std::vector<ReportImage> images;  // detection examples, optional
  QSize chart_size{1200, 675};      // pixels of each embedded chart
  bool per_run_charts = true;       // latency histogram and layers of each run
};

inline constexpr int kMaxReportImageWidth = 1600;
// Per-run charts are drawn for this many runs at most (two images each); the rest are named.
inline constexpr int kMaxPerRunCharts = 8;

// Writes the report. Refuses no runs, a baseline id not among the runs, an unknown suffix and a
// path it cannot write (the message names the file).
Status exportReport(const ReportRequest& request);

// The HTML text of the report, charts embedded as data:image/png;base64 URIs.
Result<QString> reportHtml(const ReportRequest& request);

// Reads runs from a results store for a report or a chart: all of them when `ids` is empty,
// else those ids in that order. Opens read-only and never creates the file; refuses a missing or
// unreadable store and an unknown id, naming them.
Result<std::vector<store::RunRecord>> loadStoredRuns(const QString& store_path,
                                                     const std::vector<int64_t>& ids);

}  // namespace detslim::ui
