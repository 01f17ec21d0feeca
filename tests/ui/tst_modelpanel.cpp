// ModelPanel and LayerInspector offscreen on the shared YOLOv5n (opened through core's
// inspectModel): the table shows what core counted (layers, params, MACs), the op and text
// filters narrow to the known Conv count, sorting by params puts the largest layer first, an op
// the engine lacks is flagged, and the layer inspector's zero count is the tensor's, before and
// after pruning a copy of the model in memory (magnitude 50 %, R-TOSS 2EP).

#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QSignalSpy>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QtTest>
#include <algorithm>
#include <bit>

#include "core/graph/builder.h"
#include "core/prune/patterns.h"
#include "core/prune/prune.h"
#include "core/workbench/inspect.h"
#include "ui/models/format.h"
#include "ui/models/layertablemodel.h"
#include "ui/models/sparsitybardelegate.h"
#include "ui/views/layerinspector.h"
#include "ui/views/modelpanel.h"

using detslim::ModelInspection;
using detslim::ui::LayerInspector;
using detslim::ui::LayerTableModel;
using detslim::ui::ModelPanel;

namespace {

// yolov5n's model.2 bottleneck 3x3 conv, 16 x 16 x 3 x 3 (256 kernels of 9 weights).
const QString kConv3x3 = QStringLiteral("/model.2/m/m.0/cv2/conv/Conv");
constexpr int kYolov5nLayers = 263;
constexpr int kYolov5nConvs = 60;

std::shared_ptr<const ModelInspection> pruned(const ModelInspection& original,
                                              const std::string& method, double sparsity,
                                              std::map<std::string, std::string> opts = {}) {
  auto copy = std::make_shared<ModelInspection>(original);  // tensors shared; the pruner clones
  detslim::prune::PruneOptions options;
  options.method = method;
  options.sparsity = sparsity;
  options.opts = std::move(opts);
  auto report = detslim::prune::pruneModel(copy->model, options);
  if (!report) qFatal("%s", report.status().message().c_str());
  copy->stats = detslim::computeStats(copy->model.graph);
  return copy;
}

// The weight tensor of a conv layer, found the way the inspector finds it.
const detslim::Tensor* weightOf(const ModelInspection& inspection, const QString& layer) {
  auto found = detslim::prune::findConvWeightLayer(inspection.model.graph, layer.toStdString());
  return found ? found->tensor : nullptr;
}

}  // namespace

class TestModelPanel : public QObject {
  Q_OBJECT

 private:
  std::shared_ptr<const ModelInspection> m_yolo;

  // Every test on real data starts with this (QSKIP must be called from the test function).
  bool haveModel() const { return m_yolo != nullptr; }

 private slots:
  void initTestCase() {
    const QByteArray dir = qgetenv("DETSLIM_TEST_DATA");
    if (dir.isEmpty()) return;
    const std::string path = dir.toStdString() + "/models/yolov5n_fp32.onnx";
    auto inspection = detslim::inspectModel(path);
    QVERIFY2(inspection.isOk(), inspection.status().message().c_str());
    m_yolo = std::make_shared<const ModelInspection>(std::move(inspection).value());
    QDir().mkpath(QStringLiteral(DETSLIM_SCREENSHOT_DIR));
  }

  void emptyStates() {
    ModelPanel panel;
    auto* empty = panel.findChild<QLabel*>(QStringLiteral("modelPanelEmpty"));
    QVERIFY(empty && empty->isVisibleTo(&panel));
    QVERIFY(empty->text().startsWith(QStringLiteral("No model loaded")));
    QCOMPARE(panel.layerModel()->rowCount(), 0);
    LayerInspector inspector;
    auto* noModel = inspector.findChild<QLabel*>(QStringLiteral("layerInspectorEmpty"));
    QVERIFY(noModel && noModel->isVisibleTo(&inspector));
    QVERIFY(!inspector.showLayer(kConv3x3));
    QVERIFY(inspector.currentMap() == nullptr);
  }

