// Charts over stored runs: the rules of what is plotted (Pareto front membership, the run that
// fills a bar, sparsity curves, histogram bins and marker lines) on hand-built runs with known
// values, the charts built from them (series, axis ranges, titles, tooltips), export to PNG / SVG
// at an asked size, empty states, and a screenshot of charts over two real measured runs.

#include <QAreaSeries>
#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChartView>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImageReader>
#include <QLabel>
#include <QLineEdit>
#include <QLineSeries>
#include <QPushButton>
#include <QScatterSeries>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QToolTip>
#include <QValueAxis>
#include <QXmlStreamReader>
#include <QtTest>
#include <algorithm>
#include <set>

#include "chart_fixtures.h"
#include "core/workbench/run_job.h"
#include "ui/charts/chart_data.h"
#include "ui/charts/chart_export.h"
#include "ui/charts/charts.h"
#include "ui/charts/chartsview.h"

using namespace detslim;
using namespace detslim::ui;
using detslim::testing::fixtureRun;
using detslim::testing::fixtureRuns;

namespace {

std::set<int64_t> frontIds(const std::vector<TradeoffPoint>& points) {
  std::set<int64_t> ids;
  for (const TradeoffPoint& p : points) {
    if (p.on_front) ids.insert(p.run_id);
  }
  return ids;
}

std::set<int64_t> pointIds(const std::vector<TradeoffPoint>& points) {
  std::set<int64_t> ids;
  for (const TradeoffPoint& p : points) ids.insert(p.run_id);
  return ids;
}

template <class T>
T* seriesNamed(QChart* chart, const QString& prefix) {
  for (QAbstractSeries* s : chart->series()) {
    if (s->name().startsWith(prefix)) return qobject_cast<T*>(s);
  }
  return nullptr;
}

QValueAxis* valueAxis(QChart* chart, Qt::Alignment where) {
  const QList<QAbstractAxis*> axes =
      chart->axes(where == Qt::AlignBottom ? Qt::Horizontal : Qt::Vertical);
  for (QAbstractAxis* a : axes) {
    if (a->alignment() == where) return qobject_cast<QValueAxis*>(a);
  }
  return nullptr;
}

store::RunRecord withHistogram(store::RunRecord r) {
  store::LatencyRecord& l = r.latency[0];
  l.histogram_edges_ms = {18, 19, 20, 21, 22, 23};
  l.histogram_counts = {2, 10, 20, 10, 8};
  l.summary.median_ms = 20.0;
  l.summary.p99_ms = 22.9;
  l.deadline_ms = 33.3;
  return r;
}

store::RunRecord withLayers(store::RunRecord r) {
  r.layers = {{"/model.0/conv/Conv", "Conv", 1000, 0.0, 100, 1.5},
              {"/model.0/act/Sigmoid", "Sigmoid", 0, 0.0, 0, 0.1},
              {"/model.1/conv/Conv", "Conv", 2000, 0.5, 200, 0.8},
              {"/model.24/m.0/Conv", "Conv", 500, 0.25, 50, 0.2}};
  return r;
}

int countNear(const QImage& image, const QColor& color, int tolerance) {
  int n = 0;
  for (int y = 0; y < image.height(); y += 2) {
    for (int x = 0; x < image.width(); x += 2) {
      const QColor c = image.pixelColor(x, y);
      if (std::abs(c.red() - color.red()) <= tolerance &&
          std::abs(c.green() - color.green()) <= tolerance &&
          std::abs(c.blue() - color.blue()) <= tolerance) {
        ++n;
      }
    }
  }
  return n;
}

QString screenshotDir() {
  QDir().mkpath(QStringLiteral(DETSLIM_SCREENSHOT_DIR));
  return QStringLiteral(DETSLIM_SCREENSHOT_DIR);
}

}  // namespace

class TestCharts : public QObject {
  Q_OBJECT

 private slots:
  void labels() {
    const std::vector<store::RunRecord> runs = fixtureRuns();
    QCOMPARE(runLabel(runs[0]), std::string("#1 none fp32"));
    QCOMPARE(runLabel(runs[1]), std::string("#2 magnitude 50 % fp32"));
    QCOMPARE(runLabel(runs[2]), std::string("#3 none int8 entropy"));
    QCOMPARE(methodLabel(runs[8]), std::string("magnitude 20 %"));
    QCOMPARE(shortLayerName("/model.24/m.0/Conv", "Conv"), std::string("model.24/m.0"));
    QCOMPARE(shortLayerName("Conv_0", "Conv"), std::string("Conv_0"));
    store::RunRecord rtoss = fixtureRun({10, "rtoss", 0, "fp32", "", 0.3, 0.5, 10, 12, 90});
    rtoss.config["prune"]["params"] = {{"entries", "2"}};
    QCOMPARE(methodLabel(rtoss), std::string("rtoss entries=2"));
  }

