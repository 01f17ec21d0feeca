#include <algorithm>

#include <gtest/gtest.h>

#include "core/datasets/class_map.h"

namespace detslim::datasets {
namespace {

Dataset kittiLike() {
  Dataset dataset;
  dataset.class_names = {"Car", "Cyclist", "Misc", "Boat"};
  Sample sample;
  for (const char* name : {"Car", "Cyclist", "Misc", "Boat"}) {
    GtBox box;
    box.x2 = box.y2 = 10;
    box.class_name = name;
    box.class_index = dataset.classIndex(name);
    sample.boxes.push_back(box);
  }
  dataset.samples.push_back(sample);
  return dataset;
}

TEST(ClassMap, ShippedMapsParse) {
  Result<ClassMap> kitti = defaultClassMap(Format::kKitti);
  ASSERT_TRUE(kitti.isOk()) << kitti.status().message();
  EXPECT_EQ(kitti->entries.at("Van"), "car");
  EXPECT_EQ(kitti->entries.at("Cyclist"), "person");
  EXPECT_FALSE(kitti->entries.at("DontCare").has_value());
  Result<ClassMap> bdd = defaultClassMap(Format::kBdd100k);
  ASSERT_TRUE(bdd.isOk()) << bdd.status().message();
  EXPECT_EQ(bdd->entries.at("rider"), "person");
  EXPECT_FALSE(bdd->entries.at("traffic sign").has_value());
  Result<ClassMap> voc = defaultClassMap(Format::kVoc);
  ASSERT_TRUE(voc.isOk()) << voc.status().message();
  EXPECT_EQ(voc->entries.size(), 20u);
  EXPECT_EQ(voc->entries.at("sofa"), "couch");
  EXPECT_EQ(voc->entries.at("tvmonitor"), "tv");
  EXPECT_FALSE(defaultClassMap(Format::kCoco).isOk());
  // Every shipped target is a COCO-80 class name (a typo would silently unmap a class).
  const std::vector<std::string>& coco = coco80ClassNames();
  for (const ClassMap* map : {&*kitti, &*bdd, &*voc}) {
    for (const auto& [source, target] : map->entries) {
      if (target) {
        EXPECT_NE(std::find(coco.begin(), coco.end(), *target), coco.end())
            << map->origin << ": " << source << " -> " << *target;
      }
    }
  }
  EXPECT_EQ(coco.size(), 80u);
  EXPECT_EQ(coco80CategoryIds().size(), 80u);
  EXPECT_EQ(coco80CategoryIds().back(), 90);
}

TEST(ClassMap, ApplyMarksUnmappedAndRenames) {
  Dataset dataset = kittiLike();
  Result<ClassMap> map = defaultClassMap(Format::kKitti);
  ASSERT_TRUE(map.isOk());
  const std::vector<std::string> model = {"person", "bicycle", "car", "truck", "train"};
  Result<ClassMapReport> report = applyClassMap(&dataset, *map, model);
  ASSERT_TRUE(report.isOk()) << report.status().message();
  EXPECT_EQ(report->mapped_boxes, 2u);
  EXPECT_EQ(report->unmapped_boxes, 2u);
  EXPECT_EQ(report->unmapped.count("Misc"), 1u);
  EXPECT_EQ(report->unmapped.count("Boat"), 1u);  // not in the map at all
  EXPECT_EQ(dataset.class_names, model);
  const auto& boxes = dataset.samples[0].boxes;
  EXPECT_EQ(boxes[0].class_name, "car");
  EXPECT_EQ(boxes[0].class_index, 2);
  EXPECT_EQ(boxes[1].class_index, 0);
  EXPECT_TRUE(boxes[2].unmapped);
  EXPECT_TRUE(boxes[2].ignore);
  EXPECT_EQ(boxes[2].class_index, -1);
  EXPECT_EQ(dataset.warnings.size(), 2u);
}

TEST(ClassMap, UserMapErrors) {
  EXPECT_FALSE(parseClassMap("{", "mine.json").isOk());
  Result<ClassMap> bad_value = parseClassMap(R"({"map": {"Car": 3}})", "mine.json");
  ASSERT_FALSE(bad_value.isOk());
  EXPECT_NE(bad_value.status().message().find("mine.json"), std::string::npos);
  EXPECT_NE(bad_value.status().message().find("Car"), std::string::npos);

  Result<ClassMap> bare = parseClassMap(R"({"Car": "automobile"})", "mine.json");
  ASSERT_TRUE(bare.isOk()) << bare.status().message();
  Dataset dataset = kittiLike();
  Result<ClassMapReport> report = applyClassMap(&dataset, *bare, {"car", "person"});
  ASSERT_FALSE(report.isOk());
  EXPECT_NE(report.status().message().find("automobile"), std::string::npos);
  EXPECT_EQ(dataset.samples[0].boxes[0].class_name, "Car");  // untouched on error
  EXPECT_FALSE(loadClassMap("/nonexistent/map.json").isOk());
}

}  // namespace
}  // namespace detslim::datasets