  void tableShowsWhatCoreCounted() {
    if (!haveModel()) QSKIP("DETSLIM_TEST_DATA is unset: needs models/yolov5n_fp32.onnx");
    ModelPanel panel;
    panel.setInspection(m_yolo);
    const LayerTableModel* layers = panel.layerModel();
    QCOMPARE(static_cast<size_t>(layers->rowCount()), m_yolo->stats.layers.size());
    QCOMPARE(layers->rowCount(), kYolov5nLayers);
    QCOMPARE(panel.visibleLayerCount(), kYolov5nLayers);
    qlonglong params = 0;
    qlonglong macs = 0;
    for (int row = 0; row < layers->rowCount(); ++row) {
      params += layers->index(row, LayerTableModel::kParams)
                    .data(LayerTableModel::kSortRole)
                    .toLongLong();
      macs +=
          layers->index(row, LayerTableModel::kMacs).data(LayerTableModel::kSortRole).toLongLong();
    }
    QCOMPARE(params, m_yolo->stats.params);
    QCOMPARE(params, 1867405);
    QCOMPARE(macs, 2234060800LL);
    // Row 0 is the stem conv, in topological order: 16 x 3 x 6 x 6 + 16.
    QCOMPARE(layers->index(0, LayerTableModel::kName).data().toString(),
             QStringLiteral("/model.0/conv/Conv"));
    QCOMPARE(layers->index(0, LayerTableModel::kParams).data().toString(), QStringLiteral("1,744"));
    QCOMPARE(layers->index(0, LayerTableModel::kInputs).data().toString(),
             QStringLiteral("float32[1,3,640,640]"));
    QCOMPARE(layers->index(0, LayerTableModel::kOutputs).data().toString(),
             QStringLiteral("float32[1,16,320,320]"));
    QCOMPARE(layers->unsupportedCount(), 0);

    const QString summary = panel.summaryText();
    QVERIFY2(summary.contains(QStringLiteral("1,867,405")), qPrintable(summary));
    QVERIFY(summary.contains(QStringLiteral("2,234,060,800")));
    QVERIFY(summary.contains(QStringLiteral("7,918,388 bytes")));
    QVERIFY(summary.contains(QStringLiteral("float32[1,3,640,640]")));
    QVERIFY(summary.contains(QStringLiteral("float32[1,25200,85]")));
    QVERIFY(summary.contains(QStringLiteral("opset ai.onnx 17")));
    QVERIFY(summary.contains(QStringLiteral("80 classes: person, bicycle, car")));
    QVERIFY(summary.contains(QStringLiteral("runs every op")));
  }

  void filtersNarrowToConvRows() {
    if (!haveModel()) QSKIP("DETSLIM_TEST_DATA is unset: needs models/yolov5n_fp32.onnx");
    ModelPanel panel;
    panel.setInspection(m_yolo);
    QCOMPARE(m_yolo->stats.op_counts.at("Conv"), kYolov5nConvs);
    panel.setOpTypeFilter(QStringLiteral("Conv"));
    QCOMPARE(panel.visibleLayerCount(), kYolov5nConvs);
    auto* combo = panel.findChild<QComboBox*>(QStringLiteral("opTypeFilter"));
    QCOMPARE(combo->currentText(), QStringLiteral("Conv (60)"));
    panel.setOpTypeFilter(QString());
    QCOMPARE(panel.visibleLayerCount(), kYolov5nLayers);

    // Text matches op or name, case-insensitively: every Conv and no other node has "conv".
    auto* edit = panel.findChild<QLineEdit*>(QStringLiteral("layerFilter"));
    QTest::keyClicks(edit, QStringLiteral("Conv"));
    QCOMPARE(panel.visibleLayerCount(), kYolov5nConvs);
    auto* count = panel.findChild<QLabel*>(QStringLiteral("layerCount"));
    QCOMPARE(count->text(), QStringLiteral("60 of 263 layers"));
    for (int row = 0; row < panel.proxyModel()->rowCount(); ++row) {
      QCOMPARE(panel.proxyModel()->index(row, LayerTableModel::kOp).data().toString(),
               QStringLiteral("Conv"));
    }
    // Both filters at once: the 17 nodes of model.2, of which 5 are Sigmoid.
    panel.setFilterText(QStringLiteral("model.2/"));
    QCOMPARE(panel.visibleLayerCount(), 17);
    panel.setOpTypeFilter(QStringLiteral("Sigmoid"));
    QCOMPARE(panel.visibleLayerCount(), 5);
  }

