// COCO JSON reading: valid files load into the evaluation structs; malformed ones are refused
// with the source, the entry index and the field in the message.

#include <string>

#include <gtest/gtest.h>

#include "core/eval/coco_json.h"

namespace detslim {
namespace {

constexpr const char* kGt = R"({
  "images": [{"id": 5}, {"id": 9}, {"id": 2}],
  "categories": [{"id": 3, "name": "car"}, {"id": 17, "name": "person"}],
  "annotations": [
    {"id": 1, "image_id": 5, "category_id": 17, "bbox": [1, 2, 3, 4], "area": 10.5,
     "iscrowd": 0},
    {"id": 2, "image_id": 9, "category_id": 3, "bbox": [0, 0, 10, 20], "iscrowd": 1}
  ]
})";

EvalGroundTruth loadGt() {
  Result<EvalGroundTruth> gt = parseCocoGroundTruth(kGt, "gt.json");
  EXPECT_TRUE(gt.isOk()) << gt.status().message();
  return gt.isOk() ? *gt : EvalGroundTruth{};
}

// Expects a refusal whose message contains every fragment.
template <class T>
void expectRefused(const Result<T>& r, std::initializer_list<const char*> fragments) {
  ASSERT_FALSE(r.isOk());
  for (const char* f : fragments) {
    EXPECT_NE(r.status().message().find(f), std::string::npos)
        << "'" << f << "' not in: " << r.status().message();
  }
}

TEST(CocoJson, ReadsGroundTruth) {
  const EvalGroundTruth gt = loadGt();
  EXPECT_EQ(gt.image_ids, (std::vector<int64_t>{5, 9, 2}));  // image 2 has no annotations
  EXPECT_EQ(gt.category_ids, (std::vector<int64_t>{3, 17}));  // ids need not be contiguous
  EXPECT_EQ(gt.category_names, (std::vector<std::string>{"car", "person"}));
  ASSERT_EQ(gt.boxes.size(), 2u);
  EXPECT_EQ(gt.boxes[0].area, 10.5);  // the file's area, not w * h
  EXPECT_FALSE(gt.boxes[0].iscrowd);
  EXPECT_EQ(gt.boxes[1].area, 200.0);  // no 'area': box area
  EXPECT_TRUE(gt.boxes[1].iscrowd);
}

TEST(CocoJson, GroundTruthWithoutAnnotationsLoads) {
  Result<EvalGroundTruth> gt =
      parseCocoGroundTruth(R"({"images": [{"id": 1}], "categories": [{"id": 1}]})", "g.json");
  ASSERT_TRUE(gt.isOk()) << gt.status().message();
  EXPECT_TRUE(gt->boxes.empty());
}

TEST(CocoJson, MalformedGroundTruthRefused) {
  expectRefused(parseCocoGroundTruth("{", "g.json"), {"g.json", "not valid JSON"});
  expectRefused(parseCocoGroundTruth(R"({"categories": []})", "g.json"), {"g.json", "'images'"});
  expectRefused(parseCocoGroundTruth(R"({"images": []})", "g.json"), {"'categories'"});
  expectRefused(parseCocoGroundTruth(R"({"images": [{"file": "a"}], "categories": []})", "g.json"),
                {"images[0]", "'id'"});
  const std::string head = R"({"images": [{"id": 1}], "categories": [{"id": 1}], "annotations": [)";
  expectRefused(parseCocoGroundTruth(head + R"({"id": 1, "image_id": 1, "category_id": 1}]})",
                                     "g.json"),
                {"g.json", "annotations[0]", "'bbox'"});
  expectRefused(parseCocoGroundTruth(
                    head + R"({"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 2, 3]}]})",
                    "g.json"),
                {"annotations[0].bbox", "4 numbers"});
  expectRefused(parseCocoGroundTruth(
                    head + R"({"id": 1, "image_id": 4, "category_id": 1, "bbox": [1, 2, 3, 4]}]})",
                    "g.json"),
                {"annotations[0].image_id", "4"});
  expectRefused(parseCocoGroundTruth(
                    head + R"({"id": 1, "image_id": 1, "category_id": 8, "bbox": [1, 2, 3, 4]}]})",
                    "g.json"),
                {"annotations[0].category_id"});
  expectRefused(parseCocoGroundTruth(head + R"({"id": 1, "image_id": 1, "category_id": 1,
                                       "bbox": [1, 2, "3", 4]}]})",
                                     "g.json"),
                {"annotations[0].bbox[2]", "number"});
  expectRefused(parseCocoGroundTruth(head + R"({"image_id": 1, "category_id": 1,
                                       "bbox": [1, 2, 3, 4]}]})",
                                     "g.json"),
                {"annotations[0]", "'id'"});
}

