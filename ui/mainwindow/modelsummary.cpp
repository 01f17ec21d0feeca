#include "ui/mainwindow/modelsummary.h"

#include <QLocale>
#include <QObject>
#include <QStringList>

#include "core/workbench/inspect.h"

namespace detslim::ui {

namespace {

QString row(const QString& key, const QString& value) {
  return QStringLiteral("<tr><td style='padding-right:16px;color:#555'>%1</td><td>%2</td></tr>")
      .arg(key.toHtmlEscaped(), value);
}

QString typeText(const Graph& graph, const ValueInfo& v) {
  const TensorType* t = graph.typeOf(v.name);
  return QString::fromStdString(v.name).toHtmlEscaped() + QStringLiteral(" <code>") +
         QString::fromStdString(t ? t->toString() : std::string("?")).toHtmlEscaped() +
         QStringLiteral("</code>");
}

}  // namespace

QString modelSummaryHtml(const ModelInspection& in) {
  const QLocale locale(QLocale::English);
  const Model& m = in.model;
  const ModelStats& s = in.stats;
  QString html = QStringLiteral("<h3>%1</h3><table>")
                     .arg(QString::fromStdString(in.path.filename().string()).toHtmlEscaped());
  html += row(QObject::tr("File"), QString::fromStdString(in.path.string()).toHtmlEscaped() + " (" +
                              locale.toString(static_cast<qlonglong>(in.report.file_bytes)) + " bytes)");
  QStringList opsets;
  for (const OpsetImport& o : m.opset_imports) {
    opsets << QString::fromStdString(o.domain.empty() ? "ai.onnx" : o.domain) + " " + QString::number(o.version);
  }
  html += row(QObject::tr("Format"), QStringLiteral("ONNX IR %1, opset %2").arg(m.ir_version).arg(opsets.join(", ")));
  html += row(QObject::tr("Producer"), QString::fromStdString(m.producer_name + " " + m.producer_version).toHtmlEscaped());
  for (const ValueInfo& v : m.graph.inputs) {
    if (!m.graph.isInitializer(v.name)) html += row(QObject::tr("Input"), typeText(m.graph, v));
  }
  for (const ValueInfo& v : m.graph.outputs) html += row(QObject::tr("Output"), typeText(m.graph, v));
  html += row(QObject::tr("Parameters"), locale.toString(static_cast<qlonglong>(s.params)));
  html += row(QObject::tr("MACs"), locale.toString(static_cast<qlonglong>(s.macs)) + QObject::tr(" (Conv/Gemm/MatMul)"));
  html += row(QObject::tr("MACs, ptflops style"), locale.toString(static_cast<qlonglong>(s.macs_ptflops)));
  html += row(QObject::tr("Weight bytes"), locale.toString(static_cast<qlonglong>(s.weight_bytes)));
  html += row(QObject::tr("Nodes"), QString::number(s.nodes));
  if (!in.class_names.empty()) {
    QStringList names;
    for (size_t i = 0; i < in.class_names.size() && i < 8; ++i) names << QString::fromStdString(in.class_names[i]);
    html += row(QObject::tr("Classes"), QString::number(in.class_names.size()) + ": " + names.join(", ").toHtmlEscaped() +
                                   (in.class_names.size() > 8 ? ", ..." : ""));
  }
  QStringList unsupported;
  for (const UnsupportedOp& u : in.unsupported_ops) {
    unsupported << QString::fromStdString(u.op_type) + QStringLiteral(" ×") + QString::number(u.nodes.size());
  }
  html += row(QObject::tr("Engine"), unsupported.isEmpty()
                                ? QObject::tr("every op is supported")
                                : QObject::tr("not supported yet: ") + unsupported.join(", ").toHtmlEscaped());
  html += QStringLiteral("</table>");
  return html;
}

}  // namespace detslim::ui