  void paretoFrontMembership_data() {
    QTest::addColumn<int>("metric");
    QTest::addColumn<int>("latency");
    QTest::addColumn<QList<qint64>>("front");
    QTest::addColumn<QList<qint64>>("dominated");
    // (10.7,.001) fastest; #3 and #6 equal; #5 and #1 slower but better; #2, #8, #9 dominated.
    QTest::newRow("mAP50-95 / inference")
        << 0 << 0 << QList<qint64>{1, 3, 4, 5, 6} << QList<qint64>{2, 8, 9};
    // mAP50: #8 (11.0, .530) beats every slower run.
    QTest::newRow("mAP50 / inference")
        << 1 << 0 << QList<qint64>{4, 8} << QList<qint64>{1, 2, 3, 5, 6, 9};
    // End-to-end: #2 (9 ms) becomes the fastest; #4 (14 ms, .001) is dominated by it.
    QTest::newRow("mAP50-95 / end-to-end")
        << 0 << 1 << QList<qint64>{1, 2, 3, 5, 6} << QList<qint64>{4, 8, 9};
  }

  void paretoFrontMembership() {
    QFETCH(int, metric);
    QFETCH(int, latency);
    QFETCH(QList<qint64>, front);
    QFETCH(QList<qint64>, dominated);
    const std::vector<TradeoffPoint> points = tradeoffPoints(
        fixtureRuns(), static_cast<MapMetric>(metric), static_cast<LatencyKind>(latency));
    // The failed run #7 (fastest of all) is never a point.
    QCOMPARE(pointIds(points), (std::set<int64_t>{1, 2, 3, 4, 5, 6, 8, 9}));
    QCOMPARE(frontIds(points), std::set<int64_t>(front.begin(), front.end()));
    for (const TradeoffPoint& p : points) {
      QCOMPARE(p.on_front, !dominated.contains(p.run_id));
    }
  }

  void paretoFrontOrderAndEdgeCases() {
    std::vector<TradeoffPoint> pts = {
        {1, "a", 5, 0.3}, {2, "b", 1, 0.1}, {3, "c", 3, 0.3}, {4, "d", 3, 0.2}, {5, "e", 1, 0.1}};
    // Sorted by latency; equal points (#2, #5) both kept; #1 has #3's mAP but is slower.
    const std::vector<size_t> front = paretoFront(pts);
    QCOMPARE(front, (std::vector<size_t>{1, 4, 2}));
    QVERIFY(paretoFront({}).empty());
    QCOMPARE(paretoFront({{7, "x", 2, 0.5}}), (std::vector<size_t>{0}));
    // NaN / -1 metrics and a zero latency are not points.
    std::vector<store::RunRecord> runs = fixtureRuns();
    runs[0].stats[0] = std::nan("");
    runs[1].stats[0] = -1;
    runs[2].latency[0].summary.median_ms = 0;
    runs[4].has_metrics = false;
    QCOMPARE(pointIds(tradeoffPoints(runs, MapMetric::kMap5095, LatencyKind::kInference)),
             (std::set<int64_t>{4, 6, 8, 9}));
  }

