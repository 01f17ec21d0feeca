#include "ui/views/resultsview.h"

#include <QAction>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QMessageBox>
#include <QRegularExpression>
#include <QSortFilterProxyModel>
#include <QStackedWidget>
#include <QTableView>
#include <QToolButton>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>

#include "core/store/filter.h"
#include "ui/models/resultstablemodel.h"

namespace detslim::ui {

namespace {

bool defaultConfirm(QWidget* parent, const QString& title, const QString& text) {
  return QMessageBox::question(parent, title, text, QMessageBox::Yes | QMessageBox::No,
                               QMessageBox::No) == QMessageBox::Yes;
}

}  // namespace

ResultsView::ResultsView(ResultsTableModel* model, const QString& storePath, QWidget* parent)
    : QWidget(parent), m_model(model), m_storePath(storePath), m_confirmer(defaultConfirm) {
  m_proxy = new QSortFilterProxyModel(this);
  m_proxy->setSourceModel(m_model);
  m_proxy->setSortRole(ResultsTableModel::kSortRole);
  m_proxy->setFilterKeyColumn(-1);
  m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);

  m_filter = new QLineEdit(this);
  m_filter->setObjectName(QStringLiteral("resultsFilter"));
  m_filter->setClearButtonEnabled(true);
  m_filter->setPlaceholderText(
      tr("Filter: text, or a store expression such as: map > 0.3 and method == rtoss"));
  m_filter->setToolTip(tr("Plain text matches any column. An expression with ==, !=, <, <=, >, "
                          ">= or ~ is passed to the store (fields: %1); press Enter to apply it.")
                           .arg(QString::fromStdString([] {
                             std::string fields;
                             for (const std::string& f : store::filterFieldNames()) {
                               fields += (fields.empty() ? "" : ", ") + f;
                             }
                             return fields;
                           }())));

  m_reloadAction = new QAction(tr("Reload"), this);
  m_reloadAction->setShortcut(QKeySequence::Refresh);
  m_baselineAction = new QAction(tr("Set as baseline"), this);
  m_baselineAction->setObjectName(QStringLiteral("setBaselineAction"));
  m_deleteAction = new QAction(tr("Delete…"), this);
  m_deleteAction->setObjectName(QStringLiteral("deleteRunsAction"));
  m_deleteAction->setShortcut(QKeySequence::Delete);
  m_deleteAction->setShortcutContext(Qt::WidgetWithChildrenShortcut);
  addAction(m_deleteAction);
  addAction(m_reloadAction);

  auto* top = new QHBoxLayout;
  top->addWidget(m_filter, 1);
  for (QAction* action : {m_baselineAction, m_deleteAction, m_reloadAction}) {
    auto* button = new QToolButton(this);
    button->setDefaultAction(action);
    button->setToolButtonStyle(Qt::ToolButtonTextOnly);
    top->addWidget(button);
  }
  m_count = new QLabel(this);
  m_count->setObjectName(QStringLiteral("resultsCount"));
  top->addWidget(m_count);

  m_status = new QLabel(this);
  m_status->setObjectName(QStringLiteral("resultsStatus"));
  m_status->setWordWrap(true);
  m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_status->hide();

