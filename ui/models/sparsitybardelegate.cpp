#include "ui/models/sparsitybardelegate.h"

#include <QApplication>
#include <QPainter>
#include <QStyle>
#include <algorithm>

namespace detslim::ui {

namespace {
constexpr int kMarginPx = 3;        // bar inset from the cell border
constexpr int kMinBarWidthPx = 60;  // below this the percentage would overlap the bar's ends
}  // namespace

SparsityBarDelegate::SparsityBarDelegate(int valueRole, QObject* parent)
    : QStyledItemDelegate(parent), m_valueRole(valueRole) {}

QString SparsityBarDelegate::label(double share) {
  return QStringLiteral("%1 %").arg(100.0 * share, 0, 'f', 1);
}

void SparsityBarDelegate::paint(QPainter* painter, const QStyleOptionViewItem& option,
                                const QModelIndex& index) const {
  const QVariant value = index.data(m_valueRole);
  if (!value.isValid()) {
    QStyledItemDelegate::paint(painter, option, index);
    return;
  }
  const double share = std::clamp(value.toDouble(), 0.0, 1.0);
  // Background and selection through the style, without the text: the bar carries it.
  QStyleOptionViewItem opt = option;
  initStyleOption(&opt, index);
  opt.text.clear();
  const QWidget* widget = option.widget;
  QStyle* style = widget ? widget->style() : QApplication::style();
  style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

  painter->save();
  painter->setRenderHint(QPainter::Antialiasing, false);
  const QRect track = option.rect.adjusted(kMarginPx, kMarginPx, -kMarginPx, -kMarginPx);
  painter->setPen(QColor(0xb0, 0xb0, 0xb0));
  painter->setBrush(QColor(0xf4, 0xf4, 0xf4));
  painter->drawRect(track.adjusted(0, 0, -1, -1));
  const int filled = static_cast<int>(share * track.width() + 0.5);
  if (filled > 0) {
    QRect bar = track;
    bar.setWidth(filled);
    painter->setPen(Qt::NoPen);
    // Darker as more is removed, so a column of bars reads as a heat strip too.
    painter->setBrush(QColor::fromHsvF(0.58, 0.35 + 0.5 * share, 0.85 - 0.3 * share));
    painter->drawRect(bar);
  }
  painter->setPen(share > 0.55 ? Qt::white : option.palette.color(QPalette::Text));
  painter->drawText(track, Qt::AlignCenter, label(share));
  painter->restore();
}

QSize SparsityBarDelegate::sizeHint(const QStyleOptionViewItem& option,
                                    const QModelIndex& index) const {
  QSize size = QStyledItemDelegate::sizeHint(option, index);
  size.setWidth(std::max(size.width(), kMinBarWidthPx + 2 * kMarginPx));
  return size;
}

}  // namespace detslim::ui
