#pragma once
// The results schema and its forward-only migrations. Internal to core/store.

#include "core/base/status.h"
#include "core/store/sqlite_util.h"

namespace detslim::store::detail {

// Brings a file at schema version < kSchemaVersion up to kSchemaVersion in one write
// transaction (re-reading the version inside it, so two processes opening a new file at once
// migrate it once). Returns the version the file has afterwards.
Result<int> migrate(const Conn& conn);

// How many migration steps this build has; equals Store::kSchemaVersion.
int migrationCount();

}  // namespace detslim::store::detail