  void sortingByParamsPutsLargestFirst() {
    if (!haveModel()) QSKIP("DETSLIM_TEST_DATA is unset: needs models/yolov5n_fp32.onnx");
    ModelPanel panel;
    panel.setInspection(m_yolo);
    const auto largest =
        std::max_element(m_yolo->stats.layers.begin(), m_yolo->stats.layers.end(),
                         [](const auto& a, const auto& b) { return a.params < b.params; });
    panel.layerTable()->sortByColumn(LayerTableModel::kParams, Qt::DescendingOrder);
    const QAbstractItemModel* proxy = panel.proxyModel();
    QCOMPARE(proxy->index(0, LayerTableModel::kName).data().toString(),
             QString::fromStdString(largest->name));
    QCOMPARE(proxy->index(0, LayerTableModel::kName).data().toString(),
             QStringLiteral("/model.7/conv/Conv"));  // 256 x 128 x 3 x 3 + 256
    QCOMPARE(proxy->index(0, LayerTableModel::kParams).data().toString(),
             QStringLiteral("295,168"));
    // Numeric, not text order: "9,248" would come before "295,168" as text.
    for (int row = 1; row < proxy->rowCount(); ++row) {
      QVERIFY(proxy->index(row - 1, LayerTableModel::kParams)
                  .data(LayerTableModel::kSortRole)
                  .toLongLong() >= proxy->index(row, LayerTableModel::kParams)
                                       .data(LayerTableModel::kSortRole)
                                       .toLongLong());
    }
    panel.layerTable()->sortByColumn(LayerTableModel::kMacs, Qt::DescendingOrder);
    QCOMPARE(proxy->index(0, LayerTableModel::kMacs).data(LayerTableModel::kSortRole).toLongLong(),
             std::max_element(m_yolo->stats.layers.begin(), m_yolo->stats.layers.end(),
                              [](const auto& a, const auto& b) { return a.macs < b.macs; })
                 ->macs);
  }

  void doubleClickEmitsLayerActivated() {
    if (!haveModel()) QSKIP("DETSLIM_TEST_DATA is unset: needs models/yolov5n_fp32.onnx");
    ModelPanel panel;
    panel.resize(1280, 800);
    panel.setInspection(m_yolo);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QSignalSpy activated(&panel, &ModelPanel::layerActivated);
    QTableView* table = panel.layerTable();
    const QRect rect = table->visualRect(panel.proxyModel()->index(1, LayerTableModel::kName));
    QTest::mouseClick(table->viewport(), Qt::LeftButton, {}, rect.center());
    QTest::mouseDClick(table->viewport(), Qt::LeftButton, {}, rect.center());
    QCOMPARE(activated.count(), 1);
    QCOMPARE(activated.first().first().toString(), QStringLiteral("/model.0/act/Sigmoid"));
  }

