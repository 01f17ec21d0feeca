#include "core/workbench/inspect.h"
