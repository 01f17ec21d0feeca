// DetectionViewer offscreen on real data: yolov5n_fp32 on COCO val images. The boxes drawn are
// the ground truth plus the predictions above the slider's confidence; the slider and the class
// filter redraw from the cache without running the model; side by side with a magnitude-0.6
// pruned configuration the lost boxes are those compareImage finds and the two canvases share
// zoom and scroll. Empty states say what is missing; a missing model and an image that does not
// decode give messages naming the file while the viewer stays usable.

#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QGraphicsItem>
#include <QLabel>
#include <QScrollBar>
#include <QSignalSpy>
#include <QSlider>
#include <QTemporaryDir>
#include <QToolButton>
#include <QtEndian>
#include <QtTest>
#include <algorithm>
#include <map>

#include "ui/viewer/detectioncanvas.h"
#include "ui/viewer/detectionviewer.h"

using detslim::DetectionMark;
using detslim::DetectorSpec;
using detslim::ui::DetectionCanvas;
using detslim::ui::DetectionViewer;

namespace {

constexpr int kBuildTimeoutMs = 120000;  // pruning + compiling yolov5n on 2 busy cores
constexpr int kImageTimeoutMs = 60000;
constexpr int kFirstImages = 5;  // the test image: most GT among these

QString dataDir() {
  return QString::fromLocal8Bit(qgetenv("DETSLIM_TEST_DATA"));
}
QString val2017() {
  return dataDir() + QStringLiteral("/coco/images/val2017");
}

DetectorSpec spec(const QString& label) {
  DetectorSpec s;
  s.model = (dataDir() + QStringLiteral("/models/yolov5n_fp32.onnx")).toStdString();
  s.label = label.toStdString();
  s.config.threads = 2;
  return s;
}

DetectorSpec prunedSpec() {
  DetectorSpec s = spec(QStringLiteral("magnitude 0.6"));
  s.config.prune_method = "magnitude";
  s.config.prune_params = {{"sparsity", "0.6"}};
  return s;
}

int countAbove(const std::vector<detslim::detect::Detection>& dets, double conf, int cls = -1) {
  return static_cast<int>(std::count_if(dets.begin(), dets.end(), [&](const auto& d) {
    return d.score >= conf && (cls < 0 || d.class_id == cls);
  }));
}

int itemsMarked(const DetectionCanvas* canvas, const QString& mark) {
  const auto items = canvas->boxItems();
  return static_cast<int>(std::count_if(items.begin(), items.end(), [&](const QGraphicsItem* i) {
    return i->data(DetectionCanvas::kMarkRole).toString() == mark;
  }));
}

// A PNG whose header (and so its size) reads fine but whose pixel data is garbage.
QByteArray brokenPng() {
  auto chunk = [](const QByteArray& type, const QByteArray& data, bool goodCrc) {
    QByteArray c;
    quint32 len = qToBigEndian<quint32>(static_cast<quint32>(data.size()));
    c.append(reinterpret_cast<const char*>(&len), 4);
    const QByteArray body = type + data;
    c.append(body);
    // CRC-32 of type + data (ISO 3309), as PNG wants it.
    quint32 crc = 0xFFFFFFFFu;
    for (char ch : body) {
      crc ^= static_cast<quint8>(ch);
      for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    crc = goodCrc ? ~crc : 0x12345678u;
    const quint32 be = qToBigEndian<quint32>(crc);
    c.append(reinterpret_cast<const char*>(&be), 4);
    return c;
  };
  QByteArray ihdr(13, '\0');
  const quint32 w = qToBigEndian<quint32>(64), h = qToBigEndian<quint32>(48);
  memcpy(ihdr.data(), &w, 4);
  memcpy(ihdr.data() + 4, &h, 4);
  ihdr[8] = 8;  // bit depth
  ihdr[9] = 2;  // RGB
  QByteArray png("\x89PNG\r\n\x1a\n", 8);
  png += chunk("IHDR", ihdr, true);
  png += chunk("IDAT", QByteArray(40, '\x5a'), false);
  png += chunk("IEND", QByteArray(), true);
  return png;
}

}  // namespace

class TestViewer : public QObject {
  Q_OBJECT

