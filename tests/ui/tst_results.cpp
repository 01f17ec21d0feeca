// ResultsView over a real results store in a temporary folder: the rows and their figures, the
// baseline deltas, text and store-expression filters (a refused expression shows the store's
// message and keeps the rows), deletion behind a confirmation (gone from the table and the
// file), and the empty state of a store that does not exist yet.

#include <QAction>
#include <QDir>
#include <QFile>
#include <QLabel>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

#include "core/store/store.h"
#include "ui/models/resultstablemodel.h"
#include "ui/views/resultsview.h"

using detslim::ui::ResultsTableModel;
using detslim::ui::ResultsView;
namespace store = detslim::store;

namespace {

constexpr int kWaitMs = 30000;
constexpr int64_t kMiB = 1024 * 1024;

struct RunSpec {
  const char* model;
  const char* method;
  double sparsity;
  const char* precision;
  const char* calibrator;  // "" for none
  double map;              // < 0: no metrics (a failed run)
  double latency_ms;
  int64_t weights_bytes;
  const char* status;
};

store::RunRecord makeRun(const RunSpec& s) {
  store::RunRecord r;
  r.model.name = s.model;
  r.model.path = std::string("/models/") + s.model;
  r.model.sha256 = store::sha256Hex(s.model);
  r.dataset.path = "/data/coco/images/val2017";
  r.dataset.format = "coco";
  r.dataset.image_count = 128;
  r.prune_method = s.method;
  r.sparsity = s.sparsity;
  r.precision = s.precision;
  r.config = {{"prune", {{"method", s.method}, {"params", nlohmann::json::object()}}},
              {"precision", s.precision},
              {"threads", 2},
              {"input_size", 640}};
  if (*s.calibrator) r.config["precision_params"] = {{"calibrator", s.calibrator}};
  r.status = s.status;
  if (r.status != store::kStatusOk) r.error = "engine refused the model";
  r.started_at = "2024-05-01T11:59:00Z";
  r.finished_at = "2024-05-01T12:00:00Z";
  if (s.map >= 0) {
    r.has_metrics = true;
    r.stats.fill(0.1);
    r.stats[0] = s.map;
    r.stats[1] = s.map + 0.18;
  }
  if (s.latency_ms > 0) {
    store::LatencyRecord l;
    l.kind = store::kLatencyInference;
    l.summary.runs = 50;
    l.summary.median_ms = s.latency_ms;
    l.summary.mean_ms = s.latency_ms;
    l.summary.p90_ms = s.latency_ms * 1.1;
    l.summary.p99_ms = s.latency_ms * 1.25;
    l.summary.min_ms = s.latency_ms * 0.9;
    l.summary.max_ms = s.latency_ms * 1.3;
    r.latency.push_back(l);
    r.throughput.push_back({1, 1000.0 / s.latency_ms});
    store::MemoryRecord m;
    m.weights_bytes = s.weights_bytes;
    m.weights_by_dtype = {{"float32", s.weights_bytes}};
    m.peak_rss_bytes = 200 * kMiB;
    r.memory = m;
  }
  return r;
}

// Ids 1..5 in this order: the newest run is a yolov5n one, so the default baseline is run 3.
const RunSpec kRuns[] = {
    {"yolox_nano.onnx", "none", 0.0, "fp32", "", -1, 0, 0, "failed"},
    {"yolox_nano.onnx", "none", 0.0, "fp32", "", 0.25, 30.0, 4 * kMiB, "ok"},
    {"yolov5n_fp32.onnx", "none", 0.0, "fp32", "", 0.34, 20.0, 15 * kMiB / 2, "ok"},
    {"yolov5n_fp32.onnx", "magnitude", 0.5, "fp32", "", 0.30, 18.0, 15 * kMiB / 2, "ok"},
    {"yolov5n_fp32.onnx", "none", 0.0, "int8", "entropy", 0.33, 10.0, 15 * kMiB / 8, "ok"},
};

QString cell(const ResultsTableModel& model, int64_t id, int column, int role = Qt::DisplayRole) {
  const int row = model.rowOfRun(id);
  if (row < 0) return QStringLiteral("<no row %1>").arg(id);
  return model.data(model.index(row, column), role).toString();
}

}  // namespace