  void groupedBarValues() {
    const GroupedBars lat =
        groupedBars(fixtureRuns(), BarMeasure::kLatencyMedian, LatencyKind::kInference, 1);
    QCOMPARE(lat.categories,
             (std::vector<std::string>{"none", "magnitude 50 %", "group 50 %", "magnitude 20 %"}));
    QCOMPARE(lat.series, (std::vector<std::string>{"fp32", "int8 entropy", "fp16"}));
    QCOMPARE(lat.cells[0][0].value, 20.0);
    QCOMPARE(lat.cells[0][1].value, 19.0);
    QCOMPARE(lat.cells[0][2].value, 10.7);
    QCOMPARE(lat.cells[0][3].value, 19.8);
    QCOMPARE(lat.cells[1][0].run_id, int64_t{6});  // #6 repeats #3: the newer run is drawn
    QCOMPARE(lat.cells[1][1].value, 11.0);
    QCOMPARE(lat.cells[1][2].run_id, int64_t{0});  // no group int8 run
    QCOMPARE(lat.cells[2][0].value, 19.5);
    QCOMPARE(lat.cells[2][1].run_id, int64_t{0});
    QCOMPARE(lat.notes.size(), size_t{1});
    QVERIFY(lat.notes[0].find("#3") != std::string::npos);

    const GroupedBars fps =
        groupedBars(fixtureRuns(), BarMeasure::kThroughput, LatencyKind::kInference, 1);
    QCOMPARE(fps.cells[1][0].value, 91.0);  // #6's, not #3's 88
    QCOMPARE(fps.cells[0][2].value, 93.0);
    const GroupedBars b8 =
        groupedBars(fixtureRuns(), BarMeasure::kThroughput, LatencyKind::kInference, 8);
    QCOMPARE(b8.categories, std::vector<std::string>{"none"});
    QCOMPARE(b8.cells[0][0].value, 45.0);
    QCOMPARE(throughputBatches(fixtureRuns()), (std::vector<int>{1, 8}));

    // The chart carries the same values, one bar set per precision.
    std::unique_ptr<ResultsChart> chart(
        buildChart(ChartKind::kLatencyBars, fixtureRuns(), 1, ChartOptions{}));
    QVERIFY(chart->emptyMessage().isEmpty());
    auto* series = qobject_cast<QBarSeries*>(chart->series().value(0));
    QVERIFY(series);
    QCOMPARE(series->count(), 3);
    QCOMPARE(series->barSets()[0]->label(), QStringLiteral("fp32"));
    QCOMPARE(series->barSets()[0]->at(2), 10.7);
    QCOMPARE(series->barSets()[1]->at(0), 11.0);
    const QStringList tips = series->barSets()[1]->property(kToolTipsProperty).toStringList();
    QCOMPARE(tips.size(), 4);
    QVERIFY2(tips[0].contains(QStringLiteral("#6 none int8 entropy")), qPrintable(tips[0]));
    QCOMPARE(tips[2], QStringLiteral("no run"));
    auto* ax = qobject_cast<QBarCategoryAxis*>(chart->axes(Qt::Horizontal).value(0));
    QVERIFY(ax);
    QCOMPARE(ax->categories(),
             (QStringList{QStringLiteral("none"), QStringLiteral("magnitude 50 %"),
                          QStringLiteral("group 50 %"), QStringLiteral("magnitude 20 %")}));
    QValueAxis* ay = valueAxis(chart.get(), Qt::AlignLeft);
    QVERIFY(ay);
    QCOMPARE(ay->min(), 0.0);
    QVERIFY(ay->max() >= 20.0);
    QVERIFY(ay->titleText().contains(QStringLiteral("(ms)")));
    QVERIFY(!series->isLabelsVisible());  // missing cells: no "0" printed on them
  }

