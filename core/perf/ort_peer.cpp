// ONNX Runtime peer: a Node.js child process speaking the line protocol of tools/peers/ort_peer.js.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/perf/peer.h"

extern char** environ;

namespace detslim {

namespace fs = std::filesystem;

fs::path peersDir() {
  if (const char* env = std::getenv("DETSLIM_PEERS_DIR")) return env;
  return fs::path(DETSLIM_SOURCE_DIR) / "tools" / "peers";
}

namespace {

class OrtPeer final : public PeerEngine {
 public:
  ~OrtPeer() override {
    if (to_child_) {
      std::fputs("quit\n", to_child_);
      std::fflush(to_child_);
      std::fclose(to_child_);
    }
    if (from_child_) std::fclose(from_child_);
    if (pid_ > 0) {
      int status = 0;
      // The peer exits on "quit"; make sure it cannot outlive us if it hangs.
      for (int i = 0; i < 50 && waitpid(pid_, &status, WNOHANG) == 0; ++i) usleep(20000);
      if (waitpid(pid_, &status, WNOHANG) == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
      }
    }
    if (!tmp_dir_.empty()) {
      std::error_code ec;
      fs::remove_all(tmp_dir_, ec);
    }
  }

  Status start(const fs::path& model, const std::string& input_name, const Tensor& input, int threads) {
    const fs::path script = peersDir() / "ort_peer.js";
    if (!fs::exists(peersDir() / "node_modules" / "onnxruntime-node")) {
      return notFound("ONNX Runtime peer is not installed (" + (peersDir() / "node_modules").string() +
                      " has no onnxruntime-node); scripts/setup.sh installs it from the npm registry");
    }
    char pattern[] = "/tmp/detslim-ort-XXXXXX";
    if (!mkdtemp(pattern)) return ioError("cannot create a temporary folder for the ONNX Runtime peer");
    tmp_dir_ = pattern;
    const fs::path raw = tmp_dir_ / "input.f32";
    {
      std::ofstream out(raw, std::ios::binary);
      out.write(static_cast<const char*>(input.raw()), static_cast<std::streamsize>(input.bytes()));
      if (!out) return ioError("cannot write " + raw.string());
    }
    std::string dims;
    for (size_t i = 0; i < input.shape().size(); ++i) dims += (i ? "," : "") + std::to_string(input.shape()[i]);
    const std::string threads_arg = std::to_string(threads);
    std::vector<std::string> args = {"node", script.string(), fs::absolute(model).string(), input_name,
                                     raw.string(), dims, threads_arg};
    int in_pipe[2], out_pipe[2];
    if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) return ioError("pipe() failed for the ONNX Runtime peer");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_addclose(&actions, in_pipe[1]);
    posix_spawn_file_actions_addclose(&actions, out_pipe[0]);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int rc = posix_spawnp(&pid_, "node", &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    close(in_pipe[0]);
    close(out_pipe[1]);
    if (rc != 0) {
      close(in_pipe[1]);
      close(out_pipe[0]);
      pid_ = -1;
      return notFound("cannot start node for the ONNX Runtime peer (is Node.js installed?)");
    }
    to_child_ = fdopen(in_pipe[1], "w");
    from_child_ = fdopen(out_pipe[0], "r");
    DS_ASSIGN_OR_RETURN(std::string ready, readLine());
    if (ready.rfind("ready ", 0) != 0) return unsupported("ONNX Runtime peer: " + ready);
    name_ = "onnxruntime " + ready.substr(6);
    return Status::ok();
  }

  std::string name() const override { return name_; }

  Result<double> runOnce() override {
    DS_ASSIGN_OR_RETURN(std::string line, command("run"));
    char* end = nullptr;
    const double ms = std::strtod(line.c_str(), &end);
    if (end == line.c_str()) return internalError("ONNX Runtime peer answered '" + line + "'");
    return ms;
  }

  Result<Tensor> output() override {
    const fs::path out = tmp_dir_ / "output.f32";
    DS_ASSIGN_OR_RETURN(std::string line, command("dump " + out.string()));
    Shape shape;
    std::stringstream ss(line);
    std::string part;
    while (std::getline(ss, part, ',')) shape.push_back(std::stoll(part));
    Tensor t(DType::kFloat32, shape);
    std::ifstream in(out, std::ios::binary);
    in.read(static_cast<char*>(t.rawMutable()), static_cast<std::streamsize>(t.bytes()));
    if (!in) return ioError("ONNX Runtime peer: cannot read its output " + out.string());
    return t;
  }

 private:
  Result<std::string> command(const std::string& cmd) {
    if (std::fputs((cmd + "\n").c_str(), to_child_) < 0 || std::fflush(to_child_) != 0) {
      return ioError("ONNX Runtime peer stopped answering");
    }
    DS_ASSIGN_OR_RETURN(std::string line, readLine());
    if (line.rfind("error ", 0) == 0) return unsupported("ONNX Runtime peer: " + line.substr(6));
    return line;
  }
  Result<std::string> readLine() {
    std::string line;
    int c;
    while ((c = std::fgetc(from_child_)) != EOF && c != '\n') line.push_back(static_cast<char>(c));
    if (c == EOF && line.empty()) return ioError("ONNX Runtime peer exited unexpectedly");
    if (line.rfind("error ", 0) == 0 && name_.empty()) return unsupported("ONNX Runtime peer: " + line.substr(6));
    return line;
  }

  pid_t pid_ = -1;
  FILE* to_child_ = nullptr;
  FILE* from_child_ = nullptr;
  fs::path tmp_dir_;
  std::string name_;
};

}  // namespace

Result<std::unique_ptr<PeerEngine>> startOrtPeer(const fs::path& model_path, const std::string& input_name,
                                                 const Tensor& input, int threads) {
  if (input.dtype() != DType::kFloat32) return unsupported("the ONNX Runtime peer takes float32 inputs only");
  auto peer = std::make_unique<OrtPeer>();
  DS_RETURN_IF_ERROR(peer->start(model_path, input_name, input, threads));
  return std::unique_ptr<PeerEngine>(std::move(peer));
}

}  // namespace detslim