 private:
  // Opens val2017, builds the sides and shows the image with the most GT of the first few.
  int openRichestImage(DetectionViewer& v, bool sideBySide) {
    QSignalSpy loaded(&v, &DetectionViewer::datasetLoaded);
    QSignalSpy ready(&v, &DetectionViewer::sidesReady);
    v.setDataset(val2017());
    if (sideBySide) {
      v.setSides(spec(QStringLiteral("yolov5n fp32")), prunedSpec());
    } else {
      v.setSides(spec(QStringLiteral("yolov5n fp32")));
    }
    // The GUI thread is free while the model builds: the status says so and events flow.
    if (!v.isBusy()) return -1;
    if (!v.statusText().contains(QStringLiteral("running"))) return -2;
    if (!ready.wait(kBuildTimeoutMs) && ready.isEmpty()) return -3;
    if (loaded.isEmpty() && !loaded.wait(kImageTimeoutMs)) return -4;
    int best = 0;
    for (int i = 0; i < kFirstImages && i < v.imageCount(); ++i) {
      if (v.gtCount(i) > v.gtCount(best)) best = i;
    }
    v.showImage(best);
    return best;
  }

 private slots:
  void initTestCase() { QDir().mkpath(QStringLiteral(DETSLIM_SCREENSHOT_DIR)); }

  void emptyStatesSayWhatIsMissing() {
    DetectionViewer v;
    v.show();
    QVERIFY(v.canvas(DetectionViewer::Baseline)->message().contains(QStringLiteral("No dataset")));
    QVERIFY(v.statusText().contains(QStringLiteral("No detector")));
    QCOMPARE(v.imageCount(), 0);
    QVERIFY(!v.canvas(DetectionViewer::Compressed)->isVisible());
    // A folder that is no dataset: the message names it, nothing else changes.
    QTemporaryDir empty;
    QSignalSpy failed(&v, &DetectionViewer::errorOccurred);
    v.setDataset(empty.path());
    QVERIFY(failed.wait(kImageTimeoutMs));
    QVERIFY2(failed.first().first().toString().contains(empty.path()),
             qPrintable(failed.first().first().toString()));
    QVERIFY(v.isEnabled());
    QCOMPARE(v.imageCount(), 0);
  }

