// The readers on the real samples in the shared data folder (see its MANIFEST.md for the counts).

#include <map>
#include <set>

#include <gtest/gtest.h>

#include "core/datasets/class_map.h"
#include "core/datasets/dataset.h"
#include "test_data.h"

namespace detslim::datasets {
namespace {

namespace fs = std::filesystem;
using ::detslim::testing::testDataDir;

std::map<std::string, int> countByClass(const Dataset& dataset) {
  std::map<std::string, int> counts;
  for (const Sample& sample : dataset.samples) {
    for (const GtBox& box : sample.boxes) ++counts[box.class_name];
  }
  return counts;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

TEST(DatasetsReal, KittiCountsAndClipping) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Dataset> dataset = readDataset(testDataDir() / "kitti");
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->format, Format::kKitti);
  EXPECT_EQ(dataset->samples.size(), 31u);
  EXPECT_EQ(dataset->boxCount(), 192u);
  EXPECT_TRUE(dataset->warnings.empty()) << joined(dataset->warnings);
  const std::map<std::string, int> expected = {{"Car", 65}, {"Pedestrian", 12}, {"Truck", 5},
                                               {"Van", 5},  {"Cyclist", 5},     {"Misc", 2},
                                               {"Tram", 2}, {"DontCare", 96}};
  EXPECT_EQ(countByClass(*dataset), expected);
  for (const Sample& sample : dataset->samples) {
    EXPECT_EQ(sample.width, 1224) << sample.image_path;
    EXPECT_EQ(sample.height, 370) << sample.image_path;
    for (const GtBox& box : sample.boxes) {
      EXPECT_GE(box.x1, 0);
      EXPECT_GE(box.y1, 0);
      EXPECT_LE(box.x2, 1224);
      EXPECT_LE(box.y2, 370);
      EXPECT_EQ(box.ignore, box.class_name == "DontCare");
    }
  }
  // 000000 is the pedestrian frame: truncated / occluded come through as flags.
  const GtBox& pedestrian = dataset->samples[0].boxes[0];
  EXPECT_EQ(pedestrian.class_name, "Pedestrian");
  EXPECT_FLOAT_EQ(pedestrian.x1, 712.40f);
  EXPECT_FLOAT_EQ(pedestrian.y2, 307.92f);
}

TEST(DatasetsReal, KittiDefaultClassMap) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Dataset> dataset = readDataset(testDataDir() / "kitti");
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  Result<ClassMap> map = defaultClassMap(Format::kKitti);
  ASSERT_TRUE(map.isOk()) << map.status().message();
  Result<ClassMapReport> report = applyClassMap(&*dataset, *map);
  ASSERT_TRUE(report.isOk()) << report.status().message();
  EXPECT_EQ(report->mapped_boxes, 65u + 12 + 5 + 5 + 5 + 2);
  EXPECT_EQ(report->unmapped_boxes, 98u);
  EXPECT_EQ(report->unmapped.at("DontCare"), 96u);
  EXPECT_EQ(report->unmapped.at("Misc"), 2u);
  const std::map<std::string, int> counts = countByClass(*dataset);
  EXPECT_EQ(counts.at("car"), 70);
  EXPECT_EQ(counts.at("person"), 17);
  EXPECT_EQ(counts.at("train"), 2);
}

TEST(DatasetsReal, CocoVal2017ThroughImagesFolder) {
  DETSLIM_REQUIRE_TEST_DATA();
  ReadOptions options;
  options.names_file = testDataDir() / "samples" / "coco.names";
  const fs::path images = testDataDir() / "coco" / "images" / "val2017";
  Result<Format> format = detectFormat(images);
  ASSERT_TRUE(format.isOk()) << format.status().message();
  EXPECT_EQ(*format, Format::kYolo);
  Result<Dataset> dataset = readDataset(images, options);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->samples.size(), 128u);
  EXPECT_EQ(dataset->boxCount(), 898u);
  EXPECT_EQ(dataset->class_names.size(), 80u);
  EXPECT_EQ(countByClass(*dataset).size(), 73u);
  EXPECT_TRUE(dataset->warnings.empty()) << joined(dataset->warnings);
  for (const Sample& sample : dataset->samples) {
    for (const GtBox& box : sample.boxes) {
      EXPECT_LE(box.x2, sample.width);
      EXPECT_LE(box.y2, sample.height);
    }
  }
}

TEST(DatasetsReal, CocoTrain2017InstancesJson) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path json = testDataDir() / "coco" / "annotations" / "instances_train2017.json";
  Result<Format> format = detectFormat(json);
  ASSERT_TRUE(format.isOk()) << format.status().message();
  EXPECT_EQ(*format, Format::kCoco);
  Result<Dataset> dataset = readDataset(json);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->samples.size(), 128u);
  EXPECT_EQ(dataset->boxCount(), 939u);
  EXPECT_EQ(dataset->class_names.size(), 80u);
  EXPECT_EQ(dataset->category_ids.back(), 90);  // ids are not contiguous
  int crowd = 0, empty_images = 0;
  for (const Sample& sample : dataset->samples) {
    EXPECT_TRUE(fs::exists(sample.image_path)) << sample.image_path;
    empty_images += sample.boxes.empty();
    for (const GtBox& box : sample.boxes) {
      crowd += box.crowd;
      EXPECT_EQ(box.crowd, box.ignore);
    }
  }
  EXPECT_EQ(crowd, 10);
  EXPECT_EQ(empty_images, 2);  // 000000000250.jpg and 000000000508.jpg
  EXPECT_TRUE(dataset->warnings.empty()) << joined(dataset->warnings);
}

