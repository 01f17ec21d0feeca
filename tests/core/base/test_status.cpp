#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "core/base/status.h"

namespace detslim {
namespace {

TEST(Status, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.isOk());
  EXPECT_TRUE(static_cast<bool>(s));
  EXPECT_EQ(s.code(), ErrorCode::kOk);
  EXPECT_TRUE(Status::ok().isOk());
}

TEST(Status, ErrorsCarryCodeAndMessage) {
  Status s = notFound("node 'conv1' does not exist");
  EXPECT_FALSE(s.isOk());
  EXPECT_EQ(s.code(), ErrorCode::kNotFound);
  EXPECT_EQ(s.message(), "node 'conv1' does not exist");
  EXPECT_EQ(invalidArgument("x").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(ioError("x").code(), ErrorCode::kIo);
  EXPECT_EQ(parseError("x").code(), ErrorCode::kParse);
  EXPECT_EQ(unsupported("x").code(), ErrorCode::kUnsupported);
  EXPECT_EQ(internalError("x").code(), ErrorCode::kInternal);
  EXPECT_EQ(cancelled("x").code(), ErrorCode::kCancelled);
  EXPECT_STREQ(errorCodeName(ErrorCode::kParse), "parse error");
  EXPECT_STREQ(errorCodeName(ErrorCode::kOk), "ok");
}

TEST(Status, WithContextPrefixesErrorsOnly) {
  Status s = parseError("bad tensor").withContext("model.onnx");
  EXPECT_EQ(s.message(), "model.onnx: bad tensor");
  EXPECT_EQ(s.code(), ErrorCode::kParse);
  EXPECT_TRUE(Status::ok().withContext("ignored").isOk());
  EXPECT_TRUE(Status::ok().withContext("ignored").message().empty());
}

TEST(Result, HoldsValue) {
  const Result<int> good = 42;
  EXPECT_TRUE(good.isOk());
  EXPECT_TRUE(good.status().isOk());
  EXPECT_EQ(good.value(), 42);
}

TEST(Result, HoldsStatus) {
  Result<int> bad = invalidArgument("negative size");
  EXPECT_FALSE(bad.isOk());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "negative size");

  Result<std::string> text = std::string("abc");
  EXPECT_EQ(text->size(), 3u);
}

TEST(Result, MovesOutMoveOnlyValues) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 5);
}

Result<int> parsePositive(int v) {
  if (v <= 0) return invalidArgument("not positive: " + std::to_string(v));
  return v;
}

Result<int> doubled(int v) {
  DS_ASSIGN_OR_RETURN(int x, parsePositive(v));
  return 2 * x;
}

Status checkBoth(int a, int b) {
  DS_RETURN_IF_ERROR(parsePositive(a).status());
  DS_RETURN_IF_ERROR(parsePositive(b).status());
  return Status::ok();
}

TEST(Macros, PropagateTheFirstError) {
  EXPECT_EQ(*doubled(4), 8);
  Result<int> r = doubled(-1);
  ASSERT_FALSE(r.isOk());
  EXPECT_EQ(r.status().message(), "not positive: -1");

  EXPECT_TRUE(checkBoth(1, 2).isOk());
  Status s = checkBoth(3, 0);
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "not positive: 0");
}

Result<int> twoAssignsOnSeparateLines(int a, int b) {
  DS_ASSIGN_OR_RETURN(int x, parsePositive(a));
  DS_ASSIGN_OR_RETURN(int y, parsePositive(b));
  return x + y;
}

TEST(Macros, AssignOrReturnCanBeUsedTwiceInOneScope) {
  EXPECT_EQ(*twoAssignsOnSeparateLines(1, 2), 3);
  EXPECT_FALSE(twoAssignsOnSeparateLines(1, -2).isOk());
}

}  // namespace
}  // namespace detslim