  void unsupportedOpIsFlagged() {
    using namespace detslim;
    GraphBuilder b("handmade", 17);
    const std::string x = b.input("x", DType::kFloat32, {1, 3, 8, 8});
    const std::string w = b.constant("w", Tensor(DType::kFloat32, {4, 3, 3, 3}));
    const std::string c = b.node("Conv", {x, w}, {Attribute::makeInts("pads", {1, 1, 1, 1})});
    const std::string y = b.node("DetSlimNoSuchOp", {c});
    b.output(y);
    auto inspection = std::make_shared<ModelInspection>();
    inspection->path = "/tmp/handmade.onnx";
    inspection->model = b.build();
    inspection->stats = computeStats(inspection->model.graph);
    inspection->unsupported_ops = findUnsupportedOps(inspection->model.graph);
    QCOMPARE(inspection->unsupported_ops.size(), size_t{1});

    ModelPanel panel;
    panel.setInspection(inspection);
    const LayerTableModel* layers = panel.layerModel();
    QCOMPARE(layers->rowCount(), 2);
    QCOMPARE(layers->unsupportedCount(), 1);
    const int bad = layers->index(0, 0).data().toString() == QStringLiteral("Conv") ? 1 : 0;
    QCOMPARE(layers->index(bad, LayerTableModel::kOp).data().toString(),
             QStringLiteral("DetSlimNoSuchOp"));
    QVERIFY(layers->index(bad, 0).data(LayerTableModel::kUnsupportedRole).toBool());
    QVERIFY(!layers->index(1 - bad, 0).data(LayerTableModel::kUnsupportedRole).toBool());
    QCOMPARE(layers->index(bad, LayerTableModel::kEngine).data().toString(),
             QStringLiteral("unsupported"));
    QCOMPARE(
        layers->index(bad, LayerTableModel::kOp).data(Qt::ForegroundRole).value<QBrush>().color(),
        QColor(0xc6, 0x28, 0x28));
    const QString summary = panel.summaryText();
    QVERIFY2(summary.contains(QStringLiteral("cannot run yet: DetSlimNoSuchOp ×1")),
             qPrintable(summary));
    // A zero weight: the inspector maps it all white.
    LayerInspector inspector;
    inspector.setInspection(inspection);
    QCOMPARE(inspector.layerCount(), 1);
    QVERIFY(inspector.currentMap());
    QCOMPARE(inspector.currentMap()->zeros, 108);
    QCOMPARE(inspector.currentMap()->zero_rows, 4);
  }

  void inspectorZeroCountIsTheTensors() {
    if (!haveModel()) QSKIP("DETSLIM_TEST_DATA is unset: needs models/yolov5n_fp32.onnx");
    LayerInspector inspector;
    inspector.setInspection(m_yolo);
    QCOMPARE(inspector.layerCount(), kYolov5nConvs);
    QCOMPARE(inspector.currentLayer(), QStringLiteral("/model.0/conv/Conv"));
    QSignalSpy changed(&inspector, &LayerInspector::currentLayerChanged);
    QVERIFY(inspector.showLayer(kConv3x3));
    QCOMPARE(changed.count(), 1);
    QVERIFY(!inspector.showLayer(QStringLiteral("/model.0/act/Sigmoid")));  // no weight
    QVERIFY(!inspector.showLayer(QStringLiteral("nope")));
    QCOMPARE(inspector.currentLayer(), kConv3x3);

    const detslim::Tensor* weight = weightOf(*m_yolo, kConv3x3);
    QVERIFY(weight);
    const auto* map = inspector.currentMap();
    QVERIFY(map);
    QCOMPARE(map->rows, 16);
    QCOMPARE(map->cols, 144);
    QCOMPARE(map->total, 2304);
    QCOMPARE(map->zeros, weight->countZeros());
    const QString stats = inspector.statsText();
    QVERIFY2(stats.contains(QStringLiteral("Zeros: %1 / 2,304")
                                .arg(detslim::ui::groupDigits(weight->countZeros()))),
             qPrintable(stats));
    int64_t kernels = 0;
    for (const auto& p : inspector.currentPatterns()) kernels += p.count;
    QCOMPARE(kernels, 256);

    inspector.setZoom(4);
    auto* mapView = inspector.findChild<QWidget*>(QStringLiteral("zeroMap"));
    QCOMPARE(mapView->size(), QSize(144 * 4, 16 * 4));
  }