TEST(DatasetsReal, CocoRootPicksInstancesJson) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<Format> format = detectFormat(testDataDir() / "coco");
  ASSERT_TRUE(format.isOk()) << format.status().message();
  EXPECT_EQ(*format, Format::kCoco);
}

TEST(DatasetsReal, Bdd100kDetectSingleList) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path detect = testDataDir() / "bdd100k" / "detect";
  Result<Format> format = detectFormat(detect);
  ASSERT_TRUE(format.isOk()) << format.status().message();
  EXPECT_EQ(*format, Format::kBdd100k);
  Result<Dataset> dataset = readDataset(detect);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  ASSERT_EQ(dataset->samples.size(), 1u);
  EXPECT_EQ(dataset->boxCount(), 10u);
  EXPECT_EQ(dataset->samples[0].width, 1280);
  EXPECT_EQ(dataset->samples[0].height, 720);
  const std::map<std::string, int> expected = {
      {"traffic light", 5}, {"car", 4}, {"traffic sign", 1}};
  EXPECT_EQ(countByClass(*dataset), expected);
  EXPECT_TRUE(dataset->warnings.empty()) << joined(dataset->warnings);
}

TEST(DatasetsReal, Bdd100kTrackVideos) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path track = testDataDir() / "bdd100k" / "track";
  Result<Dataset> all = readDataset(track);
  ASSERT_TRUE(all.isOk()) << all.status().message();
  EXPECT_EQ(all->samples.size(), 12u);
  EXPECT_EQ(all->boxCount(), 87u + 167u);
  EXPECT_TRUE(all->warnings.empty()) << joined(all->warnings);

  const std::map<std::string, size_t> boxes_per_video = {{"00091078-875c1f73", 87},
                                                         {"b1c66a42-6f7d68ca", 167}};
  for (const auto& [video, boxes] : boxes_per_video) {
    Result<Dataset> one = readDataset(track / "labels" / (video + ".json"));
    ASSERT_TRUE(one.isOk()) << one.status().message();
    EXPECT_EQ(one->samples.size(), 6u) << video;
    EXPECT_EQ(one->boxCount(), boxes) << video;
  }

  Result<ClassMap> map = defaultClassMap(Format::kBdd100k);
  ASSERT_TRUE(map.isOk()) << map.status().message();
  Result<ClassMapReport> report = applyClassMap(&*all, *map);
  ASSERT_TRUE(report.isOk()) << report.status().message();
  std::set<std::string> mapped(all->class_names.begin(), all->class_names.end());
  EXPECT_TRUE(mapped.count("person"));
  EXPECT_TRUE(mapped.count("motorcycle"));
}

TEST(DatasetsReal, VocBothYearsWithDifficultFlags) {
  DETSLIM_REQUIRE_TEST_DATA();
  const fs::path voc = testDataDir() / "voc";
  Result<Format> format = detectFormat(voc);
  ASSERT_TRUE(format.isOk()) << format.status().message();
  EXPECT_EQ(*format, Format::kVoc);
  Result<Dataset> dataset = readDataset(voc);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->samples.size(), 8u);
  EXPECT_TRUE(dataset->warnings.empty()) << joined(dataset->warnings);
  int difficult = 0;
  for (const Sample& sample : dataset->samples) {
    EXPECT_GT(sample.width, 0);
    for (const GtBox& box : sample.boxes) difficult += box.difficult;
  }
  EXPECT_GT(difficult, 0);
  Result<Dataset> year = readDataset(voc / "VOC2007");
  ASSERT_TRUE(year.isOk()) << year.status().message();
  EXPECT_EQ(year->samples.size(), 4u);
}

TEST(DatasetsReal, AutoDetectionPerFolder) {
  DETSLIM_REQUIRE_TEST_DATA();
  const std::vector<std::pair<fs::path, Format>> cases = {
      {"kitti", Format::kKitti},
      {"coco/images/val2017", Format::kYolo},
      {"coco/images/train2017", Format::kYolo},
      {"coco/annotations/instances_train2017.json", Format::kCoco},
      {"bdd100k/detect", Format::kBdd100k},
      {"bdd100k/track", Format::kBdd100k},
      {"bdd100k/detect/labels/annotation.json", Format::kBdd100k},
      {"voc", Format::kVoc},
      {"voc/VOC2012", Format::kVoc},
  };
  for (const auto& [folder, expected] : cases) {
    Result<Format> format = detectFormat(testDataDir() / folder);
    ASSERT_TRUE(format.isOk()) << folder << ": " << format.status().message();
    EXPECT_EQ(*format, expected) << folder;
  }
}

TEST(DatasetsReal, LimitReadsTheFirstSamples) {
  DETSLIM_REQUIRE_TEST_DATA();
  ReadOptions options;
  options.limit = 5;
  Result<Dataset> dataset = readDataset(testDataDir() / "kitti", options);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  ASSERT_EQ(dataset->samples.size(), 5u);
  EXPECT_EQ(dataset->samples[0].image_path.filename(), "000000.png");
}

TEST(DatasetsReal, ImageHeaderMatchesDecode) {
  DETSLIM_REQUIRE_TEST_DATA();
  Result<ImageSize> bus = readImageSize(testDataDir() / "samples" / "bus.jpg");
  ASSERT_TRUE(bus.isOk()) << bus.status().message();
  EXPECT_EQ(bus->width, 810);
  EXPECT_EQ(bus->height, 1080);
}

}  // namespace
}  // namespace detslim::datasets
