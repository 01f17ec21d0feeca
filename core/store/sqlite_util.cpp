#include "core/store/sqlite_util.h"

#include <chrono>
#include <cstdio>
#include <thread>

namespace detslim::store::detail {

namespace {

// Pause between attempts when SQLite returned BUSY without waiting: short, so a freed lock is
// taken soon, long enough not to spin.
constexpr std::chrono::milliseconds kLockRetryPause{20};

}  // namespace

bool isLockContention(int sqlite_rc) {
  const int primary = sqlite_rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

ErrorCode errorCodeFor(int sqlite_rc) {
  switch (sqlite_rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return ErrorCode::kInvalidArgument;
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return ErrorCode::kParse;
    case SQLITE_NOTFOUND:
      return ErrorCode::kNotFound;
    case SQLITE_MISUSE:
    case SQLITE_INTERNAL:
      return ErrorCode::kInternal;
    default:
      return ErrorCode::kIo;
  }
}

Stmt::Stmt(Stmt&& other) noexcept : stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Stmt& Stmt::operator=(Stmt&& other) noexcept {
  if (this != &other) {
    sqlite3_finalize(stmt_);
    stmt_ = other.stmt_;
    bind_rc_ = other.bind_rc_;
    other.stmt_ = nullptr;
  }
  return *this;
}

Stmt::~Stmt() {
  sqlite3_finalize(stmt_);
}

void Stmt::bind(int index, int64_t value) {
  const int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::bind(int index, double value) {
  const int rc = sqlite3_bind_double(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::bind(int index, std::string_view value) {
  const int rc =
      sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Stmt::bindNull(int index) {
  const int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

int Stmt::step() {
  if (bind_rc_ != SQLITE_OK) return bind_rc_;
  return sqlite3_step(stmt_);
}

void Stmt::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
}

bool Stmt::isNull(int column) const {
  return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

int64_t Stmt::int64(int column) const {
  return sqlite3_column_int64(stmt_, column);
}

double Stmt::real(int column, double if_null) const {
  return isNull(column) ? if_null : sqlite3_column_double(stmt_, column);
}

std::string Stmt::text(int column) const {
  const unsigned char* chars = sqlite3_column_text(stmt_, column);
  if (chars == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(chars),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, column)));
}

Status Conn::error(int rc, std::string_view what) const {
  if (isLockContention(rc)) {
    return ioError(path_ + ": " + std::string(what) +
                   ": database is locked by another process (waited " +
                   formatSeconds(busy_timeout_ms_) + ")");
  }
  // A bind failure never reaches the connection, so errmsg may describe an older call.
  const char* message = rc == sqlite3_errcode(db_) ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  return Status(errorCodeFor(rc), path_ + ": " + std::string(what) + ": " + message);
}

Result<Stmt> Conn::prepare(std::string_view sql, std::string_view what) const {
  sqlite3_stmt* raw = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return error(rc, what);
  }
  return Stmt(raw);
}

Status Conn::exec(const std::string& sql, std::string_view what) const {
  char* message = nullptr;
  const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::ok();
  const std::string text = message != nullptr ? message : sqlite3_errstr(rc);
  sqlite3_free(message);
  return Status(errorCodeFor(rc), path_ + ": " + std::string(what) + ": " + text);
}

Result<int64_t> Conn::queryInt(const std::string& sql, std::string_view what) const {
  DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(sql, what));
  const int rc = stmt.step();
  if (rc != SQLITE_ROW) return error(rc == SQLITE_DONE ? SQLITE_NOTFOUND : rc, what);
  return stmt.int64(0);
}

Result<std::string> Conn::queryText(const std::string& sql, std::string_view what) const {
  DS_ASSIGN_OR_RETURN(Stmt stmt, prepare(sql, what));
  const int rc = stmt.step();
  if (rc != SQLITE_ROW) return error(rc == SQLITE_DONE ? SQLITE_NOTFOUND : rc, what);
  return stmt.text(0);
}

int Conn::retryWhileLocked(const std::function<int()>& attempt) const {
  using Clock = std::chrono::steady_clock;
  const Clock::time_point deadline = Clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
  while (true) {
    const int rc = attempt();
    if (!isLockContention(rc) || Clock::now() >= deadline) return rc;
    std::this_thread::sleep_for(kLockRetryPause);
  }
}

Status Conn::lockedError() const {
  return ioError(path_ + ": database is locked by another process (waited " +
                 formatSeconds(busy_timeout_ms_) + ")");
}

Result<Transaction> Transaction::beginWrite(const Conn& conn) {
  const int rc = conn.retryWhileLocked(
      [&conn] { return sqlite3_exec(conn.db(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr); });
  if (rc == SQLITE_OK) return Transaction(&conn);
  if (isLockContention(rc)) return conn.lockedError();
  return conn.error(rc, "cannot start a write transaction");
}

Result<Transaction> Transaction::beginRead(const Conn& conn) {
  DS_RETURN_IF_ERROR(conn.exec("BEGIN", "cannot start a read transaction"));
  return Transaction(&conn);
}

Transaction::Transaction(Transaction&& other) noexcept : conn_(other.conn_) {
  other.conn_ = nullptr;
}

Transaction::~Transaction() {
  rollback();
}

void Transaction::rollback() {
  if (conn_ == nullptr) return;
  // Some errors (SQLITE_FULL, SQLITE_IOERR) may already have rolled the transaction back.
  if (sqlite3_get_autocommit(conn_->db()) == 0) {
    sqlite3_exec(conn_->db(), "ROLLBACK", nullptr, nullptr, nullptr);
  }
  conn_ = nullptr;
}

Status Transaction::commit(std::string_view what) {
  const Conn* conn = conn_;
  const int rc = sqlite3_exec(conn->db(), "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    Status failed = conn->error(rc, what);
    rollback();
    return failed;
  }
  conn_ = nullptr;
  return Status::ok();
}

std::string formatSeconds(int milliseconds) {
  constexpr double kMsPerSecond = 1000.0;
  char text[32];
  std::snprintf(text, sizeof(text), "%g s", milliseconds / kMsPerSecond);
  return text;
}

}  // namespace detslim::store::detail