  void tradeoffChart() {
    std::unique_ptr<ResultsChart> chart(
        buildChart(ChartKind::kTradeoff, fixtureRuns(), 1, ChartOptions{}));
    QVERIFY(chart->title().contains(QStringLiteral("mAP50-95")));
    auto* line = seriesNamed<QLineSeries>(chart.get(), QStringLiteral("Pareto front"));
    auto* front = seriesNamed<QScatterSeries>(chart.get(), QStringLiteral("Pareto-optimal"));
    auto* dominated = seriesNamed<QScatterSeries>(chart.get(), QStringLiteral("dominated"));
    auto* baseline = seriesNamed<QScatterSeries>(chart.get(), QStringLiteral("baseline #1"));
    QVERIFY(line && front && dominated && baseline);
    const QList<QPointF> path = line->points();
    QCOMPARE(path.size(), 5);
    QCOMPARE(path.front(), QPointF(10.7, 0.001));
    QCOMPARE(path.back(), QPointF(20.0, 0.340));
    for (int i = 1; i < path.size(); ++i) QVERIFY(path[i].x() >= path[i - 1].x());
    QCOMPARE(dominated->count(), 3);
    QVERIFY(front->markerSize() > dominated->markerSize());  // the front stands out
    QCOMPARE(baseline->points(), QList<QPointF>{QPointF(20.0, 0.340)});
    const QStringList tips = front->property(kToolTipsProperty).toStringList();
    QCOMPARE(tips.size(), 5);
    QVERIFY2(tips[0].contains(QStringLiteral("#4 group 50 % fp32")) &&
                 tips[0].contains(QStringLiteral("10.70 ms")) &&
                 tips[0].contains(QStringLiteral("0.0010")),
             qPrintable(tips[0]));
    // Hovering a point shows its run and values.
    emit front->hovered(QPointF(10.71, 0.0012), true);
    QTRY_COMPARE(QToolTip::text(), tips[0]);
    emit front->hovered(QPointF(10.71, 0.0012), false);
    QValueAxis* ax = valueAxis(chart.get(), Qt::AlignBottom);
    QValueAxis* ay = valueAxis(chart.get(), Qt::AlignLeft);
    QVERIFY(ax && ay);
    QVERIFY(ax->titleText().contains(QStringLiteral("inference latency")));
    QVERIFY(ax->titleText().contains(QStringLiteral("(ms)")));
    QVERIFY2(ax->min() >= 0 && ax->min() <= 10.7 && ax->max() >= 20.0 && ax->max() <= 25.0,
             qPrintable(QStringLiteral("%1..%2").arg(ax->min()).arg(ax->max())));
    QVERIFY(ay->min() >= 0 && ay->min() <= 0.001 && ay->max() >= 0.340 && ay->max() <= 1.0);
    QCOMPARE(ay->titleText(), QStringLiteral("mAP50-95"));

    ChartOptions o;
    o.metric = MapMetric::kMap50;
    o.latency = LatencyKind::kEndToEnd;
    std::unique_ptr<ResultsChart> e2e(buildChart(ChartKind::kTradeoff, fixtureRuns(), 0, o));
    QVERIFY(valueAxis(e2e.get(), Qt::AlignBottom)->titleText().contains("end-to-end"));
    QCOMPARE(valueAxis(e2e.get(), Qt::AlignLeft)->titleText(), QStringLiteral("mAP50"));
    QVERIFY(!seriesNamed<QScatterSeries>(e2e.get(), QStringLiteral("baseline")));
  }

  void sparsityCurvesPerMethod() {
    const std::vector<SparsityCurve> curves = sparsityCurves(fixtureRuns(), MapMetric::kMap5095);
    QCOMPARE(curves.size(), size_t{3});
    QCOMPARE(curves[0].name, std::string("magnitude fp32"));
    QCOMPARE(curves[1].name, std::string("group fp32"));
    QCOMPARE(curves[2].name, std::string("magnitude int8 entropy"));
    // Dense fp32 (#1) starts the fp32 curves; the failed 90 % run is not on them.
    QCOMPARE(curves[0].points.size(), size_t{3});
    QCOMPARE(curves[0].points[0].run_id, int64_t{1});
    QCOMPARE(curves[0].points[1].sparsity, 0.2);
    QCOMPARE(curves[0].points[2].map, 0.250);
    QCOMPARE(curves[2].points[0].run_id, int64_t{6});  // the newer dense int8 run
    QVERIFY(std::abs(curves[0].points[0].size_mib - 7918388.0 / 1048576.0) < 1e-9);

    std::unique_ptr<ResultsChart> chart(
        buildChart(ChartKind::kSparsity, fixtureRuns(), 1, ChartOptions{}));
    QCOMPARE(chart->axes(Qt::Vertical).size(), 2);  // mAP left, size right
    QValueAxis* ax = valueAxis(chart.get(), Qt::AlignBottom);
    QCOMPARE(ax->titleText(), QStringLiteral("sparsity (%)"));
    QCOMPARE(ax->min(), 0.0);
    QVERIFY(ax->max() >= 50.0 && ax->max() <= 100.0);
    auto* mag = seriesNamed<QLineSeries>(chart.get(), QStringLiteral("magnitude fp32 mAP"));
    QVERIFY(mag);
    QCOMPARE(mag->points(), (QList<QPointF>{{0, 0.340}, {20, 0.300}, {50, 0.250}}));
    auto* ref = seriesNamed<QLineSeries>(chart.get(), QStringLiteral("baseline #1"));
    QVERIFY(ref);
    QCOMPARE(ref->at(0).y(), 0.340);
    QVERIFY(valueAxis(chart.get(), Qt::AlignRight)->titleText().contains("MiB"));
  }

