#pragma once
// Each subcommand registers its options on the CLI11 app and returns the callback that runs it.

#include <functional>

#include <CLI/CLI.hpp>

namespace detslim::cli {

using CommandRunner = std::function<int()>;

CommandRunner registerInspect(CLI::App& app);
CommandRunner registerBench(CLI::App& app);
CommandRunner registerEvalCoco(CLI::App& app);

}  // namespace detslim::cli