  void boxesFollowSliderAndClassFilter() {
    if (dataDir().isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    DetectionViewer v;
    v.resize(1280, 800);
    v.show();
    const int index = openRichestImage(v, false);
    QVERIFY2(index >= 0, qPrintable(QString::number(index)));
    QTRY_VERIFY_WITH_TIMEOUT(v.detections(DetectionViewer::Baseline) != nullptr, kImageTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!v.isBusy(), kImageTimeoutMs);
    const auto& dets = *v.detections(DetectionViewer::Baseline);
    const int gt = v.gtCount(index);
    QVERIFY(gt >= 5);  // the richest of the first COCO val images
    DetectionCanvas* canvas = v.canvas(DetectionViewer::Baseline);
    QVERIFY(canvas->hasImage());

    // At the default 0.25: every GT box plus the predictions scoring >= 0.25.
    QCOMPARE(v.confidence(), 0.25);
    const int above25 = countAbove(dets, 0.25);
    QVERIFY(above25 > 0);
    QCOMPARE(canvas->boxCount(DetectionCanvas::BoxKind::GroundTruth), gt);
    QCOMPARE(canvas->boxCount(DetectionCanvas::BoxKind::Prediction), above25);
    QCOMPARE(canvas->boxItems().size(), gt + above25);
    // Marks agree with the comparison: TP + FN = GT, TP + FP (+ ignored) = predictions.
    QVERIFY(v.comparison().has_value());
    const auto& a = v.comparison()->a;
    QCOMPARE(a.tp + a.fn, gt);
    QCOMPARE(a.tp + a.fp + a.ignored, above25);
    QCOMPARE(itemsMarked(canvas, QStringLiteral("tp")), a.tp);
    QCOMPARE(itemsMarked(canvas, QStringLiteral("fn")), a.fn);
    QVERIFY(v.findChild<QLabel*>(QStringLiteral("countsBar"))
                ->text()
                .contains(QStringLiteral("%1</span> &nbsp;FP").arg(a.tp)));

    // Up the slider: fewer predictions, the model is not run again.
    auto* slider = v.findChild<QSlider*>(QStringLiteral("confidenceSlider"));
    QVERIFY(slider);
    slider->setValue(60);
    QVERIFY(!v.isBusy());
    const int above60 = countAbove(dets, 0.60);
    QVERIFY(above60 < above25);
    QCOMPARE(canvas->boxCount(DetectionCanvas::BoxKind::Prediction), above60);
    QCOMPARE(canvas->boxCount(DetectionCanvas::BoxKind::GroundTruth), gt);
    v.setConfidence(0.25);
    QCOMPARE(canvas->boxCount(DetectionCanvas::BoxKind::Prediction), above25);

    // Class filter: the most frequent GT class only.
    const auto* s = v.sample(index);
    std::map<int, int> perClass;
    for (const auto& b : s->boxes) ++perClass[b.class_index];
    const int cls = std::max_element(perClass.begin(), perClass.end(), [](auto x, auto y) {
                      return x.second < y.second;
                    })->first;
    QVERIFY(perClass[cls] < gt);  // other classes exist to be hidden
    auto* combo = v.findChild<QComboBox*>(QStringLiteral("classFilter"));
    QVERIFY(combo);
    combo->setCurrentIndex(combo->findData(cls));
    QCOMPARE(v.classFilter(), cls);
    const auto items = canvas->boxItems();
    QCOMPARE(items.size(), perClass[cls] + countAbove(dets, 0.25, cls));
    for (const QGraphicsItem* item : items) {
      QCOMPARE(item->data(DetectionCanvas::kClassRole).toInt(), cls);
    }
    v.setClassFilter(-1);
    QCOMPARE(canvas->boxItems().size(), gt + above25);

    // Zoom: + enlarges, Fit returns to the fitted scale.
    const double fitted = canvas->zoom();
    v.findChild<QToolButton*>(QStringLiteral("zoomIn"))->click();
    QVERIFY(canvas->zoom() > fitted * 1.2);
    QVERIFY(!canvas->isFitted());
    v.findChild<QToolButton*>(QStringLiteral("zoomFit"))->click();
    QVERIFY(qAbs(canvas->zoom() - fitted) < 1e-6);
  }

  void sideBySideShowsLostBoxes() {
    if (dataDir().isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    DetectionViewer v;
    v.resize(1280, 800);
    v.show();
    const int index = openRichestImage(v, true);
    QVERIFY2(index >= 0, qPrintable(QString::number(index)));
    QTRY_VERIFY_WITH_TIMEOUT(v.detections(DetectionViewer::Compressed) != nullptr, kImageTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(!v.isBusy(), kImageTimeoutMs);
    QVERIFY(v.hasCompressed());
    QVERIFY(v.canvas(DetectionViewer::Compressed)->isVisible());
    QVERIFY(v.comparison() && v.comparison()->b);

    // The viewer's comparison is compareImage's on the cached detections.
    const auto& a = *v.detections(DetectionViewer::Baseline);
    const auto& b = *v.detections(DetectionViewer::Compressed);
    const auto expected = detslim::compareImage(v.sample(index)->boxes, a, &b, 0.5, 0.25);
    const auto& shown = *v.comparison();
    QCOMPARE(shown.lost, expected.lost);
    QCOMPARE(shown.gained, expected.gained);
    QCOMPARE(shown.newDetections(), expected.newDetections());
    QCOMPARE(shown.a.tp, expected.a.tp);
    QCOMPARE(shown.b->tp, expected.b->tp);
    // Magnitude pruning at 0.6 without fine-tuning loses boxes the baseline found.
    QVERIFY(!shown.lost.empty());
    DetectionCanvas* left = v.canvas(DetectionViewer::Baseline);
    DetectionCanvas* right = v.canvas(DetectionViewer::Compressed);
    QCOMPARE(itemsMarked(right, QStringLiteral("lost")), static_cast<int>(shown.lost.size()));
    QCOMPARE(itemsMarked(left, QStringLiteral("lost")), 0);
    QCOMPARE(right->boxCount(DetectionCanvas::BoxKind::Prediction), countAbove(b, 0.25));
    QVERIFY(v.findChild<QLabel*>(QStringLiteral("countsBar"))
                ->text()
                .contains(QStringLiteral("lost %1").arg(shown.lost.size())));

    // The screenshot of the docs: side by side, fitted.
    QVERIFY(v.grab().save(QStringLiteral(DETSLIM_SCREENSHOT_DIR "/viewer.png")));

    // One zoom and pan for both canvases.
    left->zoomBy(2.0);
    QCOMPARE(right->transform(), left->transform());
    left->horizontalScrollBar()->setValue(left->horizontalScrollBar()->maximum() / 2);
    QCOMPARE(right->horizontalScrollBar()->value(), left->horizontalScrollBar()->value());
    right->zoomBy(0.8);
    QCOMPARE(left->transform(), right->transform());
  }

  void anotherDatasetNeverShowsThePreviousDatasetsDetections() {
    if (dataDir().isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    DetectionViewer v;
    v.show();
    QSignalSpy loaded(&v, &DetectionViewer::datasetLoaded);
    QSignalSpy ready(&v, &DetectionViewer::sidesReady);
    v.setDataset(val2017());
    v.setSides(spec(QStringLiteral("yolov5n fp32")));
    QVERIFY(ready.wait(kBuildTimeoutMs) || !ready.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty() && !v.isBusy(), kImageTimeoutMs);
    QTRY_VERIFY_WITH_TIMEOUT(v.detections(DetectionViewer::Baseline) != nullptr, kImageTimeoutMs);
    QCOMPARE(v.currentIndex(), 0);
    const auto first = *v.detections(DetectionViewer::Baseline);
    const std::filesystem::path firstImage = v.sample(0)->image_path;

    // A second dataset: val2017's first image twice, so its image 1 must show image 0's boxes.
    QTemporaryDir dir;
    QDir(dir.path()).mkpath(QStringLiteral("images"));
    QDir(dir.path()).mkpath(QStringLiteral("labels"));
    const QString label = dataDir() + QStringLiteral("/coco/labels/val2017/") +
                          QString::fromStdString(firstImage.stem().string()) +
                          QStringLiteral(".txt");
    for (const char* name : {"a", "b"}) {
      QVERIFY(QFile::copy(QString::fromStdString(firstImage.string()),
                          dir.filePath(QStringLiteral("images/%1.jpg").arg(name))));
      QVERIFY(QFile::copy(label, dir.filePath(QStringLiteral("labels/%1.txt").arg(name))));
    }
    // Detection on val2017's image 1 is in flight when the other dataset is opened.
    v.showImage(1);
    QVERIFY(v.isBusy());
    loaded.clear();
    v.setDataset(dir.path());
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty() && !v.isBusy(), kImageTimeoutMs);
    QCOMPARE(v.imageCount(), 2);
    QSignalSpy shown(&v, &DetectionViewer::imageShown);
    v.showImage(1);
    QTRY_VERIFY_WITH_TIMEOUT(!shown.isEmpty() && !v.isBusy(), kImageTimeoutMs);
    QVERIFY(v.detections(DetectionViewer::Baseline) != nullptr);
    const auto& again = *v.detections(DetectionViewer::Baseline);
    QCOMPARE(again.size(), first.size());
    for (size_t i = 0; i < first.size(); ++i) {
      QCOMPARE(again[i].class_id, first[i].class_id);
      QVERIFY(qAbs(again[i].x1 - first[i].x1) < 0.5f && qAbs(again[i].y2 - first[i].y2) < 0.5f);
    }
  }

  void badInputGivesMessagesAndStaysUsable() {
    if (dataDir().isEmpty()) QSKIP("DETSLIM_TEST_DATA is unset");
    DetectionViewer v;
    v.show();
    // A model file that is gone (a run whose model moved): the message names it.
    DetectorSpec gone = spec(QStringLiteral("gone"));
    gone.model = "/nonexistent/moved_model.onnx";
    QSignalSpy failed(&v, &DetectionViewer::errorOccurred);
    v.setSides(gone);
    QVERIFY(failed.wait(kImageTimeoutMs));
    QVERIFY(failed.last().first().toString().contains(QStringLiteral("moved_model.onnx")));
    detslim::store::RunRecord run;
    run.id = 7;
    run.model.path = "/nonexistent/moved_run_model.onnx";
    run.config = detslim::RunConfig{}.toJson();
    v.setSidesFromRuns(run);
    QVERIFY(failed.last().first().toString().contains(QStringLiteral("moved_run_model.onnx")));
    QVERIFY(failed.last().first().toString().contains(QStringLiteral("run 7")));

    // A dataset with an image that does not decode, next to a good one.
    QTemporaryDir dir;
    QDir(dir.path()).mkpath(QStringLiteral("images"));
    QDir(dir.path()).mkpath(QStringLiteral("labels"));
    QFile bad(dir.filePath(QStringLiteral("images/bad.png")));
    QVERIFY(bad.open(QIODevice::WriteOnly));
    bad.write(brokenPng());
    bad.close();
    QVERIFY(QFile::copy(val2017() + QStringLiteral("/000000000139.jpg"),
                        dir.filePath(QStringLiteral("images/good.jpg"))));
    QVERIFY(QFile::copy(dataDir() + QStringLiteral("/coco/labels/val2017/000000000139.txt"),
                        dir.filePath(QStringLiteral("labels/good.txt"))));
    QFile label(dir.filePath(QStringLiteral("labels/bad.txt")));
    QVERIFY(label.open(QIODevice::WriteOnly));
    label.write("0 0.5 0.5 0.2 0.2\n");
    label.close();

    QSignalSpy ready(&v, &DetectionViewer::sidesReady);
    QSignalSpy loaded(&v, &DetectionViewer::datasetLoaded);
    v.setSides(spec(QStringLiteral("yolov5n fp32")));
    v.setDataset(dir.path());
    QVERIFY(ready.wait(kBuildTimeoutMs) || !ready.isEmpty());
    QTRY_VERIFY_WITH_TIMEOUT(!loaded.isEmpty() && !v.isBusy(), kImageTimeoutMs);
    QCOMPARE(v.imageCount(), 2);
    const int badIndex = v.sample(0)->image_path.filename() == "bad.png" ? 0 : 1;
    failed.clear();
    v.showImage(badIndex);
    QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty(), kImageTimeoutMs);
    QVERIFY2(failed.last().first().toString().contains(QStringLiteral("bad.png")),
             qPrintable(failed.last().first().toString()));
    QVERIFY(v.canvas(DetectionViewer::Baseline)->message().contains(QStringLiteral("bad.png")));
    // The good image still shows with its predictions.
    QSignalSpy shown(&v, &DetectionViewer::imageShown);
    v.showImage(1 - badIndex);
    QTRY_VERIFY_WITH_TIMEOUT(v.detections(DetectionViewer::Baseline) != nullptr &&
                                 v.canvas(DetectionViewer::Baseline)->hasImage(),
                             kImageTimeoutMs);
    QVERIFY(v.canvas(DetectionViewer::Baseline)->boxCount(DetectionCanvas::BoxKind::GroundTruth) ==
            v.gtCount(1 - badIndex));
  }
};

QTEST_MAIN(TestViewer)
#include "tst_viewer.moc"
