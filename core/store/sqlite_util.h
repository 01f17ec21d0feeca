#pragma once
// Thin RAII over the SQLite C API for the store: prepared statements, a connection that prefixes
// every error with the database path, and write transactions that wait for other processes.
// Internal to core/store.

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/base/status.h"

namespace detslim::store::detail {

// The ErrorCode a failed SQLite call maps to: a constraint is the caller's input, a malformed or
// foreign file is a parse error, anything else (locks, full disk, I/O) is kIo.
ErrorCode errorCodeFor(int sqlite_rc);

// SQLITE_BUSY or SQLITE_LOCKED: another connection holds the lock.
bool isLockContention(int sqlite_rc);

// A prepared statement, finalised on destruction. Bind failures are remembered and reported by
// the next step() so call sites stay a flat list of binds.
class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQLite.
  void bind(int index, int64_t value);
  void bind(int index, int value) { bind(index, static_cast<int64_t>(value)); }
  void bind(int index, double value);
  void bind(int index, std::string_view value);
  void bindNull(int index);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  // Clears bindings and rewinds, for re-use with the next row of a batch insert.
  void reset();

  bool isNull(int column) const;
  int64_t int64(int column) const;
  // A NULL column reads as `if_null` (SQLite stores NaN as NULL).
  double real(int column, double if_null) const;
  std::string text(int column) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = SQLITE_OK;
};

// A borrowed connection plus the path every message names and the busy timeout it waits.
class Conn {
 public:
  Conn(sqlite3* db, std::string path, int busy_timeout_ms)
      : db_(db), path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms) {}

  sqlite3* db() const { return db_; }
  const std::string& path() const { return path_; }

  // "<path>: <what>: <sqlite message>" with the matching ErrorCode; a lock held elsewhere reads
  // "<path>: <what>: database is locked by another process (waited N s)".
  Status error(int rc, std::string_view what) const;
  Result<Stmt> prepare(std::string_view sql, std::string_view what) const;
  // Runs statements that return no rows the caller needs.
  Status exec(const std::string& sql, std::string_view what) const;
  // Runs a statement that yields one integer (PRAGMA user_version, COUNT(*)).
  Result<int64_t> queryInt(const std::string& sql, std::string_view what) const;
  Result<std::string> queryText(const std::string& sql, std::string_view what) const;

  // Calls `attempt` (an SQLite call returning its result code) again while it fails on another
  // connection's lock, until the busy timeout has passed; returns the last result code. SQLite's
  // busy handler waits inside most calls, but some return SQLITE_BUSY at once (changing the
  // journal mode, a lock upgrade that could deadlock), and callers want one behaviour.
  int retryWhileLocked(const std::function<int()>& attempt) const;
  // "<path>: database is locked by another process (waited N s)".
  Status lockedError() const;

 private:
  sqlite3* db_;
  std::string path_;
  int busy_timeout_ms_;
};

// An open transaction, rolled back on destruction unless committed.
class Transaction {
 public:
  // BEGIN IMMEDIATE: takes the write lock now, so the transaction cannot fail half-way on a
  // lock. Retried on SQLITE_BUSY / SQLITE_LOCKED until the busy timeout has passed, then refused as
  // "<path>: database is locked by another process (waited N s)".
  static Result<Transaction> beginWrite(const Conn& conn);
  // BEGIN (deferred): a consistent snapshot for several reads; WAL readers never wait.
  static Result<Transaction> beginRead(const Conn& conn);

  Transaction(Transaction&& other) noexcept;
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  Status commit(std::string_view what);

 private:
  explicit Transaction(const Conn* conn) : conn_(conn) {}
  void rollback();
  const Conn* conn_;
};

// "10 s", "0.2 s": a timeout as the lock message states it.
std::string formatSeconds(int milliseconds);

}  // namespace detslim::store::detail
