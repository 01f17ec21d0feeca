#pragma once
// Runs a command line through the shell and captures exit code, stdout and stderr (for CLI
// end-to-end tests).

#include <sys/wait.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "temp_files.h"

namespace detslim::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string shellQuote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline CommandResult runCommand(const std::vector<std::string>& argv) {
  const TempDir dir("detslim-cmd");
  std::string line;
  for (const std::string& a : argv) line += shellQuote(a) + " ";
  line += "> " + shellQuote((dir / "out").string()) + " 2> " + shellQuote((dir / "err").string()) +
          " < /dev/null";
  const int status = std::system(line.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = readBytes(dir / "out");
  r.err = readBytes(dir / "err");
  return r;
}

}  // namespace detslim::testing
