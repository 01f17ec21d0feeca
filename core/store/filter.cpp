#include "core/store/filter.h"

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>

namespace detslim::store {

namespace {

// Parentheses deeper than this are refused: the parser recurses once per level.
constexpr int kMaxNesting = 64;

struct Field {
  const char* name;
  const char* sql;  // an expression over the joined tables of SqlFilter::where
  bool numeric;
};

// The subqueries pick one child row per run; the primary keys (run_id, kind) and
// (run_id, batch) make them single-valued.
constexpr std::array<Field, 20> kFields = {{
    {"id", "runs.id", true},
    {"model", "m.name", false},
    {"dataset", "d.path", false},
    {"format", "d.format", false},
    {"method", "runs.prune_method", false},
    {"sparsity", "runs.sparsity", true},
    {"precision", "runs.precision", false},
    {"status", "runs.status", false},
    {"map", "mt.ap", true},
    {"map50", "mt.ap50", true},
    {"ap75", "mt.ap75", true},
    {"latency",
     "(SELECT l.median_ms FROM latency AS l WHERE l.run_id = runs.id AND l.kind = 'inference')",
     true},
    {"p99", "(SELECT l.p99_ms FROM latency AS l WHERE l.run_id = runs.id AND l.kind = 'inference')",
     true},
    {"throughput",
     "(SELECT t.images_per_s FROM throughput AS t WHERE t.run_id = runs.id AND t.batch = 1)", true},
    {"threads", "json_extract(runs.config_json, '$.threads')", true},
    {"batch", "json_extract(runs.config_json, '$.batch')", true},
    // input_size is a number or [height, width]; a path into a number yields NULL.
    {"size",
     "COALESCE(json_extract(runs.config_json, '$.input_size[0]'), "
     "json_extract(runs.config_json, '$.input_size'))",
     true},
    {"started", "runs.started_at", false},
    {"hash", "runs.config_hash", false},
    {"notes", "runs.notes", false},
}};

enum class TokenKind { kWord, kString, kOperator, kOpen, kClose, kEnd };

struct Token {
  TokenKind kind;
  std::string text;  // a string token's text is unescaped
  int column;        // 1-based
};

bool isOperatorChar(char c) {
  return c == '=' || c == '!' || c == '<' || c == '>' || c == '~';
}

bool isWordChar(char c) {
  return !std::isspace(static_cast<unsigned char>(c)) && c != '(' && c != ')' && c != '"' &&
         c != '\'' && !isOperatorChar(c);
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string describe(const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "the end of the filter";
    case TokenKind::kString:
      return "\"" + token.text + "\"";
    default:
      return "'" + token.text + "'";
  }
}

std::string at(int column) {
  return " at column " + std::to_string(column);
}

Result<std::vector<Token>> tokenize(std::string_view expr) {
  std::vector<Token> tokens;
  size_t i = 0;
  while (i < expr.size()) {
    const char c = expr[i];
    const int column = static_cast<int>(i) + 1;
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')') {
      tokens.push_back(
          {c == '(' ? TokenKind::kOpen : TokenKind::kClose, std::string(1, c), column});
      ++i;
    } else if (c == '"' || c == '\'') {
      std::string text;
      size_t j = i + 1;
      bool closed = false;
      for (; j < expr.size(); ++j) {
        if (expr[j] == '\\' && j + 1 < expr.size()) {
          text.push_back(expr[++j]);
        } else if (expr[j] == c) {
          closed = true;
          break;
        } else {
          text.push_back(expr[j]);
        }
      }
      if (!closed) {
        return invalidArgument("filter: unterminated string starting" + at(column));
      }
      tokens.push_back({TokenKind::kString, std::move(text), column});
      i = j + 1;
    } else if (isOperatorChar(c)) {
      const bool two = i + 1 < expr.size() && expr[i + 1] == '=' && c != '~';
      const std::string op(expr.substr(i, two ? 2 : 1));
      if (op == "!") return invalidArgument("filter: unexpected '!'" + at(column) + "; use !=");
      tokens.push_back({TokenKind::kOperator, op, column});
      i += op.size();
    } else {
      size_t j = i;
      while (j < expr.size() && isWordChar(expr[j])) ++j;
      tokens.push_back({TokenKind::kWord, std::string(expr.substr(i, j - i)), column});
      i = j;
    }
  }
  tokens.push_back({TokenKind::kEnd, "", static_cast<int>(expr.size()) + 1});
  return tokens;
}

std::optional<double> parseNumber(const std::string& text) {
  double value = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::string fieldList() {
  std::string out;
  for (const Field& field : kFields) {
    if (!out.empty()) out += ", ";
    out += field.name;
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<SqlFilter> parse() {
    SqlFilter out;
    if (peek().kind == TokenKind::kEnd) return out;
    DS_ASSIGN_OR_RETURN(out.where, parseOr(0));
    if (peek().kind != TokenKind::kEnd) {
      return invalidArgument("filter: unexpected " + describe(peek()) + at(peek().column) +
                             "; expected 'and', 'or' or the end");
    }
    out.params = std::move(params_);
    return out;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  bool peekKeyword(const char* keyword) const {
    return peek().kind == TokenKind::kWord && lower(peek().text) == keyword;
  }

  Result<std::string> parseOr(int depth) {
    DS_ASSIGN_OR_RETURN(std::string sql, parseAnd(depth));
    while (peekKeyword("or")) {
      next();
      DS_ASSIGN_OR_RETURN(std::string rhs, parseAnd(depth));
      sql = "(" + sql + " OR " + rhs + ")";
    }
    return sql;
  }

  Result<std::string> parseAnd(int depth) {
    DS_ASSIGN_OR_RETURN(std::string sql, parsePrimary(depth));
    while (peekKeyword("and")) {
      next();
      DS_ASSIGN_OR_RETURN(std::string rhs, parsePrimary(depth));
      sql = "(" + sql + " AND " + rhs + ")";
    }
    return sql;
  }

  Result<std::string> parsePrimary(int depth) {
    const Token& token = next();
    if (token.kind == TokenKind::kOpen) {
      if (depth >= kMaxNesting) {
        return invalidArgument("filter: parentheses nested deeper than " +
                               std::to_string(kMaxNesting) + at(token.column));
      }
      DS_ASSIGN_OR_RETURN(std::string inner, parseOr(depth + 1));
      if (peek().kind != TokenKind::kClose) {
        return invalidArgument("filter: missing ')' for the '('" + at(token.column) + "; found " +
                               describe(peek()) + at(peek().column));
      }
      next();
      return "(" + inner + ")";
    }
    if (token.kind != TokenKind::kWord) {
      return invalidArgument("filter: expected a field name" + at(token.column) + ", got " +
                             describe(token));
    }
    return parseClause(token);
  }

  Result<std::string> parseClause(const Token& field_token) {
    const Field* field = nullptr;
    const std::string name = lower(field_token.text);
    for (const Field& candidate : kFields) {
      if (name == candidate.name) field = &candidate;
    }
    if (field == nullptr) {
      return invalidArgument("filter: unknown field '" + field_token.text + "'" +
                             at(field_token.column) + "; fields: " + fieldList());
    }
    const Token& op = next();
    if (op.kind != TokenKind::kOperator) {
      return invalidArgument("filter: expected an operator (== != < <= > >= ~) after '" +
                             field_token.text + "'" + at(op.column) + ", got " + describe(op));
    }
    const Token& value = next();
    if (value.kind != TokenKind::kWord && value.kind != TokenKind::kString) {
      return invalidArgument("filter: expected a value after '" + op.text + "'" + at(value.column) +
                             ", got " + describe(value));
    }
    const std::string sql_op = op.text == "==" || op.text == "=" ? "="
                               : op.text == "!="                 ? "<>"
                                                                 : op.text;
    if (field->numeric) {
      if (op.text == "~") {
        return invalidArgument("filter: '~' needs a text field; '" + field_token.text +
                               "' is a number" + at(op.column));
      }
      const std::optional<double> number = parseNumber(value.text);
      if (!number) {
        return invalidArgument("filter: field '" + field_token.text + "' needs a number, got " +
                               describe(value) + at(value.column));
      }
      params_.emplace_back(*number);
      return std::string(field->sql) + " " + sql_op + " ?";
    }
    params_.emplace_back(value.text);
    if (op.text == "~") return "instr(lower(" + std::string(field->sql) + "), lower(?)) > 0";
    return std::string(field->sql) + " " + sql_op + " ?";
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  std::vector<SqlValue> params_;
};

}  // namespace

Result<SqlFilter> compileFilter(std::string_view expr) {
  DS_ASSIGN_OR_RETURN(std::vector<Token> tokens, tokenize(expr));
  return Parser(std::move(tokens)).parse();
}

std::vector<std::string> filterFieldNames() {
  std::vector<std::string> names;
  for (const Field& field : kFields) names.emplace_back(field.name);
  return names;
}

}  // namespace detslim::store