TEST(CocoJson, ReadsResults) {
  const EvalGroundTruth gt = loadGt();
  Result<std::vector<EvalDetection>> dets = parseCocoResults(
      R"([{"image_id": 9, "category_id": 3, "bbox": [1.5, 2, 3, 4], "score": 0.25},
          {"image_id": 2.0, "category_id": 99, "bbox": [0, 0, 1, 1], "score": 1}])",
      "dt.json", &gt);
  ASSERT_TRUE(dets.isOk()) << dets.status().message();
  ASSERT_EQ(dets->size(), 2u);
  EXPECT_EQ((*dets)[0].x, 1.5);
  EXPECT_EQ((*dets)[0].score, 0.25);
  EXPECT_EQ((*dets)[1].image_id, 2);
}

TEST(CocoJson, MalformedResultsRefused) {
  const EvalGroundTruth gt = loadGt();
  expectRefused(parseCocoResults(R"({"image_id": 9})", "dt.json", &gt), {"dt.json", "list"});
  expectRefused(parseCocoResults(R"([{"image_id": 9, "category_id": 3, "score": 1}])", "dt.json",
                                 &gt),
                {"dt.json", "[0]", "'bbox'"});
  expectRefused(parseCocoResults(R"([{"image_id": 9, "category_id": 3, "bbox": [0, 0, 1, 1],
                                      "score": 1},
                                     {"image_id": 9, "category_id": 3, "bbox": [0, 0, 1, 1, 5],
                                      "score": 1}])",
                                 "dt.json", &gt),
                {"[1].bbox", "4 numbers", "got 5"});
  expectRefused(parseCocoResults(R"([{"image_id": 9, "category_id": 3, "bbox": [0, 0, 1, 1]}])",
                                 "dt.json", &gt),
                {"[0]", "'score'"});
  expectRefused(parseCocoResults(R"([{"image_id": 7, "category_id": 3, "bbox": [0, 0, 1, 1],
                                      "score": 1}])",
                                 "dt.json", &gt),
                {"[0].image_id", "7", "not an image of the ground truth"});
  expectRefused(parseCocoResults(R"([{"image_id": 9, "category_id": 3, "bbox": [0, 0, -1, 1],
                                      "score": 1}])",
                                 "dt.json", &gt),
                {"[0].bbox", "negative"});
  expectRefused(parseCocoResults(R"([{"image_id": "9", "category_id": 3, "bbox": [0, 0, 1, 1],
                                      "score": 1}])",
                                 "dt.json", &gt),
                {"[0].image_id", "integer"});
}

TEST(CocoJson, ResultsRoundTrip) {
  EvalDetection d;
  d.image_id = 9;
  d.category_id = 3;
  d.x = 1.25;
  d.y = 2;
  d.w = 3;
  d.h = 4.5;
  d.score = 0.75;
  Result<std::vector<EvalDetection>> back = parseCocoResults(cocoResultsToJson({d}), "mem");
  ASSERT_TRUE(back.isOk()) << back.status().message();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].image_id, 9);
  EXPECT_EQ((*back)[0].x, 1.25);
  EXPECT_EQ((*back)[0].h, 4.5);
  EXPECT_EQ((*back)[0].score, 0.75);
}

TEST(CocoJson, MissingFileNamed) {
  expectRefused(readCocoGroundTruth("/nonexistent/gt.json"), {"/nonexistent/gt.json"});
}

}  // namespace
}  // namespace detslim