class TestResults : public QObject {
  Q_OBJECT

 private:
  QTemporaryDir m_dir;
  QString m_db;

  // A fresh store holding kRuns.
  QString makeStore(const QString& name) {
    const QString path = m_dir.filePath(name);
    auto opened = store::Store::open(path.toStdString());
    if (!opened) qFatal("%s", opened.status().message().c_str());
    for (const RunSpec& spec : kRuns) {
      auto id = opened->insertRun(makeRun(spec));
      if (!id) qFatal("%s", id.status().message().c_str());
    }
    return path;
  }

  static bool waitReloaded(ResultsView& view) {
    QSignalSpy spy(&view, &ResultsView::reloaded);
    return spy.wait(kWaitMs);
  }

 private slots:
  void initTestCase() {
    QVERIFY(m_dir.isValid());
    m_db = makeStore(QStringLiteral("results.sqlite"));
  }

  void loadsRowsWithTheirFigures() {
    ResultsTableModel model;
    QSignalSpy reloaded(&model, &ResultsTableModel::modelReset);
    ResultsView view(&model, m_db);
    QVERIFY(reloaded.wait(kWaitMs));
    QCOMPARE(model.rowCount(), 5);
    QCOMPARE(view.proxyModel()->rowCount(), 5);
    QCOMPARE(static_cast<int>(model.runs().size()), 5);
    QCOMPARE(cell(model, 3, ResultsTableModel::kModel), QStringLiteral("yolov5n_fp32"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kDataset), QStringLiteral("val2017 (coco)"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kMap), QStringLiteral("0.340"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kMap50), QStringLiteral("0.520"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kLatencyMs), QStringLiteral("20.00"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kP99Ms), QStringLiteral("25.00"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kThroughput), QStringLiteral("50.0"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kWeightsMiB), QStringLiteral("7.50"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kPeakRssMiB), QStringLiteral("200.00"));
    QCOMPARE(cell(model, 3, ResultsTableModel::kFinishedAt), QStringLiteral("2024-05-01 12:00:00"));
    QCOMPARE(cell(model, 4, ResultsTableModel::kSparsity), QStringLiteral("50 %"));
    QCOMPARE(cell(model, 5, ResultsTableModel::kPrecision), QStringLiteral("int8 (entropy)"));
    QCOMPARE(cell(model, 1, ResultsTableModel::kStatus), QStringLiteral("failed"));
    QCOMPARE(cell(model, 1, ResultsTableModel::kMap), QString());  // no metrics: blank, not 0
    QVERIFY(!model
                 .data(model.index(model.rowOfRun(1), ResultsTableModel::kMap),
                       ResultsTableModel::kSortRole)
                 .isValid());
    QCOMPARE(model.data(model.index(0, ResultsTableModel::kMethod), ResultsTableModel::kRunIdRole)
                 .toLongLong(),
             1);
  }

