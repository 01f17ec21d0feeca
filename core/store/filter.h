#pragma once
// The filter language of `detslim results --filter` (grammar in docs/store.md), compiled to an
// SQL condition with bound parameters: values never become SQL text.

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/base/status.h"

namespace detslim::store {

using SqlValue = std::variant<double, std::string>;

struct SqlFilter {
  // A condition over the tables `runs`, `m` (models), `d` (datasets) and `mt` (metrics) as
  // joined by Store::listRuns; empty when the expression is empty (every run matches).
  std::string where;
  std::vector<SqlValue> params;  // bound to the `?` in `where`, in order
};

// Refuses bad syntax, an unknown field, a non-number for a numeric field and `~` on a numeric
// field with InvalidArgument naming the token and its 1-based column, e.g.
// "filter: unknown field 'mapp' at column 1; fields: id, model, ...".
Result<SqlFilter> compileFilter(std::string_view expr);

// The field names the language knows, in documentation order.
std::vector<std::string> filterFieldNames();

}  // namespace detslim::store