  m_stack = new QStackedWidget(this);
  m_empty = new QLabel(m_stack);
  m_empty->setObjectName(QStringLiteral("resultsEmpty"));
  m_empty->setAlignment(Qt::AlignCenter);
  m_empty->setWordWrap(true);
  m_empty->setTextInteractionFlags(Qt::TextSelectableByMouse);
  m_stack->addWidget(m_empty);
  m_table = new QTableView(m_stack);
  m_table->setObjectName(QStringLiteral("resultsTable"));
  m_table->setModel(m_proxy);
  m_table->setSortingEnabled(true);
  m_table->sortByColumn(ResultsTableModel::kId, Qt::AscendingOrder);
  m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
  m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
  m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
  m_table->setAlternatingRowColors(true);
  m_table->setWordWrap(false);
  m_table->setContextMenuPolicy(Qt::CustomContextMenu);
  m_table->verticalHeader()->hide();
  m_table->horizontalHeader()->setStretchLastSection(true);
  m_stack->addWidget(m_table);

  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);  // a dock or tab page: the table gets every pixel
  layout->addLayout(top);
  layout->addWidget(m_status);
  layout->addWidget(m_stack, 1);

  connect(m_filter, &QLineEdit::returnPressed, this, &ResultsView::applyFilterNow);
  // Plain text filters as it is typed; an expression waits for Enter (half an expression is
  // always an error and the store would be read on every key).
  connect(m_filter, &QLineEdit::textChanged, this, [this](const QString& text) {
    if (!isFilterExpression(text)) applyFilterNow();
  });
  connect(m_reloadAction, &QAction::triggered, this, &ResultsView::reload);
  connect(m_baselineAction, &QAction::triggered, this, &ResultsView::setBaselineToSelection);
  connect(m_deleteAction, &QAction::triggered, this, &ResultsView::deleteSelected);
  connect(m_table, &QTableView::customContextMenuRequested, this, [this](const QPoint& pos) {
    QMenu menu(this);
    menu.addAction(m_baselineAction);
    menu.addAction(m_deleteAction);
    menu.addSeparator();
    menu.addAction(m_reloadAction);
    menu.exec(m_table->viewport()->mapToGlobal(pos));
  });
  connect(m_table->selectionModel(), &QItemSelectionModel::selectionChanged, this,
          &ResultsView::onSelectionChanged);
  connect(m_proxy, &QAbstractItemModel::rowsInserted, this, &ResultsView::updateActions);
  connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, &ResultsView::updateActions);
  connect(m_proxy, &QAbstractItemModel::modelReset, this, &ResultsView::updateActions);
  connect(&m_watcher, &QFutureWatcher<OutcomePtr>::finished, this, &ResultsView::onJobFinished);
  updateActions();
  reload();
}

ResultsView::~ResultsView() {
  m_watcher.waitForFinished();
}

void ResultsView::setConfirmer(Confirmer confirmer) {
  m_confirmer = confirmer ? std::move(confirmer) : Confirmer(defaultConfirm);
}

bool ResultsView::isFilterExpression(const QString& text) {
  static const QRegularExpression op(QStringLiteral("[=<>~!]"));
  return text.contains(op);
}

void ResultsView::setStorePath(const QString& path) {
  m_storePath = path;
  m_baselineChosenByUser = false;
  m_model->setBaselineId(0);
  m_model->setRuns({});  // rows of the previous file must not pass for this one's
  m_totalRuns = 0;
  reload();
}

void ResultsView::reload() {
  startJob(m_appliedExpression, {});
}

void ResultsView::setFilter(const QString& text) {
  const QSignalBlocker block(m_filter);
  m_filter->setText(text);
  applyFilterNow();
}

void ResultsView::applyFilterNow() {
  const QString text = m_filter->text().trimmed();
  if (isFilterExpression(text)) {
    m_proxy->setFilterFixedString(QString());
    startJob(text.toStdString(), {});
    return;
  }
  m_filterError.clear();
  showStatus(QString(), false);
  m_proxy->setFilterFixedString(text);
  // Leaving an expression for plain text (or none) lists every run again.
  if (!m_appliedExpression.empty()) startJob(std::string(), {});
  updateActions();
}