  void baselineDefaultsToUnprunedFp32OfTheModelAndDeltasFollow() {
    ResultsTableModel model;
    ResultsView view(&model, m_db);
    QVERIFY(waitReloaded(view));
    QCOMPARE(model.baselineId(), 3);
    QCOMPARE(cell(model, 3, ResultsTableModel::kId), QStringLiteral("\u2605 3"));
    QVERIFY(model.data(model.index(model.rowOfRun(3), 0), Qt::FontRole).value<QFont>().bold());
    QVERIFY(!model.data(model.index(model.rowOfRun(4), 0), Qt::FontRole).value<QFont>().bold());
    QVERIFY(
        model.data(model.index(model.rowOfRun(3), 5), ResultsTableModel::kIsBaselineRole).toBool());
    // 0.30 against 0.34: -4.0 points; 18 / 20 ms; same weights.
    QCOMPARE(cell(model, 4, ResultsTableModel::kDeltaMap), QStringLiteral("-4.0 pt"));
    QCOMPARE(cell(model, 4, ResultsTableModel::kLatencyRatio), QStringLiteral("0.90\u00d7"));
    QCOMPARE(cell(model, 4, ResultsTableModel::kWeightsRatio), QStringLiteral("1.00\u00d7"));
    QCOMPARE(cell(model, 5, ResultsTableModel::kDeltaMap), QStringLiteral("-1.0 pt"));
    QCOMPARE(cell(model, 5, ResultsTableModel::kLatencyRatio), QStringLiteral("0.50\u00d7"));
    QCOMPARE(cell(model, 5, ResultsTableModel::kWeightsRatio), QStringLiteral("0.25\u00d7"));
    QCOMPARE(model
                 .data(model.index(model.rowOfRun(4), ResultsTableModel::kDeltaMap),
                       ResultsTableModel::kValueRole)
                 .toDouble(),
             -4.0);

    // Selecting a run of the other model moves the automatic baseline to that model's.
    QSignalSpy selected(&view, &ResultsView::selectionChangedRuns);
    view.selectRuns({2});
    QCOMPARE(selected.count(), 1);
    QCOMPARE(selected.first().first().value<QList<qint64>>(), QList<qint64>{2});
    QCOMPARE(model.baselineId(), 2);

    // An explicit baseline stays whatever is selected next.
    QSignalSpy changed(&model, &ResultsTableModel::baselineChanged);
    view.selectRuns({5});
    QVERIFY(view.setBaselineAction()->isEnabled());
    view.setBaselineAction()->trigger();
    QCOMPARE(model.baselineId(), 5);
    QCOMPARE(changed.count(), 2);  // auto (-> 3) on selecting run 5, then explicit (-> 5)
    view.selectRuns({2, 4});
    QVERIFY(!view.setBaselineAction()->isEnabled());  // one run only
    QCOMPARE(model.baselineId(), 5);
    QCOMPARE(cell(model, 4, ResultsTableModel::kDeltaMap), QStringLiteral("-3.0 pt"));
    QCOMPARE(cell(model, 4, ResultsTableModel::kLatencyRatio), QStringLiteral("1.80\u00d7"));
    QCOMPARE(cell(model, 4, ResultsTableModel::kWeightsRatio), QStringLiteral("4.00\u00d7"));
    // A run without metrics has no delta.
    QCOMPARE(cell(model, 1, ResultsTableModel::kDeltaMap), QString());
  }

  void focusedRunIsTheLastClickedOfTheSelection() {
    ResultsTableModel model;
    ResultsView view(&model, m_db);
    QVERIFY(waitReloaded(view));
    QCOMPARE(view.focusedRunId(), 0);
    view.selectRuns({2, 4});
    // The user ctrl-clicks run 2 last: its row becomes current, and it is the one charted.
    const QModelIndex row2 = view.proxyModel()->mapFromSource(model.index(model.rowOfRun(2), 0));
    view.table()->selectionModel()->setCurrentIndex(row2, QItemSelectionModel::NoUpdate);
    QCOMPARE(view.focusedRunId(), 2);
    // A current row outside the selection falls back to the highest selected id.
    const QModelIndex row5 = view.proxyModel()->mapFromSource(model.index(model.rowOfRun(5), 0));
    view.table()->selectionModel()->setCurrentIndex(row5, QItemSelectionModel::NoUpdate);
    QCOMPARE(view.focusedRunId(), 4);
  }

