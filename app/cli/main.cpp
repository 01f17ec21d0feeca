// `detslim`: the command-line front end. Links core only (no Qt).

#include <exception>
#include <iostream>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/cli/cli_common.h"
#include "app/cli/commands.h"
#include "core/base/version.h"

int main(int argc, char** argv) {
  using namespace detslim::cli;
  CLI::App app{"DetSlim: compress an object detector and measure what it costs and buys"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("detslim ") + detslim::kVersion);
  std::vector<CommandRunner> commands = {registerInspect(app), registerBench(app),
                                          registerEvalCoco(app), registerEval(app),
                                          registerRun(app),      registerSweep(app),
                                          registerResults(app),  registerProbeRss(app),
                                          registerPrune(app),    registerQuantize(app),
                                          registerDetect(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }
  try {
    for (const CommandRunner& run : commands) {
      const int code = run();
      if (code >= 0) return code;
    }
  } catch (const std::exception& e) {
    std::cerr << "detslim: internal error: " << e.what() << "\n";
    return kExitInternal;
  }
  return kExitBadInput;
}