  void sizeFpsAndMemory() {
    const std::vector<SizeFpsPoint> pts = sizeFpsPoints(fixtureRuns());
    QCOMPARE(pts.size(), size_t{8});
    QCOMPARE(pts[2].fps, 88.0);
    QCOMPARE(pts[2].group, std::string("int8 entropy"));
    QVERIFY(std::abs(pts[2].size_mib - 2400000.0 / 1048576.0) < 1e-9);

    std::vector<store::RunRecord> runs = fixtureRuns();
    runs[1].memory->peak_rss_bytes = -1;  // the probe could not run
    const MemoryBars m = memoryBars(runs);
    QCOMPARE(m.labels.size(), size_t{8});
    QCOMPARE(m.peak_rss_mib[1], -1.0);
    QVERIFY(std::abs(m.weights_mib[0] - 7469620.0 / 1048576.0) < 1e-9);
    std::unique_ptr<ResultsChart> chart(buildChart(ChartKind::kMemory, runs, 0, {}));
    auto* series = qobject_cast<QBarSeries*>(chart->series().value(0));
    QVERIFY(series);
    QCOMPARE(series->count(), 3);
    QCOMPARE(series->barSets()[2]->label(), QStringLiteral("peak RSS"));
    QCOMPARE(series->barSets()[2]->at(1), 0.0);
    QVERIFY(series->barSets()[2]
                ->property(kToolTipsProperty)
                .toStringList()[1]
                .contains(QStringLiteral("not measured")));
    QVERIFY(chart->notes().join(' ').contains(QStringLiteral("#2 magnitude 50 % fp32")));
  }

  void histogramBinsAndMarkers() {
    const store::RunRecord run = withHistogram(fixtureRuns()[0]);
    const std::optional<HistogramData> h = histogramData(run, LatencyKind::kInference);
    QVERIFY(h);
    QCOMPARE(h->bins.size(), size_t{5});
    QCOMPARE(h->bins[2].count, int64_t{20});
    QCOMPARE(h->max_count, int64_t{20});
    QCOMPARE(h->deadline_ms, 33.3);
    QVERIFY(h->x_min <= 18.0 && h->x_max > 33.3);  // widened so the deadline shows

    ChartOptions o;
    o.run_id = 1;
    std::unique_ptr<ResultsChart> chart(buildChart(ChartKind::kHistogram, {run}, 0, o));
    QVERIFY(chart->emptyMessage().isEmpty());
    auto* area = seriesNamed<QAreaSeries>(chart.get(), QStringLiteral("runs per bin"));
    QVERIFY(area);
    QCOMPARE(area->property(kToolTipsProperty).toStringList().size(), 5);
    QCOMPARE(area->upperSeries()->count(), 2 + 2 * 5);
    auto* deadline = seriesNamed<QLineSeries>(chart.get(), QStringLiteral("deadline 33.3 ms"));
    auto* p99 = seriesNamed<QLineSeries>(chart.get(), QStringLiteral("p99 22.90 ms"));
    auto* median = seriesNamed<QLineSeries>(chart.get(), QStringLiteral("median 20.00 ms"));
    QVERIFY(deadline && p99 && median);
    QCOMPARE(deadline->at(0).x(), 33.3);
    QCOMPARE(deadline->at(1).x(), 33.3);
    QCOMPARE(p99->at(0).x(), 22.9);
    QValueAxis* ax = valueAxis(chart.get(), Qt::AlignBottom);
    QVERIFY(ax->min() <= 18.0 && ax->max() > 33.3);
    QVERIFY(ax->titleText().contains(QStringLiteral("(ms)")));
    QCOMPARE(valueAxis(chart.get(), Qt::AlignLeft)->min(), 0.0);
    QVERIFY(valueAxis(chart.get(), Qt::AlignLeft)->max() >= 20.0);

    // Inconsistent histograms are refused, never drawn half.
    store::RunRecord bad = run;
    bad.latency[0].histogram_edges_ms.pop_back();
    QVERIFY(!histogramData(bad, LatencyKind::kInference));
    bad = run;
    bad.latency[0].histogram_edges_ms = {18, 17, 20, 21, 22, 23};
    QVERIFY(!histogramData(bad, LatencyKind::kInference));
    bad = run;
    bad.latency[0].histogram_counts[1] = -3;
    QVERIFY(!histogramData(bad, LatencyKind::kInference));
    std::unique_ptr<ResultsChart> none(buildChart(ChartKind::kHistogram, {bad}, 0, o));
    QCOMPARE(none->emptyMessage(), QStringLiteral("Run #1 has no inference latency histogram"));
    QVERIFY(none->series().isEmpty());
  }