ResultsView::OutcomePtr ResultsView::runJob(const std::string& path, const std::string& expression,
                                            const std::vector<int64_t>& deleteIds) {
  auto out = std::make_shared<Outcome>();
  out->path = path;
  out->expression = expression;
  if (!expression.empty()) {
    if (Result<store::SqlFilter> compiled = store::compileFilter(expression); !compiled) {
      out->filterError = compiled.status().message();
      return out;
    }
  }
  store::OpenOptions options;
  options.create = false;  // looking at results never creates a store file
  Result<store::Store> opened = store::Store::open(path, options);
  if (!opened) {
    if (opened.status().code() == ErrorCode::kNotFound) {
      out->storeMissing = true;
      out->replaceRuns = true;
    } else {
      out->error = opened.status().message();
    }
    return out;
  }
  store::Store& db = opened.value();
  for (int64_t id : deleteIds) {
    if (Status s = db.deleteRun(id); !s) {
      out->deleteErrors.push_back(s.message());
    } else {
      ++out->deleted;
    }
  }
  Result<std::vector<store::RunRecord>> runs = db.listRuns(expression);
  if (!runs) {
    out->error = runs.status().message();
    return out;
  }
  Result<int64_t> total = db.countRuns();
  out->totalRuns = total ? total.value() : static_cast<int64_t>(runs->size());
  out->runs = std::move(runs).value();
  out->replaceRuns = true;
  return out;
}

void ResultsView::startJob(const std::string& expression, std::vector<int64_t> deleteIds) {
  if (m_watcher.isRunning()) {
    // Deletes are refused while busy (actions disabled); a reload waits for the job in flight.
    m_reloadPending = true;
    m_pendingExpression = expression;
    return;
  }
  m_reloadPending = false;
  const std::string path = m_storePath.toStdString();
  m_count->setText(tr("Loading…"));
  m_watcher.setFuture(QtConcurrent::run(
      [path, expression, ids = std::move(deleteIds)] { return runJob(path, expression, ids); }));
  updateActions();
}

void ResultsView::onJobFinished() {
  const OutcomePtr out = m_watcher.result();
  if (out->path != m_storePath.toStdString()) {
    // Read from the store shown before setStorePath: its rows, baseline and errors are not this
    // store's (run ids restart in every file). The reload setStorePath asked for is pending.
    updateActions();
    if (m_reloadPending) startJob(m_pendingExpression, {});
    return;
  }
  QStringList problems;
  if (!out->filterError.empty()) {
    // The rows and the applied expression stay; only the message is new.
    m_filterError = QString::fromStdString(out->filterError);
    problems << m_filterError;
  } else if (!out->error.empty()) {
    problems << QString::fromStdString(out->error);
  } else if (out->replaceRuns) {
    m_filterError.clear();
    m_appliedExpression = out->expression;
    m_totalRuns = out->totalRuns;
    const QList<qint64> keep = selectedRunIds();
    m_model->setRuns(std::move(out->runs));
    if (m_baselineChosenByUser && !m_model->runById(m_model->baselineId())) {
      m_baselineChosenByUser = false;  // deleted or filtered away
    }
    selectRuns(keep);
    updateAutoBaseline();
  }
  for (const std::string& e : out->deleteErrors) problems << QString::fromStdString(e);

  if (!out->error.empty() && m_model->rowCount() == 0) {
    m_empty->setText(
        tr("Could not read %1:\n%2").arg(m_storePath, QString::fromStdString(out->error)));
    m_stack->setCurrentWidget(m_empty);
  } else if (m_totalRuns == 0 && m_model->rowCount() == 0) {
    m_empty->setText(tr("No runs in %1 yet — run a configuration from the Run panel or "
                        "`detslim run`.")
                         .arg(m_storePath));
    m_stack->setCurrentWidget(m_empty);
  } else {
    m_stack->setCurrentWidget(m_table);
  }
  showStatus(problems.join(QLatin1Char('\n')), !problems.isEmpty());
  updateActions();
  if (!out->deleteErrors.empty()) {
    auto* box =
        new QMessageBox(QMessageBox::Warning, tr("Could not delete"),
                        QString::fromStdString(out->deleteErrors.front()), QMessageBox::Ok, this);
    box->setObjectName(QStringLiteral("deleteErrorDialog"));
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();  // window-modal, not blocking: the view stays responsive
  }
  for (const QString& p : problems) emit errorOccurred(p);
  if (m_reloadPending) {
    startJob(m_pendingExpression, {});
    return;
  }
  emit reloaded(m_model->rowCount());
}

