#pragma once
// Number formatting shared by the item models and views: the same digit grouping as the CLI
// (1,867,405), whatever the process locale, so tables, tests and screenshots read alike.

#include <QLocale>
#include <QString>
#include <cstdint>

namespace detslim::ui {

inline QString groupDigits(int64_t value) {
  return QLocale(QLocale::English).toString(static_cast<qlonglong>(value));
}

// "7.55 MiB", "512 B".
inline QString humanBytes(double bytes) {
  if (bytes < 1024.0) return QStringLiteral("%1 B").arg(bytes, 0, 'f', 0);
  if (bytes < 1024.0 * 1024.0) return QStringLiteral("%1 KiB").arg(bytes / 1024.0, 0, 'f', 1);
  if (bytes < 1024.0 * 1024.0 * 1024.0) {
    return QStringLiteral("%1 MiB").arg(bytes / (1024.0 * 1024.0), 0, 'f', 2);
  }
  return QStringLiteral("%1 GiB").arg(bytes / (1024.0 * 1024.0 * 1024.0), 0, 'f', 2);
}

// "2.23 G", "1.87 M": the short form beside an exact count.
inline QString humanCount(double value) {
  if (value >= 1e9) return QStringLiteral("%1 G").arg(value / 1e9, 0, 'f', 2);
  if (value >= 1e6) return QStringLiteral("%1 M").arg(value / 1e6, 0, 'f', 2);
  if (value >= 1e3) return QStringLiteral("%1 K").arg(value / 1e3, 0, 'f', 1);
  return QString::number(value, 'f', 0);
}

}  // namespace detslim::ui