  void layerBarsOfOneRun() {
    const store::RunRecord run = withLayers(fixtureRuns()[1]);
    const LayerBars l = layerBars(run);
    QCOMPARE(l.names, (std::vector<std::string>{"model.0/conv", "model.1/conv", "model.24/m.0"}));
    QCOMPARE(l.sparsity_pct, (std::vector<double>{0.0, 50.0, 25.0}));
    QCOMPARE(l.time_ms, (std::vector<double>{1.5, 0.8, 0.2}));
    QCOMPARE(l.total_layers, 4);
    ChartOptions o;
    o.run_id = 2;
    std::unique_ptr<ResultsChart> chart(buildChart(ChartKind::kLayers, {run}, 0, o));
    auto* bars = qobject_cast<QBarSeries*>(chart->series().value(0));
    QVERIFY(bars);
    QCOMPARE(bars->barSets()[0]->at(0), 1.5);
    auto* sparsity = seriesNamed<QLineSeries>(chart.get(), QStringLiteral("weight sparsity"));
    QVERIFY(sparsity);
    QCOMPARE(sparsity->at(1), QPointF(1, 50.0));
    QCOMPARE(valueAxis(chart.get(), Qt::AlignRight)->max(), 100.0);
    QVERIFY(chart->title().contains(QStringLiteral("#2 magnitude 50 % fp32")));
  }

  void emptyStates() {
    // No runs at all: every kind says what is missing and draws nothing.
    for (ChartKind kind : allChartKinds()) {
      std::unique_ptr<ResultsChart> chart(buildChart(kind, {}, 0, ChartOptions{}));
      QVERIFY2(!chart->emptyMessage().isEmpty(), qPrintable(chartKindName(kind)));
      QVERIFY(chart->series().isEmpty());
      const QImage image = renderChartImage(chart.get(), QSize(400, 300));
      QCOMPARE(image.size(), QSize(400, 300));
    }
    std::unique_ptr<ResultsChart> tradeoff(buildChart(ChartKind::kTradeoff, {}, 0, {}));
    QCOMPARE(tradeoff->emptyMessage(),
             QStringLiteral("No runs with metrics and inference latency yet"));
    // Only failed runs: still nothing to draw.
    std::vector<store::RunRecord> failed = {fixtureRuns()[6]};
    for (ChartKind kind : {ChartKind::kTradeoff, ChartKind::kLatencyBars, ChartKind::kMemory,
                           ChartKind::kSizeFps, ChartKind::kSparsity}) {
      std::unique_ptr<ResultsChart> chart(buildChart(kind, failed, 0, {}));
      QVERIFY2(!chart->emptyMessage().isEmpty(), qPrintable(chartKindName(kind)));
    }

    ChartsView view;
    view.resize(900, 600);
    QCOMPARE(view.chart()->emptyMessage(),
             QStringLiteral("No runs with metrics and inference latency yet"));
    QVERIFY(!view.findChild<QPushButton*>(QStringLiteral("exportChart"))->isEnabled());
    view.setRuns(fixtureRuns(), 1);
    QVERIFY(view.chart()->emptyMessage().isEmpty());
    QVERIFY(view.findChild<QPushButton*>(QStringLiteral("exportChart"))->isEnabled());
    view.setKind(ChartKind::kHistogram);
    QCOMPARE(view.chart()->emptyMessage(),
             QStringLiteral("Select a run to see its latency histogram"));
    view.setSelectedRun(42);
    QCOMPARE(view.chart()->emptyMessage(), QStringLiteral("Run #42 is not among the runs shown"));
  }

