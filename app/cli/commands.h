#pragma once
// Each subcommand registers its options on the CLI11 app and returns the callback that runs it.

#include <functional>

#include <CLI/CLI.hpp>

namespace detslim::cli {

using CommandRunner = std::function<int()>;

CommandRunner registerInspect(CLI::App& app);
CommandRunner registerBench(CLI::App& app);
CommandRunner registerEvalCoco(CLI::App& app);
CommandRunner registerEval(CLI::App& app);
CommandRunner registerRun(CLI::App& app);
CommandRunner registerSweep(CLI::App& app);
CommandRunner registerResults(CLI::App& app);
CommandRunner registerProbeRss(CLI::App& app);
CommandRunner registerPrune(CLI::App& app);
CommandRunner registerQuantize(CLI::App& app);
CommandRunner registerDetect(CLI::App& app);

}  // namespace detslim::cli
