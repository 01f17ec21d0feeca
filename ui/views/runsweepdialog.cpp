#include "ui/views/runsweepdialog.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>
#include <string>

#include "core/quant/calibrate.h"
#include "core/workbench/quantize_job.h"
#include "core/workbench/run_job.h"

namespace detslim::ui {

namespace {

QListWidget* checkList(const std::vector<std::string>& items, const QString& name,
                       QWidget* parent) {
  auto* list = new QListWidget(parent);
  list->setObjectName(name);
  for (const std::string& item : items) {
    auto* row = new QListWidgetItem(QString::fromStdString(item), list);
    row->setFlags(Qt::ItemIsEnabled | Qt::ItemIsUserCheckable);
    row->setCheckState(Qt::Unchecked);
  }
  // Short lists: show them whole rather than scroll.
  list->setMaximumHeight(list->sizeHintForRow(0) * static_cast<int>(items.size() + 1) + 4);
  return list;
}

QStringList checkedItems(const QListWidget* list) {
  QStringList items;
  for (int i = 0; i < list->count(); ++i) {
    if (list->item(i)->checkState() == Qt::Checked) items << list->item(i)->text();
  }
  return items;
}

void setChecked(QListWidget* list, const QStringList& items) {
  for (int i = 0; i < list->count(); ++i) {
    list->item(i)->setCheckState(items.contains(list->item(i)->text()) ? Qt::Checked
                                                                       : Qt::Unchecked);
  }
}

std::vector<std::string> calibratorNames() {
  std::vector<std::string> names;
  for (quant::Calibrator c : {quant::Calibrator::kMinMax, quant::Calibrator::kPercentile,
                              quant::Calibrator::kEntropy, quant::Calibrator::kMse}) {
    names.emplace_back(quant::calibratorName(c));
  }
  return names;
}

}  // namespace

int sweepSize(const SweepGrid& grid) {
  int methods = 0;
  for (const QString& m : grid.methods) {
    methods += m == QLatin1String("none") ? 1 : static_cast<int>(grid.sparsities.size());
  }
  int precisions = 0;
  for (const QString& p : grid.precisions) {
    precisions +=
        p == QLatin1String("int8") ? std::max(1, static_cast<int>(grid.calibrators.size())) : 1;
  }
  return methods * precisions;
}

RunSweepDialog::RunSweepDialog(QWidget* parent) : QDialog(parent) {
  setWindowTitle(tr("Queue sweep"));
  setObjectName(QStringLiteral("sweepDialog"));
  auto* form = new QFormLayout;
  m_methods = checkList(availablePruneMethods(), QStringLiteral("sweepMethods"), this);
  form->addRow(tr("Methods"), m_methods);
  m_sparsities = new QLineEdit(QStringLiteral("0.2, 0.5"), this);
  m_sparsities->setObjectName(QStringLiteral("sweepSparsities"));
  m_sparsities->setToolTip(tr("Comma-separated fractions in [0, 0.99]; 'none' takes none"));
  form->addRow(tr("Sparsities"), m_sparsities);
  m_precisions = checkList(availablePrecisions(), QStringLiteral("sweepPrecisions"), this);
  form->addRow(tr("Precisions"), m_precisions);
  m_calibrators = checkList(calibratorNames(), QStringLiteral("sweepCalibrators"), this);
  m_calibrators->setToolTip(
      tr("INT8 runs once per checked calibrator; none checked: the "
         "panel's calibrator"));
  form->addRow(tr("INT8 calibrators"), m_calibrators);
  m_count = new QLabel(this);
  m_count->setObjectName(QStringLiteral("sweepCount"));
  form->addRow(QString(), m_count);
  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, this);
  buttons->button(QDialogButtonBox::Ok)->setText(tr("Queue"));
  connect(buttons, &QDialogButtonBox::accepted, this, &RunSweepDialog::accept);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  auto* layout = new QVBoxLayout(this);
  layout->addLayout(form);
  layout->addWidget(buttons);
  for (QListWidget* list : {m_methods, m_precisions, m_calibrators}) {
    connect(list, &QListWidget::itemChanged, this, &RunSweepDialog::updateCount);
  }
  connect(m_sparsities, &QLineEdit::textChanged, this, &RunSweepDialog::updateCount);
  SweepGrid initial;
  initial.methods = {QStringLiteral("none"), QStringLiteral("magnitude")};
  initial.sparsities = {0.2, 0.5};
  initial.precisions = {QStringLiteral("fp32")};
  setGrid(initial);
}

void RunSweepDialog::setGrid(const SweepGrid& grid) {
  setChecked(m_methods, grid.methods);
  QStringList sparsities;
  for (double s : grid.sparsities) sparsities << QString::number(s);
  m_sparsities->setText(sparsities.join(QStringLiteral(", ")));
  setChecked(m_precisions, grid.precisions);
  setChecked(m_calibrators, grid.calibrators);
  updateCount();
}

Result<SweepGrid> RunSweepDialog::grid() const {
  SweepGrid grid;
  grid.methods = checkedItems(m_methods);
  grid.precisions = checkedItems(m_precisions);
  grid.calibrators = checkedItems(m_calibrators);
  const QStringList parts = m_sparsities->text().split(QLatin1Char(','), Qt::SkipEmptyParts);
  for (const QString& part : parts) {
    bool ok = false;
    const double s = part.trimmed().toDouble(&ok);
    if (!ok) return invalidArgument("sparsity '" + part.trimmed().toStdString() + "' is no number");
    grid.sparsities << s;
  }
  if (grid.methods.isEmpty()) return invalidArgument("check at least one pruning method");
  if (grid.precisions.isEmpty()) return invalidArgument("check at least one precision");
  const bool needsSparsity =
      std::any_of(grid.methods.begin(), grid.methods.end(),
                  [](const QString& m) { return m != QLatin1String("none"); });
  if (needsSparsity && grid.sparsities.isEmpty()) {
    return invalidArgument("give at least one sparsity for the methods other than none");
  }
  return grid;
}

void RunSweepDialog::accept() {
  const Result<SweepGrid> parsed = grid();
  if (!parsed) {
    m_count->setText(QString::fromStdString(parsed.status().message()));
    return;
  }
  QDialog::accept();
}

void RunSweepDialog::updateCount() {
  const Result<SweepGrid> parsed = grid();
  m_count->setText(parsed ? tr("%n configuration(s)", nullptr, sweepSize(*parsed))
                          : QString::fromStdString(parsed.status().message()));
}

}  // namespace detslim::ui