void ResultsView::showStatus(const QString& text, bool error) {
  m_status->setText(text);
  m_status->setStyleSheet(error ? QStringLiteral("color:#c62828") : QString());
  m_status->setVisible(!text.isEmpty());
}

QList<qint64> ResultsView::selectedRunIds() const {
  QList<qint64> ids;
  for (const QModelIndex& index : m_table->selectionModel()->selectedRows()) {
    ids << index.data(ResultsTableModel::kRunIdRole).toLongLong();
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

qint64 ResultsView::focusedRunId() const {
  const QList<qint64> selected = selectedRunIds();
  if (selected.isEmpty()) return 0;
  const QModelIndex current = m_table->currentIndex();
  if (current.isValid()) {
    const qint64 id = current.data(ResultsTableModel::kRunIdRole).toLongLong();
    if (selected.contains(id)) return id;
  }
  return selected.last();
}

void ResultsView::selectRuns(const QList<qint64>& ids) {
  QItemSelection selection;
  for (qint64 id : ids) {
    const int row = m_model->rowOfRun(id);
    if (row < 0) continue;
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(row, 0));
    if (index.isValid()) selection.select(index, index);
  }
  m_table->selectionModel()->select(
      selection, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  onSelectionChanged();  // a model reset clears the selection without a signal
}

void ResultsView::onSelectionChanged() {
  const QList<qint64> ids = selectedRunIds();
  updateActions();
  if (ids == m_lastSelection) return;
  m_lastSelection = ids;
  updateAutoBaseline();
  emit selectionChangedRuns(ids);
}

void ResultsView::updateAutoBaseline() {
  if (m_baselineChosenByUser) return;
  const std::vector<store::RunRecord>& runs = m_model->runs();
  if (runs.empty()) return;
  // The model the user looks at: the first selected run's, else the newest run's.
  const store::RunRecord* focus = &runs.back();
  if (!m_lastSelection.isEmpty()) {
    if (const store::RunRecord* r = m_model->runById(m_lastSelection.front())) focus = r;
  }
  const int64_t id = ResultsTableModel::defaultBaselineId(runs, focus->model.sha256);
  if (id != 0) m_model->setBaselineId(id);
}

void ResultsView::setBaselineToSelection() {
  const QList<qint64> ids = selectedRunIds();
  if (ids.size() != 1) return;
  m_baselineChosenByUser = true;
  m_model->setBaselineId(ids.front());
}

void ResultsView::deleteSelected() {
  const QList<qint64> ids = selectedRunIds();
  if (ids.isEmpty() || m_watcher.isRunning()) return;
  QStringList idText;
  for (qint64 id : ids) idText << QString::number(id);
  const QString text =
      ids.size() == 1
          ? tr("Delete 1 run (id %1) from %2?\n\nIts metrics, latency and memory records go "
               "with it; this cannot be undone.")
                .arg(idText.front(), m_storePath)
          : tr("Delete %1 runs (ids %2) from %3?\n\nTheir metrics, latency and memory records go "
               "with them; this cannot be undone.")
                .arg(ids.size())
                .arg(idText.join(QStringLiteral(", ")), m_storePath);
  if (!m_confirmer(this, tr("Delete runs"), text)) return;
  std::vector<int64_t> toDelete(ids.begin(), ids.end());
  startJob(m_appliedExpression, std::move(toDelete));
}

void ResultsView::updateActions() {
  const int selected = m_table->selectionModel()
                           ? static_cast<int>(m_table->selectionModel()->selectedRows().size())
                           : 0;
  const bool busy = m_watcher.isRunning();
  m_baselineAction->setEnabled(selected == 1);
  m_deleteAction->setEnabled(selected > 0 && !busy);
  m_reloadAction->setEnabled(!busy);
  if (busy) return;
  const int shown = m_proxy->rowCount();
  m_count->setText(shown == static_cast<int>(m_totalRuns)
                       ? tr("%1 runs").arg(shown)
                       : tr("%1 of %2 runs").arg(shown).arg(m_totalRuns));
}

}  // namespace detslim::ui