  void sparsityMovesAfterPruningACopy() {
    if (!haveModel()) QSKIP("DETSLIM_TEST_DATA is unset: needs models/yolov5n_fp32.onnx");
    LayerInspector inspector;
    ModelPanel panel;
    inspector.setInspection(m_yolo);
    panel.setInspection(m_yolo);
    QVERIFY(inspector.showLayer(kConv3x3));
    const double before = inspector.currentMap()->sparsity;
    QVERIFY(before < 0.01);
    const int row = panel.layerModel()->rowOfLayer(kConv3x3);
    QVERIFY(row >= 0);
    QVERIFY(panel.layerModel()->index(row, 0).data(LayerTableModel::kSparsityRole).toDouble() <
            0.01);

    const auto half = pruned(*m_yolo, "magnitude", 0.5);
    inspector.setInspection(half);
    panel.setInspection(half);
    QCOMPARE(inspector.currentLayer(), kConv3x3);  // kept across the model swap
    const auto* map = inspector.currentMap();
    const detslim::Tensor* weight = weightOf(*half, kConv3x3);
    QCOMPARE(map->zeros, weight->countZeros());
    QCOMPARE(map->zeros, 1152);  // magnitude is per layer by default: round(0.5 x 2304)
    QVERIFY(inspector.statsText().contains(QStringLiteral("Zeros: 1,152 / 2,304 (50.00 %)")));
    QCOMPARE(panel.layerModel()->index(row, LayerTableModel::kSparsity).data().toString(),
             QStringLiteral("50.0 %"));
    // The original is untouched: the pruner cloned the tensors it wrote.
    QCOMPARE(weightOf(*m_yolo, kConv3x3)->countZeros(), static_cast<int64_t>(before * 2304 + 0.5));
    QCOMPARE(detslim::ui::SparsityBarDelegate::label(0.5), QStringLiteral("50.0 %"));
  }

  void rtossShowsFewPatternsAndScreenshots() {
    if (!haveModel()) QSKIP("DETSLIM_TEST_DATA is unset: needs models/yolov5n_fp32.onnx");
    const auto rtoss = pruned(*m_yolo, "rtoss", 0.0, {{"entries", "2"}});
    LayerInspector inspector;
    inspector.resize(1280, 800);
    inspector.setInspection(rtoss);
    QVERIFY(inspector.showLayer(QStringLiteral("/model.4/m/m.0/cv2/conv/Conv")));  // 32x32x3x3
    const auto& patterns = inspector.currentPatterns();
    QVERIFY(!patterns.empty());
    QVERIFY(patterns.size() <= 12);  // the 12 two-cell 4-connected patterns at most
    int64_t kernels = 0;
    for (const auto& p : patterns) {
      QCOMPARE(std::popcount(p.mask), 2);
      kernels += p.count;
    }
    QCOMPARE(kernels, 32 * 32);
    QCOMPARE(inspector.currentMap()->zeros, 32 * 32 * 7);
    auto* note = inspector.findChild<QLabel*>(QStringLiteral("patternNote"));
    QVERIFY2(
        note->text().contains(QStringLiteral("%1 distinct in 1,024 kernels").arg(patterns.size())),
        qPrintable(note->text()));
    inspector.setZoom(0);
    inspector.show();
    QVERIFY(QTest::qWaitForWindowExposed(&inspector));
    // Fit: whole-pixel cells, at most 4x taller than wide, filling the view's width.
    auto* mapView = inspector.findChild<QWidget*>(QStringLiteral("zeroMap"));
    const int cellW = mapView->width() / 288;
    QVERIFY(cellW >= 1);
    QVERIFY(inspector.grab().save(QStringLiteral(DETSLIM_SCREENSHOT_DIR "/layer_inspector.png")));
  }

  void screenshotModelPanel() {
    if (!haveModel()) QSKIP("DETSLIM_TEST_DATA is unset: needs models/yolov5n_fp32.onnx");
    ModelPanel panel;
    panel.resize(1280, 800);
    panel.setInspection(m_yolo);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    QVERIFY(panel.grab().save(QStringLiteral(DETSLIM_SCREENSHOT_DIR "/model.png")));
  }
};

QTEST_MAIN(TestModelPanel)
#include "tst_modelpanel.moc"
