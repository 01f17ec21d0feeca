#include "ui/charts/charts.h"

#include <QAreaSeries>
#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QCursor>
#include <QGraphicsSceneResizeEvent>
#include <QGraphicsSimpleTextItem>
#include <QLegend>
#include <QLineSeries>
#include <QPen>
#include <QScatterSeries>
#include <QToolTip>
#include <QValueAxis>
#include <algorithm>
#include <cmath>
#include <limits>

namespace detslim::ui {

namespace {

// Above this many points, per-point labels overlap; tooltips still name every run.
constexpr int kMaxPointLabels = 16;
// A category axis with more labels than this turns them (bar charts of many runs / layers).
constexpr int kMaxFlatCategories = 5;
constexpr int kMaxUprightLayers = 12;

// One palette for every chart (Tableau 10): a precision or method keeps its colour across kinds.
const QColor kPalette[] = {QColor(0x1f, 0x77, 0xb4), QColor(0xff, 0x7f, 0x0e),
                           QColor(0x2c, 0xa0, 0x2c), QColor(0xd6, 0x27, 0x28),
                           QColor(0x94, 0x67, 0xbd), QColor(0x8c, 0x56, 0x4b),
                           QColor(0xe3, 0x77, 0xc2), QColor(0x7f, 0x7f, 0x7f),
                           QColor(0xbc, 0xbd, 0x22), QColor(0x17, 0xbe, 0xcf)};
const QColor kFrontColor(0xd6, 0x27, 0x28);
const QColor kDominatedColor(0x1f, 0x77, 0xb4);

QColor paletteColor(size_t i) {
  return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

QString q(const std::string& s) {
  return QString::fromStdString(s);
}
QString num(double v, int decimals) {
  return QString::number(v, 'f', decimals);
}

QFont makeFont(int point_size, bool bold = false) {
  QFont f;
  f.setPointSize(point_size);
  f.setBold(bold);
  return f;
}

// The shared look: set before series are added (the theme resets fonts and colours).
void styleChart(ResultsChart* chart, const QString& title) {
  chart->setTheme(QChart::ChartThemeLight);
  chart->setAnimationOptions(QChart::NoAnimation);  // exports must never catch a half-drawn frame
  chart->setBackgroundRoundness(0);
  chart->setDropShadowEnabled(false);
  chart->setBackgroundBrush(Qt::white);
  chart->setTitle(title);
  chart->setTitleFont(makeFont(13, true));
  chart->legend()->setAlignment(Qt::AlignBottom);
  chart->legend()->setFont(makeFont(9));
  chart->legend()->setShowToolTips(true);  // the full text of an entry the legend had to cut
  chart->setMargins(QMargins(8, 8, 8, 8));
}

void styleAxis(QAbstractAxis* axis, const QString& title) {
  axis->setTitleText(title);
  axis->setTitleFont(makeFont(10, true));
  axis->setLabelsFont(makeFont(9));
}

QValueAxis* addValueAxis(QChart* chart, Qt::Alignment where, const QString& title, double lo,
                         double hi, const char* format) {
  auto* axis = new QValueAxis;
  styleAxis(axis, title);
  axis->setRange(lo, hi);
  axis->applyNiceNumbers();
  // Runs a few hundredths of a millisecond apart would otherwise show identical tick labels:
  // give the labels as many decimals as the tick step needs, never fewer than `format` asks.
  const double step = (axis->max() - axis->min()) / std::max(1, axis->tickCount() - 1);
  int decimals = 0;
  const QString given = QString::fromLatin1(format);
  const qsizetype dot = given.indexOf(QLatin1Char('.'));
  if (dot >= 0) decimals = given.mid(dot + 1, 1).toInt();
  int needed = 0;
  while (needed < 6 && step > 0 &&
         std::abs(step * std::pow(10.0, needed) - std::round(step * std::pow(10.0, needed))) >
             1e-6 * std::pow(10.0, needed)) {
    ++needed;
  }
  axis->setLabelFormat(QStringLiteral("%.%1f").arg(std::max(decimals, needed)));
  chart->addAxis(axis, where);
  return axis;
}

// A padded range around [lo, hi]; `from_zero` keeps 0 in it (bars, counts, sizes). Every
// quantity charted (mAP, latency, size, FPS) is non-negative, so the range never goes below 0.
std::pair<double, double> paddedRange(double lo, double hi, bool from_zero) {
  double span = hi - lo;
  if (span <= 0) span = std::max(std::abs(hi), 1.0) * 0.2;
  const double pad = span * 0.08;
  return {from_zero ? std::min(lo, 0.0) : std::max(0.0, lo - pad), hi + pad};
}

// A tick step of 1, 2 or 5 times a power of ten giving at most `max_ticks` intervals over `span`.
double niceStep(double span, int max_ticks, bool integer) {
  if (!(span > 0)) return 1.0;
  const double raw = span / max_ticks;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude * 10;
  for (double m : {1.0, 2.0, 5.0}) {
    if (magnitude * m >= raw) {
      step = magnitude * m;
      break;
    }
  }
  return integer ? std::max(1.0, std::round(step)) : step;
}

// Ticks at multiples of a nice step inside a range that must stay as it is (not widened).
void dynamicTicks(QValueAxis* axis, double lo, double hi, bool integer) {
  const double step = niceStep(hi - lo, 8, integer);
  axis->setTickType(QValueAxis::TicksDynamic);
  axis->setTickAnchor(0.0);
  axis->setTickInterval(step);
  axis->setMinorTickCount(0);
  int decimals = 0;
  while (!integer && decimals < 4 &&
         std::abs(step * std::pow(10.0, decimals) - std::round(step * std::pow(10.0, decimals))) >
             1e-6) {
    ++decimals;
  }
  axis->setLabelFormat(QStringLiteral("%.%1f").arg(decimals));
}

void attach(QAbstractSeries* series, std::initializer_list<QAbstractAxis*> axes) {
  for (QAbstractAxis* a : axes) series->attachAxis(a);
}

void showTip(const QObject* owner, int index, bool state) {
  if (!state) {
    QToolTip::hideText();
    return;
  }
  const QStringList tips = owner->property(kToolTipsProperty).toStringList();
  if (index >= 0 && index < tips.size()) QToolTip::showText(QCursor::pos(), tips[index]);
}

void setXyToolTips(QXYSeries* series, const QStringList& tips) {
  series->setProperty(kToolTipsProperty, tips);
  QObject::connect(series, &QXYSeries::hovered, series, [series](const QPointF& p, bool state) {
    // hovered() gives the point under the mouse in value coordinates: find which one it is.
    const QList<QPointF> points = series->points();
    int best = -1;
    double best_d = std::numeric_limits<double>::infinity();
    for (int i = 0; i < points.size(); ++i) {
      const double d = std::hypot(points[i].x() - p.x(), points[i].y() - p.y());
      if (d < best_d) {
        best_d = d;
        best = i;
      }
    }
    showTip(series, best, state);
  });
}

void setBarToolTips(QBarSet* set, const QStringList& tips) {
  set->setProperty(kToolTipsProperty, tips);
  QObject::connect(set, &QBarSet::hovered, set,
                   [set](bool state, int index) { showTip(set, index, state); });
}

QScatterSeries* scatter(const QString& name, const QColor& color, double size,
                        QScatterSeries::MarkerShape shape = QScatterSeries::MarkerShapeCircle) {
  auto* s = new QScatterSeries;
  s->setName(name);
  s->setMarkerShape(shape);
  s->setMarkerSize(size);
  s->setColor(color);
  s->setBorderColor(color.darker(140));
  return s;
}

QLineSeries* line(const QString& name, const QColor& color, double width,
                  Qt::PenStyle style = Qt::SolidLine) {
  auto* s = new QLineSeries;
  s->setName(name);
  QPen pen(color);
  pen.setWidthF(width);
  pen.setStyle(style);
  s->setPen(pen);
  return s;
}

QString unitOfLatency(LatencyKind kind) {
  return q(latencyKindName(kind)) + " latency";
}

void categoryLabels(QBarCategoryAxis* axis, int count, int flat_limit, int small_font) {
  if (count > flat_limit) {
    axis->setLabelsAngle(count > 2 * flat_limit ? -90 : -30);
    axis->setLabelsFont(makeFont(small_font));
  }
}

// ---- one builder per kind ----

void buildTradeoff(ResultsChart* chart, const std::vector<store::RunRecord>& runs,
                   int64_t baseline_id, const ChartOptions& o) {
  const QString metric = q(mapMetricName(o.metric));
  styleChart(chart, QStringLiteral("%1 vs %2 (Pareto front: lower latency, higher mAP)")
                        .arg(metric, unitOfLatency(o.latency)));
  std::vector<TradeoffPoint> points = tradeoffPoints(runs, o.metric, o.latency);
  if (points.empty()) {
    chart->setEmptyMessage(QStringLiteral("No runs with metrics and %1 latency yet")
                               .arg(q(latencyKindName(o.latency))));
    return;
  }
  auto tip = [&](const TradeoffPoint& p) {
    return QStringLiteral("%1\n%2 = %3\n%4 median = %5 ms%6")
        .arg(q(p.label), metric, num(p.map, 4), unitOfLatency(o.latency), num(p.latency_ms, 2),
             p.on_front ? QStringLiteral("\non the Pareto front") : QString());
  };
  QLineSeries* front_line = line(QStringLiteral("Pareto front"), kFrontColor, 2.5);
  QScatterSeries* front = scatter(QStringLiteral("Pareto-optimal runs"), kFrontColor, 15);
  QScatterSeries* dominated = scatter(QStringLiteral("dominated runs"), kDominatedColor, 10);
  QStringList front_tips, dominated_tips;
  for (size_t i : paretoFront(points)) {
    front_line->append(points[i].latency_ms, points[i].map);
    front->append(points[i].latency_ms, points[i].map);
    front_tips << tip(points[i]);
  }
  double x_lo = points[0].latency_ms, x_hi = x_lo, y_lo = points[0].map, y_hi = y_lo;
  for (const TradeoffPoint& p : points) {
    x_lo = std::min(x_lo, p.latency_ms);
    x_hi = std::max(x_hi, p.latency_ms);
    y_lo = std::min(y_lo, p.map);
    y_hi = std::max(y_hi, p.map);
    if (p.on_front) continue;
    dominated->append(p.latency_ms, p.map);
    dominated_tips << tip(p);
  }
  setXyToolTips(front_line, front_tips);
  setXyToolTips(front, front_tips);
  setXyToolTips(dominated, dominated_tips);
  chart->addSeries(front_line);
  if (dominated->count() > 0) {
    chart->addSeries(dominated);
  } else {
    delete dominated;
    dominated = nullptr;
  }
  chart->addSeries(front);
  QScatterSeries* baseline = nullptr;
  for (const TradeoffPoint& p : points) {
    if (p.run_id != baseline_id || baseline_id == 0) continue;
    baseline = scatter(QStringLiteral("baseline #%1").arg(baseline_id), QColor(Qt::transparent), 19,
                       QScatterSeries::MarkerShapeRectangle);
    baseline->setBorderColor(Qt::black);
    baseline->setPen(QPen(Qt::black, 2));
    baseline->append(p.latency_ms, p.map);
    setXyToolTips(baseline, {tip(p)});
    chart->addSeries(baseline);
  }
  const auto [xa, xb] = paddedRange(x_lo, x_hi, false);
  const auto [ya, yb] = paddedRange(y_lo, y_hi, false);
  QValueAxis* ax =
      addValueAxis(chart, Qt::AlignBottom,
                   unitOfLatency(o.latency) + QStringLiteral(", median (ms)"), xa, xb, "%.1f");
  QValueAxis* ay = addValueAxis(chart, Qt::AlignLeft, metric, ya, std::min(yb, 1.0), "%.3f");
  for (QAbstractSeries* s : chart->series()) attach(s, {ax, ay});
  if (static_cast<int>(points.size()) <= kMaxPointLabels) {
    for (const TradeoffPoint& p : points) {
      chart->addPointLabel({p.latency_ms, p.map}, front, q(p.label));
    }
  }
}

void buildBars(ResultsChart* chart, const std::vector<store::RunRecord>& runs,
               const ChartOptions& o, bool throughput) {
  const BarMeasure measure = throughput ? BarMeasure::kThroughput : BarMeasure::kLatencyMedian;
  const QString what =
      throughput ? QStringLiteral("Throughput at batch %1").arg(o.batch)
                 : QStringLiteral("%1 latency (median)").arg(q(latencyKindName(o.latency)));
  styleChart(chart, what + QStringLiteral(" by configuration and precision"));
  const GroupedBars bars = groupedBars(runs, measure, o.latency, o.batch);
  if (bars.categories.empty()) {
    chart->setEmptyMessage(
        throughput
            ? QStringLiteral("No runs with throughput at batch %1 yet").arg(o.batch)
            : QStringLiteral("No runs with %1 latency yet").arg(q(latencyKindName(o.latency))));
    return;
  }
  for (const std::string& n : bars.notes) chart->addNote(q(n));
  const QString unit = throughput ? QStringLiteral("images/s") : QStringLiteral("ms");
  auto* series = new QBarSeries;
  double hi = 0;
  bool complete = true;
  for (size_t s = 0; s < bars.series.size(); ++s) {
    auto* set = new QBarSet(q(bars.series[s]));
    set->setColor(paletteColor(s));
    QStringList tips;
    for (const BarCell& cell : bars.cells[s]) {
      set->append(cell.value);
      hi = std::max(hi, cell.value);
      complete = complete && cell.run_id != 0;
      tips << (cell.run_id == 0
                   ? QStringLiteral("no run")
                   : QStringLiteral("%1\n%2 %3").arg(q(cell.label), num(cell.value, 2), unit));
    }
    setBarToolTips(set, tips);
    series->append(set);
  }
  // A missing cell is a zero-height bar; a printed "0" on it would read as a measurement.
  series->setLabelsVisible(complete);
  series->setLabelsPosition(QAbstractBarSeries::LabelsOutsideEnd);
  series->setLabelsPrecision(throughput ? 4 : 3);
  chart->addSeries(series);
  // The theme picks white labels for dark bars (it expects them inside); outside they must be dark.
  for (QBarSet* set : series->barSets()) set->setLabelColor(QColor(0x33, 0x33, 0x33));
  auto* ax = new QBarCategoryAxis;
  QStringList categories;
  for (const std::string& c : bars.categories) categories << q(c);
  ax->append(categories);
  styleAxis(ax, QStringLiteral("pruning configuration"));
  categoryLabels(ax, static_cast<int>(categories.size()), kMaxFlatCategories, 8);
  chart->addAxis(ax, Qt::AlignBottom);
  const QString y_title = throughput ? QStringLiteral("throughput (images/s)")
                                     : unitOfLatency(o.latency) + QStringLiteral(", median (ms)");
  QValueAxis* ay = addValueAxis(chart, Qt::AlignLeft, y_title, 0, hi * 1.12, "%.1f");
  attach(series, {ax, ay});
}

void buildSparsity(ResultsChart* chart, const std::vector<store::RunRecord>& runs,
                   int64_t baseline_id, const ChartOptions& o) {
  const QString metric = q(mapMetricName(o.metric));
  styleChart(chart, QStringLiteral("%1 and model size vs sparsity").arg(metric));
  const std::vector<SparsityCurve> curves = sparsityCurves(runs, o.metric);
  if (curves.empty()) {
    chart->setEmptyMessage(QStringLiteral("No pruned runs with metrics yet"));
    return;
  }
  double map_lo = 1, map_hi = 0, size_hi = 0, sparsity_hi = 0;
  std::vector<QAbstractSeries*> left, right;
  for (size_t c = 0; c < curves.size(); ++c) {
    const SparsityCurve& curve = curves[c];
    // "mAP", not the metric's full name: the legend truncates long entries (the axis says which).
    QLineSeries* map_line = line(q(curve.name) + QStringLiteral(" mAP"), paletteColor(c), 2.5);
    map_line->setPointsVisible(true);
    QLineSeries* size_line =
        line(q(curve.name) + QStringLiteral(" size"), paletteColor(c), 1.8, Qt::DashLine);
    size_line->setPointsVisible(true);
    QStringList map_tips, size_tips;
    for (const SparsityPoint& p : curve.points) {
      const double pct = p.sparsity * 100.0;
      map_line->append(pct, p.map);
      map_tips << QStringLiteral("%1\nsparsity %2 %\n%3 = %4")
                      .arg(q(p.label), num(pct, 1), metric, num(p.map, 4));
      map_lo = std::min(map_lo, p.map);
      map_hi = std::max(map_hi, p.map);
      sparsity_hi = std::max(sparsity_hi, pct);
      if (p.size_mib >= 0) {
        size_line->append(pct, p.size_mib);
        size_tips << QStringLiteral("%1\nsparsity %2 %\nmodel file %3 MiB")
                         .arg(q(p.label), num(pct, 1), num(p.size_mib, 2));
        size_hi = std::max(size_hi, p.size_mib);
      }
    }
    setXyToolTips(map_line, map_tips);
    chart->addSeries(map_line);
    left.push_back(map_line);
    if (size_line->count() > 0) {
      setXyToolTips(size_line, size_tips);
      chart->addSeries(size_line);
      right.push_back(size_line);
    } else {
      delete size_line;
    }
  }
  const auto [xa, xb] = paddedRange(0, std::max(sparsity_hi, 10.0), true);
  if (const store::RunRecord* base = findRun(runs, baseline_id)) {
    if (std::optional<double> m = runMap(*base, o.metric)) {
      QLineSeries* ref = line(QStringLiteral("baseline #%1 %2").arg(baseline_id).arg(metric),
                              Qt::black, 1.2, Qt::DotLine);
      // Across the whole axis: the plot area clips what lies past its end.
      ref->append(0, *m);
      ref->append(100, *m);
      setXyToolTips(
          ref, {QStringLiteral("baseline #%1: %2 = %3").arg(baseline_id).arg(metric, num(*m, 4)),
                QStringLiteral("baseline #%1: %2 = %3").arg(baseline_id).arg(metric, num(*m, 4))});
      chart->addSeries(ref);
      left.push_back(ref);
      map_lo = std::min(map_lo, *m);
      map_hi = std::max(map_hi, *m);
    }
  }
  QValueAxis* ax = addValueAxis(chart, Qt::AlignBottom, QStringLiteral("sparsity (%)"), xa,
                                std::min(xb, 100.0), "%.0f");
  const auto [ya, yb] = paddedRange(map_lo, map_hi, false);
  QValueAxis* ay = addValueAxis(chart, Qt::AlignLeft, metric + QStringLiteral(" (solid)"), ya,
                                std::min(yb, 1.0), "%.3f");
  for (QAbstractSeries* s : left) attach(s, {ax, ay});
  if (!right.empty()) {
    QValueAxis* ay2 =
        addValueAxis(chart, Qt::AlignRight, QStringLiteral("model file size (MiB, dashed)"), 0,
                     size_hi * 1.15, "%.1f");
    ay2->setGridLineVisible(false);  // one grid (the left axis') is enough to read by
    for (QAbstractSeries* s : right) attach(s, {ax, ay2});
  } else {
    chart->addNote(QStringLiteral("no run has a model file size"));
  }
}

void buildSizeFps(ResultsChart* chart, const std::vector<store::RunRecord>& runs,
                  int64_t baseline_id) {
  styleChart(chart, QStringLiteral("Model size vs FPS (batch 1)"));
  const std::vector<SizeFpsPoint> points = sizeFpsPoints(runs);
  if (points.empty()) {
    chart->setEmptyMessage(QStringLiteral("No runs with model size and throughput yet"));
    return;
  }
  std::vector<std::string> groups;
  std::vector<QScatterSeries*> series;
  std::vector<QStringList> tips;
  double x_lo = points[0].size_mib, x_hi = x_lo, y_hi = 0;
  QScatterSeries* baseline = nullptr;
  for (const SizeFpsPoint& p : points) {
    auto it = std::find(groups.begin(), groups.end(), p.group);
    size_t g = static_cast<size_t>(it - groups.begin());
    if (it == groups.end()) {
      groups.push_back(p.group);
      series.push_back(scatter(q(p.group), paletteColor(g), 13));
      tips.emplace_back();
    }
    series[g]->append(p.size_mib, p.fps);
    const QString tip = QStringLiteral("%1\nmodel file %2 MiB\n%3 FPS")
                            .arg(q(p.label), num(p.size_mib, 2), num(p.fps, 1));
    tips[g] << tip;
    if (p.run_id == baseline_id && baseline_id != 0) {
      baseline = scatter(QStringLiteral("baseline #%1").arg(baseline_id), Qt::transparent, 19,
                         QScatterSeries::MarkerShapeRectangle);
      baseline->setPen(QPen(Qt::black, 2));
      baseline->append(p.size_mib, p.fps);
      setXyToolTips(baseline, {tip});
    }
    x_lo = std::min(x_lo, p.size_mib);
    x_hi = std::max(x_hi, p.size_mib);
    y_hi = std::max(y_hi, p.fps);
  }
  for (size_t g = 0; g < series.size(); ++g) {
    setXyToolTips(series[g], tips[g]);
    chart->addSeries(series[g]);
  }
  if (baseline) chart->addSeries(baseline);
  const auto [xa, xb] = paddedRange(0, x_hi, true);
  QValueAxis* ax =
      addValueAxis(chart, Qt::AlignBottom, QStringLiteral("model file size (MiB)"), xa, xb, "%.1f");
  QValueAxis* ay = addValueAxis(chart, Qt::AlignLeft, QStringLiteral("throughput at batch 1 (FPS)"),
                                0, y_hi * 1.12, "%.0f");
  for (QAbstractSeries* s : chart->series()) attach(s, {ax, ay});
  if (static_cast<int>(points.size()) <= kMaxPointLabels) {
    for (size_t g = 0; g < series.size(); ++g) {
      const QList<QPointF> pts = series[g]->points();
      for (int i = 0; i < pts.size(); ++i) {
        chart->addPointLabel(pts[i], series[g], tips[g][i].section(QLatin1Char('\n'), 0, 0));
      }
    }
  }
}

void buildMemory(ResultsChart* chart, const std::vector<store::RunRecord>& runs) {
  styleChart(chart, QStringLiteral("Memory per configuration"));
  const MemoryBars m = memoryBars(runs);
  if (m.labels.empty()) {
    chart->setEmptyMessage(QStringLiteral("No runs with memory measurements yet"));
    return;
  }
  auto* series = new QBarSeries;
  double hi = 0;
  auto addSet = [&](const QString& name, const std::vector<double>& values, size_t color) {
    bool any = false;
    for (double v : values) any = any || v >= 0;
    if (!any) {
      chart->addNote(name + QStringLiteral(" not measured for any run"));
      return;
    }
    auto* set = new QBarSet(name);
    set->setColor(paletteColor(color));
    QStringList tips;
    for (size_t i = 0; i < values.size(); ++i) {
      set->append(std::max(values[i], 0.0));
      hi = std::max(hi, values[i]);
      if (values[i] < 0)
        chart->addNote(q(m.labels[i]) + QStringLiteral(": ") + name +
                       QStringLiteral(" not measured"));
      tips << QStringLiteral("%1\n%2: %3")
                  .arg(q(m.labels[i]), name,
                       values[i] < 0 ? QStringLiteral("not measured")
                                     : num(values[i], 2) + QStringLiteral(" MiB"));
    }
    setBarToolTips(set, tips);
    series->append(set);
  };
  addSet(QStringLiteral("weights"), m.weights_mib, 0);
  addSet(QStringLiteral("activations (planned)"), m.activations_mib, 1);
  addSet(QStringLiteral("peak RSS"), m.peak_rss_mib, 2);
  // Peak RSS holds the other two, so the bars stand side by side rather than stacked.
  chart->addSeries(series);
  auto* ax = new QBarCategoryAxis;
  QStringList labels;
  for (const std::string& l : m.labels) labels << q(l);
  ax->append(labels);
  styleAxis(ax, QStringLiteral("run"));
  categoryLabels(ax, static_cast<int>(labels.size()), kMaxFlatCategories, 8);
  chart->addAxis(ax, Qt::AlignBottom);
  QValueAxis* ay =
      addValueAxis(chart, Qt::AlignLeft, QStringLiteral("memory (MiB)"), 0, hi * 1.1, "%.0f");
  attach(series, {ax, ay});
}

void buildLayers(ResultsChart* chart, const store::RunRecord& run) {
  styleChart(chart, QStringLiteral("Per-layer time and weight sparsity: %1").arg(q(runLabel(run))));
  const LayerBars l = layerBars(run);
  if (l.names.empty()) {
    chart->setEmptyMessage(QStringLiteral("Run #%1 has no per-layer records").arg(run.id));
    return;
  }
  const size_t n = l.names.size();
  double time_hi = 0;
  for (double t : l.time_ms) time_hi = std::max(time_hi, t);
  QStringList categories, bar_tips, line_tips;
  for (size_t i = 0; i < n; ++i) {
    categories << q(l.names[i]);
    const QString head = QStringLiteral("%1 (%2)").arg(q(l.full_names[i]), q(l.op_types[i]));
    bar_tips << head + QStringLiteral("\ntime %1 ms").arg(num(l.time_ms[i], 3));
    line_tips << head + QStringLiteral("\nweight sparsity %1 %").arg(num(l.sparsity_pct[i], 1));
  }
  // Layer names repeat across runs of one model, so make them unique for the category axis.
  for (int i = 0; i < categories.size(); ++i) {
    if (categories.indexOf(categories[i]) != i) categories[i] += QStringLiteral(" [%1]").arg(i);
  }
  auto* ax = new QBarCategoryAxis;
  ax->append(categories);
  styleAxis(ax, QStringLiteral("layer with weights (graph order)"));
  categoryLabels(ax, static_cast<int>(n), kMaxUprightLayers, 7);
  ax->setTruncateLabels(false);  // truncated to "..." a layer name tells nothing
  QBarSeries* bars = nullptr;
  if (time_hi > 0) {
    bars = new QBarSeries;
    auto* set = new QBarSet(QStringLiteral("time (ms)"));
    set->setColor(paletteColor(0));
    for (double t : l.time_ms) set->append(t);
    setBarToolTips(set, bar_tips);
    bars->append(set);
    chart->addSeries(bars);
  } else {
    chart->addNote(QStringLiteral("no per-layer time was recorded for run #%1").arg(run.id));
  }
  QLineSeries* sparsity = line(QStringLiteral("weight sparsity (%)"), paletteColor(3), 2);
  sparsity->setPointsVisible(true);
  for (size_t i = 0; i < n; ++i) sparsity->append(static_cast<double>(i), l.sparsity_pct[i]);
  setXyToolTips(sparsity, line_tips);
  chart->addSeries(sparsity);
  chart->addAxis(ax, Qt::AlignBottom);
  if (bars) {
    QValueAxis* ay = addValueAxis(chart, Qt::AlignLeft, QStringLiteral("time per run (ms)"), 0,
                                  time_hi * 1.1, "%.2f");
    attach(bars, {ax, ay});
  }
  QValueAxis* ay2 = addValueAxis(chart, bars ? Qt::AlignRight : Qt::AlignLeft,
                                 QStringLiteral("weight sparsity (%)"), 0, 100, "%.0f");
  if (bars) ay2->setGridLineVisible(false);
  attach(sparsity, {ax, ay2});
}

void buildHistogram(ResultsChart* chart, const store::RunRecord& run, LatencyKind kind) {
  styleChart(
      chart,
      QStringLiteral("%1 latency histogram: %2").arg(q(latencyKindName(kind)), q(runLabel(run))));
  const std::optional<HistogramData> h = histogramData(run, kind);
  if (!h) {
    chart->setEmptyMessage(QStringLiteral("Run #%1 has no %2 latency histogram")
                               .arg(run.id)
                               .arg(q(latencyKindName(kind))));
    return;
  }
  auto* upper = new QLineSeries;
  upper->append(h->bins.front().lo_ms, 0);
  QStringList tips;
  for (const HistogramBin& b : h->bins) {
    upper->append(b.lo_ms, static_cast<double>(b.count));
    upper->append(b.hi_ms, static_cast<double>(b.count));
    tips
        << QStringLiteral("%1 - %2 ms: %3 runs").arg(num(b.lo_ms, 2), num(b.hi_ms, 2)).arg(b.count);
  }
  upper->append(h->bins.back().hi_ms, 0);
  auto* area = new QAreaSeries(upper);
  upper->setParent(area);
  area->setName(QStringLiteral("runs per bin (%1 runs)").arg(h->runs));
  area->setColor(QColor(0x1f, 0x77, 0xb4, 150));
  area->setBorderColor(QColor(0x1f, 0x77, 0xb4));
  area->setProperty(kToolTipsProperty, tips);
  const std::vector<HistogramBin> bins = h->bins;
  QObject::connect(area, &QAreaSeries::hovered, area, [area, bins](const QPointF& p, bool on) {
    int index = -1;
    for (size_t i = 0; i < bins.size(); ++i) {
      if (p.x() >= bins[i].lo_ms && p.x() <= bins[i].hi_ms) index = static_cast<int>(i);
    }
    showTip(area, index, on);
  });
  chart->addSeries(area);
  // Counts are whole runs: the y axis ends on a whole tick so no label is a rounded fraction.
  const double y_step = niceStep(static_cast<double>(h->max_count) * 1.1, 8, true);
  const double y_top =
      std::max(1.0, std::ceil(static_cast<double>(h->max_count) * 1.1 / y_step) * y_step);
  auto marker = [&](const QString& name, double x, const QColor& color, Qt::PenStyle style) {
    QLineSeries* s = line(name, color, 2.2, style);
    s->append(x, 0);
    s->append(x, y_top);
    setXyToolTips(s, {name, name});
    chart->addSeries(s);
  };
  marker(QStringLiteral("median %1 ms").arg(num(h->median_ms, 2)), h->median_ms, paletteColor(2),
         Qt::DashLine);
  marker(QStringLiteral("p99 %1 ms").arg(num(h->p99_ms, 2)), h->p99_ms, paletteColor(1),
         Qt::DashLine);
  if (h->deadline_ms > 0) {
    marker(QStringLiteral("deadline %1 ms (%2 % missed)")
               .arg(num(h->deadline_ms, 1), num(h->miss_rate * 100.0, 1)),
           h->deadline_ms, kFrontColor, Qt::SolidLine);
  } else {
    chart->addNote(QStringLiteral("no deadline was set for run #%1").arg(run.id));
  }
  auto* ax = new QValueAxis;
  styleAxis(ax, q(latencyKindName(kind)) + QStringLiteral(" latency (ms)"));
  // Not applyNiceNumbers: the range was chosen so the deadline and p99 stay in view.
  ax->setRange(h->x_min, h->x_max);
  dynamicTicks(ax, h->x_min, h->x_max, false);
  chart->addAxis(ax, Qt::AlignBottom);
  auto* ay = new QValueAxis;
  styleAxis(ay, QStringLiteral("timed runs"));
  ay->setRange(0, y_top);
  dynamicTicks(ay, 0, y_top, true);
  chart->addAxis(ay, Qt::AlignLeft);
  for (QAbstractSeries* s : chart->series()) attach(s, {ax, ay});
}

}  // namespace

// ---- ResultsChart ----

ResultsChart::ResultsChart(QGraphicsItem* parent) : QChart(parent) {
  connect(this, &QChart::plotAreaChanged, this, [this] { placeItems(); });
}

void ResultsChart::setEmptyMessage(const QString& message) {
  m_emptyMessage = message;
  if (!m_messageItem) {
    m_messageItem = new QGraphicsSimpleTextItem(this);
    m_messageItem->setFont(makeFont(14));
    m_messageItem->setBrush(QColor(0x55, 0x55, 0x55));
  }
  m_messageItem->setText(message);
  m_messageItem->setVisible(!message.isEmpty());
  legend()->setVisible(message.isEmpty());
  placeItems();
}

void ResultsChart::addPointLabel(const QPointF& value, QAbstractSeries* series,
                                 const QString& text) {
  auto* item = new QGraphicsSimpleTextItem(text, this);
  item->setFont(makeFont(8));
  item->setBrush(QColor(0x33, 0x33, 0x33));
  item->setZValue(10);
  m_labels.push_back({value, series, item});
  placeItems();
}

void ResultsChart::resizeEvent(QGraphicsSceneResizeEvent* event) {
  QChart::resizeEvent(event);
  placeItems();
}

void ResultsChart::placeItems() {
  if (m_messageItem) {
    const QRectF r = m_messageItem->boundingRect();
    const QRectF area = rect();
    m_messageItem->setPos(area.center().x() - r.width() / 2, area.center().y() - r.height() / 2);
  }
  const QRectF plot = plotArea();
  // Labels of nearby points would overprint each other: each takes the first of a few places
  // around its marker that no earlier label holds.
  std::vector<QRectF> taken;
  for (PointLabel& l : m_labels) {
    if (!l.series || l.series->attachedAxes().isEmpty()) {
      l.item->setVisible(false);
      continue;
    }
    const QPointF at = mapToPosition(l.value, l.series);
    const QSizeF size = l.item->boundingRect().size();
    const bool right = at.x() + 9 + size.width() <= plot.right();
    const double x = right ? at.x() + 9 : at.x() - 9 - size.width();
    QPointF pos(x, at.y() - size.height() - 2);
    for (int attempt = 0; attempt < 8; ++attempt) {
      const double y = attempt % 2 == 0 ? at.y() - size.height() - 2 - (attempt / 2) * size.height()
                                        : at.y() + 2 + (attempt / 2) * size.height();
      const QRectF rect(QPointF(x, y), size);
      const bool free = std::none_of(taken.begin(), taken.end(),
                                     [&](const QRectF& t) { return t.intersects(rect); });
      if (free) {
        pos = rect.topLeft();
        break;
      }
    }
    taken.emplace_back(pos, size);
    l.item->setPos(pos);
    l.item->setVisible(plot.adjusted(-2, -2, 2, 2).contains(at));
  }
}

// ---- kinds ----

const std::vector<ChartKind>& allChartKinds() {
  static const std::vector<ChartKind> kinds = {ChartKind::kTradeoff,       ChartKind::kLatencyBars,
                                               ChartKind::kThroughputBars, ChartKind::kSparsity,
                                               ChartKind::kSizeFps,        ChartKind::kMemory,
                                               ChartKind::kLayers,         ChartKind::kHistogram};
  return kinds;
}

QString chartKindName(ChartKind kind) {
  switch (kind) {
    case ChartKind::kTradeoff:
      return QStringLiteral("tradeoff");
    case ChartKind::kLatencyBars:
      return QStringLiteral("latency-bars");
    case ChartKind::kThroughputBars:
      return QStringLiteral("throughput-bars");
    case ChartKind::kSparsity:
      return QStringLiteral("sparsity");
    case ChartKind::kSizeFps:
      return QStringLiteral("size-fps");
    case ChartKind::kMemory:
      return QStringLiteral("memory");
    case ChartKind::kLayers:
      return QStringLiteral("layers");
    case ChartKind::kHistogram:
      return QStringLiteral("histogram");
  }
  return {};
}

std::optional<ChartKind> chartKindFromName(const QString& name) {
  for (ChartKind k : allChartKinds()) {
    if (chartKindName(k).compare(name.trimmed(), Qt::CaseInsensitive) == 0) return k;
  }
  return std::nullopt;
}

QString chartKindTitle(ChartKind kind) {
  switch (kind) {
    case ChartKind::kTradeoff:
      return QStringLiteral("mAP vs latency (Pareto front)");
    case ChartKind::kLatencyBars:
      return QStringLiteral("Latency by method x precision");
    case ChartKind::kThroughputBars:
      return QStringLiteral("Throughput by method x precision");
    case ChartKind::kSparsity:
      return QStringLiteral("mAP and size vs sparsity");
    case ChartKind::kSizeFps:
      return QStringLiteral("Model size vs FPS");
    case ChartKind::kMemory:
      return QStringLiteral("Memory per configuration");
    case ChartKind::kLayers:
      return QStringLiteral("Per-layer time and sparsity (selected run)");
    case ChartKind::kHistogram:
      return QStringLiteral("Latency histogram (selected run)");
  }
  return {};
}

bool chartKindNeedsRun(ChartKind kind) {
  return kind == ChartKind::kLayers || kind == ChartKind::kHistogram;
}

ResultsChart* buildChart(ChartKind kind, const std::vector<store::RunRecord>& runs,
                         int64_t baseline_id, const ChartOptions& options) {
  auto* chart = new ResultsChart;
  if (chartKindNeedsRun(kind)) {
    const store::RunRecord* run = findRun(runs, options.run_id);
    if (!run) {
      styleChart(chart, chartKindTitle(kind));
      chart->setEmptyMessage(
          options.run_id == 0
              ? QStringLiteral("Select a run to see its %1")
                    .arg(kind == ChartKind::kLayers ? QStringLiteral("layers")
                                                    : QStringLiteral("latency histogram"))
              : QStringLiteral("Run #%1 is not among the runs shown").arg(options.run_id));
      return chart;
    }
    if (kind == ChartKind::kLayers) {
      buildLayers(chart, *run);
    } else {
      buildHistogram(chart, *run, options.latency);
    }
    return chart;
  }
  switch (kind) {
    case ChartKind::kTradeoff:
      buildTradeoff(chart, runs, baseline_id, options);
      break;
    case ChartKind::kLatencyBars:
      buildBars(chart, runs, options, false);
      break;
    case ChartKind::kThroughputBars:
      buildBars(chart, runs, options, true);
      break;
    case ChartKind::kSparsity:
      buildSparsity(chart, runs, baseline_id, options);
      break;
    case ChartKind::kSizeFps:
      buildSizeFps(chart, runs, baseline_id);
      break;
    case ChartKind::kMemory:
      buildMemory(chart, runs);
      break;
    default:
      break;
  }
  return chart;
}

}  // namespace detslim::ui