  void textAndExpressionFilters() {
    ResultsTableModel model;
    ResultsView view(&model, m_db);
    QVERIFY(waitReloaded(view));
    view.setFilter(QStringLiteral("int8"));
    QCOMPARE(view.proxyModel()->rowCount(), 1);
    QCOMPARE(view.proxyModel()->index(0, 0).data(ResultsTableModel::kRunIdRole).toLongLong(), 5);
    view.setFilter(QStringLiteral("yolox"));
    QCOMPARE(view.proxyModel()->rowCount(), 2);
    view.setFilter(QString());
    QCOMPARE(view.proxyModel()->rowCount(), 5);

    // A store expression goes to listRuns: a run without metrics never matches a map clause.
    QSignalSpy reloaded(&view, &ResultsView::reloaded);
    view.setFilter(QStringLiteral("map < 0.32 and model ~ yolo"));
    QVERIFY(reloaded.wait(kWaitMs));
    QCOMPARE(model.rowCount(), 2);
    QCOMPARE(model.runs()[0].id, 2);
    QCOMPARE(model.runs()[1].id, 4);
    QVERIFY(view.filterError().isEmpty());
    auto* count = view.findChild<QLabel*>(QStringLiteral("resultsCount"));
    QVERIFY(count);
    QCOMPARE(count->text(), QStringLiteral("2 of 5 runs"));

    // A refused expression: the store's message, and the rows stay.
    QSignalSpy errors(&view, &ResultsView::errorOccurred);
    view.setFilter(QStringLiteral("mapp > 0.3"));
    QVERIFY(errors.wait(kWaitMs));
    const QString message = errors.first().first().toString();
    QVERIFY2(message.contains(QStringLiteral("unknown field 'mapp' at column 1")),
             qPrintable(message));
    QCOMPARE(view.filterError(), message);
    auto* status = view.findChild<QLabel*>(QStringLiteral("resultsStatus"));
    QVERIFY(status);
    QVERIFY(!status->isHidden());
    QCOMPARE(status->text(), message);
    QCOMPARE(model.rowCount(), 2);
    QVERIFY(view.isEnabled());

    // Fixing it clears the message.
    view.setFilter(QStringLiteral("method == magnitude"));
    QVERIFY(reloaded.wait(kWaitMs));
    QCOMPARE(model.rowCount(), 1);
    QVERIFY(view.filterError().isEmpty());
    QVERIFY(status->isHidden());
  }

  void deleteAsksThenRemovesFromTableAndFile() {
    const QString path = makeStore(QStringLiteral("delete.sqlite"));
    ResultsTableModel model;
    ResultsView view(&model, path);
    QVERIFY(waitReloaded(view));
    QString asked;
    bool answer = false;
    view.setConfirmer([&](QWidget*, const QString&, const QString& text) {
      asked = text;
      return answer;
    });
    view.selectRuns({4, 5});
    QVERIFY(view.deleteAction()->isEnabled());

    view.deleteAction()->trigger();  // answered "no": nothing happens
    QVERIFY2(asked.startsWith(QStringLiteral("Delete 2 runs (ids 4, 5)")), qPrintable(asked));
    QVERIFY(!view.isBusy());
    QCOMPARE(model.rowCount(), 5);

    answer = true;
    QSignalSpy reloaded(&view, &ResultsView::reloaded);
    view.deleteSelected();
    QVERIFY(reloaded.wait(kWaitMs));
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.rowOfRun(4), -1);
    QCOMPARE(model.rowOfRun(5), -1);
    QVERIFY(view.selectedRunIds().isEmpty());

    auto reopened = store::Store::open(path.toStdString());
    QVERIFY(reopened.isOk());
    QCOMPARE(reopened->countRuns().value(), 3);
    QCOMPARE(reopened->getRun(4).status().code(), detslim::ErrorCode::kNotFound);
    QVERIFY(reopened->getRun(3).isOk());

