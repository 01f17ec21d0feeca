#pragma once
// Plain-text summary of a ModelInspection for the model panel (HTML, read-only).

#include <QString>

namespace detslim {
struct ModelInspection;
}

namespace detslim::ui {

QString modelSummaryHtml(const ModelInspection& inspection);

}  // namespace detslim::ui