  void viewOptionsRebuild() {
    ChartsView view;
    QSignalSpy kinds(&view, &ChartsView::kindChanged);
    std::vector<store::RunRecord> runs = fixtureRuns();
    runs[0] = withHistogram(withLayers(runs[0]));
    view.setRuns(runs, 1);
    auto* batch = view.findChild<QComboBox*>(QStringLiteral("throughputBatch"));
    QCOMPARE(batch->count(), 2);
    QCOMPARE(batch->itemData(1).toInt(), 8);
    view.setKind(ChartKind::kThroughputBars);
    QCOMPARE(kinds.count(), 1);
    batch->setCurrentIndex(1);
    QVERIFY(view.chart()->title().contains(QStringLiteral("batch 8")));
    auto* series = qobject_cast<QBarSeries*>(view.chart()->series().value(0));
    QCOMPARE(series->barSets()[0]->at(0), 45.0);
    view.setKind(ChartKind::kTradeoff);
    view.findChild<QComboBox*>(QStringLiteral("mapMetric"))->setCurrentIndex(1);
    QCOMPARE(view.options().metric, MapMetric::kMap50);
    auto* line = seriesNamed<QLineSeries>(view.chart(), QStringLiteral("Pareto front"));
    QCOMPARE(line->count(), 2);  // #4 and #8 under mAP50
    view.setKind(ChartKind::kLayers);
    view.setSelectedRun(1);
    QVERIFY(view.chart()->emptyMessage().isEmpty());
    QVERIFY(view.chart()->title().contains(QStringLiteral("#1 none fp32")));
  }

  void exportPngAndSvgAtAskedSize() {
    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const QString png = dir.filePath(QStringLiteral("tradeoff.png"));
    const Status st =
        exportChart(ChartKind::kTradeoff, fixtureRuns(), 1, {}, png, QSize(1000, 640));
    QVERIFY2(st, st.message().c_str());
    QImageReader reader(png);
    QCOMPARE(reader.format(), QByteArray("png"));
    const QImage image = reader.read();
    QCOMPARE(image.size(), QSize(1000, 640));
    // The Pareto front is drawn in its colour, not just a white page with a title.
    QVERIFY2(countNear(image, QColor(0xd6, 0x27, 0x28), 30) > 50,
             qPrintable(QString::number(countNear(image, QColor(0xd6, 0x27, 0x28), 30))));

    const QString svg = dir.filePath(QStringLiteral("hist.svg"));
    ChartOptions o;
    o.run_id = 1;
    QVERIFY(exportChart(ChartKind::kHistogram, {withHistogram(fixtureRuns()[0])}, 0, o, svg,
                        QSize(800, 450)));
    QFile f(svg);
    QVERIFY(f.open(QIODevice::ReadOnly));
    QXmlStreamReader xml(&f);
    while (!xml.atEnd() && !xml.isStartElement()) xml.readNext();
    QCOMPARE(xml.name().toString(), QStringLiteral("svg"));
    QCOMPARE(xml.attributes().value(QStringLiteral("width")).toString(), QStringLiteral("800"));
    QCOMPARE(xml.attributes().value(QStringLiteral("height")).toString(), QStringLiteral("450"));
    QCOMPARE(xml.attributes().value(QStringLiteral("viewBox")).toString(),
             QStringLiteral("0 0 800 450"));
    while (!xml.atEnd()) xml.readNext();
    QVERIFY2(!xml.hasError(), qPrintable(xml.errorString()));
    f.seek(0);
    QVERIFY(f.readAll().contains("deadline 33.3 ms"));  // legend text is in the drawing

    // The view exports a fresh chart at the asked size and says so.
    ChartsView view;
    view.setRuns(fixtureRuns(), 1);
    QSignalSpy exported(&view, &ChartsView::chartExported);
    const QString viewPng = dir.filePath(QStringLiteral("view.png"));
    QVERIFY(view.exportCurrentChart(viewPng, QSize(640, 480)));
    QCOMPARE(exported.count(), 1);
    QCOMPARE(QImage(viewPng).size(), QSize(640, 480));
  }

  void exportDialogAsksPathAndSize() {
    ExportChartDialog dialog(QStringLiteral("/tmp/chart.png"), QSize(1600, 900));
    auto* path = dialog.findChild<QLineEdit*>(QStringLiteral("exportPath"));
    auto* width = dialog.findChild<QSpinBox*>(QStringLiteral("exportWidth"));
    auto* height = dialog.findChild<QSpinBox*>(QStringLiteral("exportHeight"));
    QVERIFY(path && width && height);
    QCOMPARE(dialog.imageSize(), QSize(1600, 900));
    width->setValue(1280);
    height->setValue(10);  // clamped to the smallest side an export accepts
    QCOMPARE(dialog.imageSize(), QSize(1280, kMinExportSide));
    auto* ok = dialog.findChild<QDialogButtonBox*>()->button(QDialogButtonBox::Ok);
    QVERIFY(ok->isEnabled());
    path->setText(QStringLiteral("/tmp/chart.jpg"));
    QVERIFY(!ok->isEnabled());  // only .png and .svg are written
    path->setText(QStringLiteral("/tmp/chart.SVG"));
    QVERIFY(ok->isEnabled());
    QCOMPARE(dialog.path(), QStringLiteral("/tmp/chart.SVG"));
  }

