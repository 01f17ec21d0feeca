#pragma once
// The results table: runs of one SQLite results store (core/store), loaded off the GUI thread,
// sortable, filterable by text or by the store's filter language ("map > 0.3 and method ==
// rtoss", docs/store.md), with a baseline the delta columns compare against and deletion behind
// a confirmation. The ResultsTableModel it fills is shared with the charts.

#include <QFutureWatcher>
#include <QList>
#include <QWidget>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/store/store.h"

class QAction;
class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QStackedWidget;
class QTableView;

namespace detslim::ui {

class ResultsTableModel;

class ResultsView : public QWidget {
  Q_OBJECT

 public:
  // Asks the user to confirm; true goes ahead. Replaceable so tests can answer the dialog.
  using Confirmer = std::function<bool(QWidget* parent, const QString& title, const QString& text)>;

  // `model` is not owned (the charts read it too). Starts loading `storePath` at once.
  ResultsView(ResultsTableModel* model, const QString& storePath, QWidget* parent = nullptr);
  // Waits for a load or delete in flight.
  ~ResultsView() override;

  // Switches to another store file and reloads. The baseline goes back to the default.
  void setStorePath(const QString& path);
  QString storePath() const { return m_storePath; }
  // Re-reads the store with the applied filter expression; runs after the current job if busy.
  void reload();
  bool isBusy() const { return m_watcher.isRunning(); }

  // Sets the filter box and applies it now. Text with an operator (==, <, ~, ...) is a store
  // filter expression passed to listRuns; other text matches any column's text.
  void setFilter(const QString& text);
  // The store's message for the last expression refused, "" when it was accepted.
  QString filterError() const { return m_filterError; }
  static bool isFilterExpression(const QString& text);

  QList<qint64> selectedRunIds() const;
  // The run of the row the user last clicked (the table's current row) when it is selected,
  // else the highest selected id; 0 when nothing is selected. Per-run charts draw this one.
  qint64 focusedRunId() const;
  void selectRuns(const QList<qint64>& ids);
  // "Set as baseline": the single selected run becomes the baseline (kept until reset).
  void setBaselineToSelection();
  // "Delete…": asks the confirmer naming how many runs, then deletes them through
  // Store::deleteRun off the GUI thread and reloads.
  void deleteSelected();
  void setConfirmer(Confirmer confirmer);

  ResultsTableModel* model() const { return m_model; }
  QSortFilterProxyModel* proxyModel() const { return m_proxy; }
  QTableView* table() const { return m_table; }
  QAction* setBaselineAction() const { return m_baselineAction; }
  QAction* deleteAction() const { return m_deleteAction; }
  QAction* reloadAction() const { return m_reloadAction; }

 signals:
  void selectionChangedRuns(const QList<qint64>& ids);
  // A load (or delete + load) finished; runCount is the number of rows now shown by the model.
  void reloaded(int runCount);
  // The store's message: open / list / delete failures and refused filter expressions.
  void errorOccurred(const QString& message);

 private:
  struct Outcome {
    std::string path;          // the store this outcome was read from
    bool replaceRuns = false;  // false: keep the rows (error or refused filter)
    std::vector<store::RunRecord> runs;
    int64_t totalRuns = 0;  // in the whole store, whatever the filter
    bool storeMissing = false;
    std::string expression;   // the expression this outcome was listed with
    std::string filterError;  // compileFilter's message for a refused expression
    std::string error;        // open / list failure
    std::vector<std::string> deleteErrors;
    int deleted = 0;
  };
  using OutcomePtr = std::shared_ptr<Outcome>;

  void startJob(const std::string& expression, std::vector<int64_t> deleteIds);
  void onJobFinished();
  void applyFilterNow();
  void onSelectionChanged();
  void updateActions();
  void updateAutoBaseline();
  void showStatus(const QString& text, bool error);
  static OutcomePtr runJob(const std::string& path, const std::string& expression,
                           const std::vector<int64_t>& deleteIds);

  ResultsTableModel* m_model;
  QSortFilterProxyModel* m_proxy = nullptr;
  QString m_storePath;
  std::string m_appliedExpression;  // the last expression the store accepted
  std::string m_pendingExpression;  // what to list once the job in flight is done
  QString m_filterError;
  bool m_baselineChosenByUser = false;
  bool m_reloadPending = false;
  int64_t m_totalRuns = 0;
  QList<qint64> m_lastSelection;
  Confirmer m_confirmer;
  QFutureWatcher<OutcomePtr> m_watcher;

  QLineEdit* m_filter = nullptr;
  QLabel* m_status = nullptr;
  QLabel* m_count = nullptr;
  QStackedWidget* m_stack = nullptr;
  QLabel* m_empty = nullptr;
  QTableView* m_table = nullptr;
  QAction* m_baselineAction = nullptr;
  QAction* m_deleteAction = nullptr;
  QAction* m_reloadAction = nullptr;
};

}  // namespace detslim::ui
