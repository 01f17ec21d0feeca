#pragma once
// Draws a share in [0, 1] as an inline bar with its percentage (the layer table's sparsity
// column). The value comes from `valueRole`; a cell whose value is invalid is drawn as usual.

#include <QStyledItemDelegate>

namespace detslim::ui {

class SparsityBarDelegate : public QStyledItemDelegate {
  Q_OBJECT

 public:
  // valueRole: the role holding the share as a double (LayerTableModel::kSparsityRole).
  explicit SparsityBarDelegate(int valueRole, QObject* parent = nullptr);

  void paint(QPainter* painter, const QStyleOptionViewItem& option,
             const QModelIndex& index) const override;
  QSize sizeHint(const QStyleOptionViewItem& option, const QModelIndex& index) const override;

  // "42.5 %": the text drawn over the bar.
  static QString label(double share);

 private:
  int m_valueRole;
};

}  // namespace detslim::ui