  void exportRefusesBadRequests() {
    QTemporaryDir dir;
    const std::vector<store::RunRecord> runs = fixtureRuns();
    const QString blocked = dir.filePath(QStringLiteral("file.txt"));
    QFile f(blocked);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.close();
    const QString under_file = blocked + QStringLiteral("/chart.png");
    Status st = exportChart(ChartKind::kTradeoff, runs, 0, {}, under_file, QSize(800, 600));
    QVERIFY(!st);
    QVERIFY2(QString::fromStdString(st.message()).contains(under_file), st.message().c_str());
    st = exportChart(ChartKind::kTradeoff, runs, 0, {}, dir.filePath("c.jpg"), QSize(800, 600));
    QVERIFY(!st);
    QVERIFY(QString::fromStdString(st.message()).contains(QStringLiteral(".jpg")));
    st = exportChart(ChartKind::kTradeoff, runs, 0, {}, dir.filePath("c.png"), QSize(0, 600));
    QVERIFY(!st);
    st = exportChart(ChartKind::kTradeoff, {}, 0, {}, dir.filePath("e.png"), QSize(800, 600));
    QVERIFY(!st);
    QVERIFY(QString::fromStdString(st.message()).contains(QStringLiteral("No runs")));
    QVERIFY(!QFile::exists(dir.filePath("e.png")));
    QCOMPARE(parseExportSize(QStringLiteral("1600x900")), QSize(1600, 900));
    QVERIFY(!parseExportSize(QStringLiteral("1600")).isValid());
    QVERIFY(!parseExportSize(QStringLiteral("10x10")).isValid());
    QVERIFY(!parseExportSize(QStringLiteral("-5x900")).isValid());
  }

  // Charts over two runs measured for real (yolov5n_fp32 on 4 COCO val images: dense and
  // magnitude 50 %), saved as the screenshots the docs use.
  void screenshotOfRealRuns() {
    const QByteArray data = qgetenv("DETSLIM_TEST_DATA");
    if (data.isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset: the screenshot needs real runs");
    const QString root = QString::fromLocal8Bit(data);
    QTemporaryDir dir;
    Result<store::Store> db =
        store::Store::open(dir.filePath(QStringLiteral("results.sqlite")).toStdString());
    QVERIFY2(db, db.status().message().c_str());
    // Peak RSS needs the CLI's probe; use it when this build has it.
    const QString cli =
        QCoreApplication::applicationDirPath() + QStringLiteral("/../../app/cli/detslim");
    Result<std::vector<int64_t>> stored = detslim::testing::storeRealRuns(
        *db, root.toStdString(), QFileInfo(cli).isExecutable() ? cli.toStdString() : "");
    QVERIFY2(stored, stored.status().message().c_str());
    const std::vector<int64_t> ids = *stored;
    Result<std::vector<store::RunRecord>> runs = db->listRuns();
    QVERIFY(runs);
    QCOMPARE(runs->size(), size_t{2});
    const std::vector<TradeoffPoint> points =
        tradeoffPoints(*runs, MapMetric::kMap5095, LatencyKind::kInference);
    QCOMPARE(points.size(), size_t{2});

    ChartsView view;
    view.resize(1280, 800);
    view.setRuns(*runs, ids[0]);
    view.setSelectedRun(ids[1]);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    const QString shots = screenshotDir();
    for (ChartKind kind : allChartKinds()) {
      view.setKind(kind);
      QVERIFY2(view.chart()->emptyMessage().isEmpty(),
               qPrintable(chartKindName(kind) + ": " + view.chart()->emptyMessage()));
      QCoreApplication::processEvents();
      QVERIFY(view.grab().save(shots + QStringLiteral("/charts_") + chartKindName(kind) +
                               QStringLiteral(".png")));
    }
    view.setKind(ChartKind::kTradeoff);
    QCoreApplication::processEvents();
    const QImage shot = view.grab().toImage();
    QCOMPARE(shot.size(), QSize(1280, 800));
    QVERIFY(shot.save(shots + QStringLiteral("/charts.png")));
  }
};

QTEST_MAIN(TestCharts)
#include "tst_charts.moc"