    view.selectRuns({1});
    view.deleteSelected();
    QVERIFY(asked.startsWith(QStringLiteral("Delete 1 run (id 1)")));
    QVERIFY(reloaded.wait(kWaitMs));
    QCOMPARE(model.rowCount(), 2);
  }

  void missingStoreShowsEmptyStateAndIsNotCreated() {
    const QString path = m_dir.filePath(QStringLiteral("none/results.sqlite"));
    ResultsTableModel model;
    ResultsView view(&model, path);
    QVERIFY(waitReloaded(view));
    QCOMPARE(model.rowCount(), 0);
    auto* empty = view.findChild<QLabel*>(QStringLiteral("resultsEmpty"));
    QVERIFY(empty);
    QVERIFY(empty->isVisibleTo(&view));
    QCOMPARE(empty->text(), QStringLiteral("No runs in %1 yet — run a configuration from the Run "
                                           "panel or `detslim run`.")
                                .arg(path));
    QVERIFY(!QFile::exists(path));
    QVERIFY(!view.deleteAction()->isEnabled());
  }

  void notAStoreShowsTheStoreMessage() {
    const QString path = m_dir.filePath(QStringLiteral("notes.txt"));
    QFile f(path);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("these are notes, not a database\n");
    f.close();
    ResultsTableModel model;
    ResultsView view(&model, path);
    QSignalSpy failed(&view, &ResultsView::errorOccurred);
    QVERIFY(failed.wait(kWaitMs));
    QVERIFY2(failed.last().first().toString().contains(QStringLiteral("not a DetSlim results")),
             qPrintable(failed.last().first().toString()));
    auto* empty = view.findChild<QLabel*>(QStringLiteral("resultsEmpty"));
    QVERIFY(empty->text().contains(QStringLiteral("not a DetSlim results")));
    // Still usable: point it at the real store.
    QSignalSpy reloaded(&view, &ResultsView::reloaded);
    view.setStorePath(m_db);
    QVERIFY(reloaded.wait(kWaitMs));
    QCOMPARE(model.rowCount(), 5);
  }

  void switchingStoresWhileLoadingShowsOnlyTheNewStore() {
    // A store whose runs are all pruned: no default baseline. Its run 3 must not inherit the
    // baseline of the store read before it (run 3 of m_db), whose load is still in flight.
    const QString other = m_dir.filePath(QStringLiteral("pruned_only.sqlite"));
    {
      auto opened = store::Store::open(other.toStdString());
      QVERIFY(opened.isOk());
      for (double sparsity : {0.3, 0.5, 0.7}) {
        const RunSpec spec{"yolov5n_fp32.onnx", "magnitude", sparsity, "fp32", "", 0.3, 18.0,
                           15 * kMiB / 2, "ok"};
        QVERIFY(opened->insertRun(makeRun(spec)).isOk());
      }
    }
    ResultsTableModel model;
    ResultsView view(&model, m_db);
    QSignalSpy errors(&view, &ResultsView::errorOccurred);
    QSignalSpy reloaded(&view, &ResultsView::reloaded);
    view.setStorePath(other);  // m_db's load is (almost always) still running
    QVERIFY(reloaded.wait(kWaitMs));
    QTRY_VERIFY_WITH_TIMEOUT(!view.isBusy(), kWaitMs);
    QCOMPARE(model.rowCount(), 3);
    QCOMPARE(model.baselineId(), 0);
    QVERIFY(!model.data(model.index(model.rowOfRun(3), 0), ResultsTableModel::kIsBaselineRole)
                 .toBool());
    QCOMPARE(cell(model, 3, ResultsTableModel::kDeltaMap), QString());
    QCOMPARE(errors.count(), 0);
  }

  void screenshot() {
    ResultsTableModel model;
    ResultsView view(&model, m_db);
    QVERIFY(waitReloaded(view));
    view.selectRuns({4});
    view.resize(1280, 800);
    view.show();
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.table()->resizeColumnsToContents();
    // Every delta column is on screen at 1280 px, beside the value it compares.
    const int right = view.table()->columnViewportPosition(ResultsTableModel::kWeightsRatio) +
                      view.table()->columnWidth(ResultsTableModel::kWeightsRatio);
    QVERIFY2(right <= view.table()->viewport()->width(), qPrintable(QString::number(right)));
    QDir().mkpath(QStringLiteral(DETSLIM_SCREENSHOT_DIR));
    QVERIFY(view.grab().save(QStringLiteral(DETSLIM_SCREENSHOT_DIR "/results.png")));
  }
};

QTEST_MAIN(TestResults)
#include "tst_results.moc"
