#pragma once
// The sweep dialog of RunPanel: which methods, sparsities, precisions and calibrators to cross.
// It only collects the grid; RunPanel checks each configuration with core before it starts.

#include <QDialog>
#include <QList>
#include <QStringList>

#include "core/base/status.h"

class QLabel;
class QLineEdit;
class QListWidget;

namespace detslim::ui {

// The axes of a sweep (core's SweepOptions takes the fixed settings from the panel).
struct SweepGrid {
  QStringList methods;
  QList<double> sparsities;  // for every method but "none"
  QStringList precisions;
  QStringList calibrators;  // int8 once per calibrator; empty: the panel's calibrator
};

// How many configurations core's expandSweep makes of `grid` (threads and sizes fixed).
int sweepSize(const SweepGrid& grid);

class RunSweepDialog : public QDialog {
  Q_OBJECT

 public:
  explicit RunSweepDialog(QWidget* parent = nullptr);

  void setGrid(const SweepGrid& grid);
  // The grid the widgets describe; refuses a sparsity that is no number and an empty axis.
  Result<SweepGrid> grid() const;

 public slots:
  // Accepts only a grid that parses; otherwise the reason shows in the dialog.
  void accept() override;

 private:
  void updateCount();

  QListWidget* m_methods = nullptr;
  QLineEdit* m_sparsities = nullptr;
  QListWidget* m_precisions = nullptr;
  QListWidget* m_calibrators = nullptr;
  QLabel* m_count = nullptr;
};

}  // namespace detslim::ui
