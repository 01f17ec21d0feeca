// Bad input, generated in a temporary folder: every problem must come back as a warning (or, in
// strict mode, an error) that names the file and, where there is one, the line.

#include <fstream>
#include <random>

#include <gtest/gtest.h>

#include "core/datasets/dataset.h"

namespace detslim::datasets {
namespace {

namespace fs = std::filesystem;

class DatasetsBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device seed;
    root_ = fs::temp_directory_path() / ("detslim_datasets_" + std::to_string(seed()));
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  static void write(const fs::path& path, const std::string& text) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
  }

  // Only the signature and IHDR: all the size reader looks at.
  static void writePng(const fs::path& path, uint32_t width, uint32_t height) {
    std::string bytes = "\x89PNG\r\n\x1a\n";
    bytes += std::string("\0\0\0\x0d", 4) + "IHDR";
    for (uint32_t value : {width, height}) {
      for (int shift = 24; shift >= 0; shift -= 8) bytes += static_cast<char>(value >> shift);
    }
    bytes += std::string("\x08\x02\0\0\0", 5);
    write(path, bytes);
  }

  static bool anyContains(const std::vector<std::string>& lines, const std::string& a,
                          const std::string& b = "") {
    for (const std::string& line : lines) {
      if (line.find(a) != std::string::npos && line.find(b) != std::string::npos) return true;
    }
    return false;
  }

  static std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const std::string& line : lines) out += line + "\n";
    return out;
  }

  // A KITTI folder with one good frame (000000) to which each test adds its fault.
  fs::path makeKitti() {
    const fs::path kitti = root_ / "kitti";
    writePng(kitti / "image_2" / "000000.png", 100, 50);
    write(kitti / "label_2" / "000000.txt",
          "Car 0.00 0 0 10 10 40 30 1 1 1 1 1 1 0\n"
          "DontCare -1 -1 -10 90 20 130 60 -1 -1 -1 -1000 -1000 -1000 -10\n");
    return kitti;
  }

  fs::path root_;
};

TEST_F(DatasetsBadInput, KittiGoodFrameClipsAndMarksDontCare) {
  Result<Dataset> dataset = readDataset(makeKitti());
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  ASSERT_EQ(dataset->boxCount(), 2u);
  const GtBox& dont_care = dataset->samples[0].boxes[1];
  EXPECT_TRUE(dont_care.ignore);
  EXPECT_FLOAT_EQ(dont_care.x2, 100);
  EXPECT_FLOAT_EQ(dont_care.y2, 50);
}

TEST_F(DatasetsBadInput, KittiMalformedLineNamesFileAndLine) {
  const fs::path kitti = makeKitti();
  writePng(kitti / "image_2" / "000001.png", 100, 50);
  write(kitti / "label_2" / "000001.txt",
        "Car 0.00 0 0 10 10 40 30 1 1 1 1 1 1 0\nCar 0.00 0 0 10 10\n");
  Result<Dataset> lenient = readDataset(kitti);
  ASSERT_TRUE(lenient.isOk()) << lenient.status().message();
  EXPECT_EQ(lenient->boxCount(), 3u);
  EXPECT_TRUE(anyContains(lenient->warnings, "000001.txt:2", "malformed"))
      << joined(lenient->warnings);

  ReadOptions strict;
  strict.strict = true;
  Result<Dataset> failed = readDataset(kitti, strict);
  ASSERT_FALSE(failed.isOk());
  EXPECT_NE(failed.status().message().find("000001.txt:2"), std::string::npos)
      << failed.status().message();
}

TEST_F(DatasetsBadInput, KittiNonNumericField) {
  const fs::path kitti = makeKitti();
  write(kitti / "label_2" / "000000.txt", "Car 0.00 0 0 10 ten 40 30 1 1 1 1 1 1 0\n");
  Result<Dataset> dataset = readDataset(kitti);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_TRUE(anyContains(dataset->warnings, "000000.txt:1")) << joined(dataset->warnings);
}

TEST_F(DatasetsBadInput, KittiUnknownClass) {
  const fs::path kitti = makeKitti();
  write(kitti / "label_2" / "000000.txt", "Spaceship 0.00 0 0 10 10 40 30 1 1 1 1 1 1 0\n");
  Result<Dataset> dataset = readDataset(kitti);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->boxCount(), 0u);
  EXPECT_TRUE(anyContains(dataset->warnings, "000000.txt:1", "Spaceship"))
      << joined(dataset->warnings);
}

TEST_F(DatasetsBadInput, KittiZeroAndNegativeBoxes) {
  const fs::path kitti = makeKitti();
  write(kitti / "label_2" / "000000.txt",
        "Car 0.00 0 0 10 10 10 30 1 1 1 1 1 1 0\n"
        "Van 0.00 0 0 40 10 20 30 1 1 1 1 1 1 0\n");
  Result<Dataset> dataset = readDataset(kitti);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->boxCount(), 0u);
  EXPECT_TRUE(anyContains(dataset->warnings, "000000.txt:1", "zero or negative"));
  EXPECT_TRUE(anyContains(dataset->warnings, "000000.txt:2", "zero or negative"));
}

TEST_F(DatasetsBadInput, KittiMissingImageAndMissingLabel) {
  const fs::path kitti = makeKitti();
  write(kitti / "label_2" / "000007.txt", "Car 0.00 0 0 10 10 40 30 1 1 1 1 1 1 0\n");
  writePng(kitti / "image_2" / "000009.png", 100, 50);
  Result<Dataset> dataset = readDataset(kitti);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->samples.size(), 1u);
  EXPECT_TRUE(anyContains(dataset->warnings, "000007.txt", "no image"))
      << joined(dataset->warnings);
  EXPECT_TRUE(anyContains(dataset->warnings, "000009.png", "no label"))
      << joined(dataset->warnings);
}

TEST_F(DatasetsBadInput, UnreadableImage) {
  const fs::path kitti = makeKitti();
  write(kitti / "image_2" / "000002.png", "this is not an image");
  write(kitti / "label_2" / "000002.txt", "Car 0.00 0 0 10 10 40 30 1 1 1 1 1 1 0\n");
  Result<Dataset> dataset = readDataset(kitti);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->samples.size(), 1u);
  EXPECT_TRUE(anyContains(dataset->warnings, "000002.png", "unreadable image"))
      << joined(dataset->warnings);

  ReadOptions strict;
  strict.strict = true;
  Result<Dataset> failed = readDataset(kitti, strict);
  ASSERT_FALSE(failed.isOk());
  EXPECT_NE(failed.status().message().find("000002.png"), std::string::npos);
}

TEST_F(DatasetsBadInput, TruncatedJpegHeader) {
  write(root_ / "cut.jpg", std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF", 10));
  Result<ImageSize> size = readImageSize(root_ / "cut.jpg");
  ASSERT_FALSE(size.isOk());
  EXPECT_NE(size.status().message().find("cut.jpg"), std::string::npos);
  EXPECT_FALSE(readImageSize(root_ / "missing.jpg").isOk());
}

TEST_F(DatasetsBadInput, EmptyDatasetIsAnError) {
  fs::create_directories(root_ / "kitti" / "image_2");
  fs::create_directories(root_ / "kitti" / "label_2");
  Result<Dataset> dataset = readDataset(root_ / "kitti");
  ASSERT_FALSE(dataset.isOk());
  EXPECT_NE(dataset.status().message().find("empty"), std::string::npos);
}

TEST_F(DatasetsBadInput, UnknownLayoutAndMissingPath) {
  fs::create_directories(root_ / "nothing_here");
  Result<Format> format = detectFormat(root_ / "nothing_here");
  ASSERT_FALSE(format.isOk());
  EXPECT_NE(format.status().message().find("nothing_here"), std::string::npos);
  EXPECT_FALSE(readDataset(root_ / "does_not_exist").isOk());
  EXPECT_FALSE(parseFormat("pascal").isOk());
  ReadOptions forced;
  forced.format = Format::kVoc;
  EXPECT_FALSE(readDataset(root_ / "nothing_here", forced).isOk());
}

TEST_F(DatasetsBadInput, CocoMissingRequiredFields) {
  const fs::path json = root_ / "coco" / "annotations" / "instances_val.json";
  write(json, R"({"images": [], "categories": []})");
  Result<Dataset> no_annotations = readDataset(json);
  ASSERT_FALSE(no_annotations.isOk());
  EXPECT_NE(no_annotations.status().message().find("instances_val.json"), std::string::npos);
  EXPECT_NE(no_annotations.status().message().find("annotations"), std::string::npos);

  write(json, R"({"images": [{"id": 1, "file_name": "a.png"}], "annotations": [],
                  "categories": [{"id": 3, "name": "car"}]})");
  Result<Dataset> no_size = readDataset(json);
  ASSERT_FALSE(no_size.isOk());
  EXPECT_NE(no_size.status().message().find("images[0]"), std::string::npos);
  EXPECT_NE(no_size.status().message().find("width"), std::string::npos);

  write(json, "{\"images\": [");
  Result<Dataset> broken = readDataset(json, ReadOptions{.format = Format::kCoco});
  ASSERT_FALSE(broken.isOk());
  EXPECT_NE(broken.status().message().find("invalid JSON"), std::string::npos);
}

TEST_F(DatasetsBadInput, CocoBadAnnotationsAndNonContiguousIds) {
  const fs::path coco = root_ / "coco";
  writePng(coco / "images" / "val" / "a.png", 64, 48);
  writePng(coco / "images" / "val" / "b.png", 64, 48);
  write(coco / "annotations" / "instances_val.json", R"({
    "images": [{"id": 7, "file_name": "a.png", "width": 64, "height": 48},
               {"id": 9, "file_name": "b.png", "width": 64, "height": 48}],
    "categories": [{"id": 90, "name": "toothbrush"}, {"id": 3, "name": "car"}],
    "annotations": [
      {"id": 1, "image_id": 7, "category_id": 90, "bbox": [1, 2, 10, 20], "iscrowd": 0},
      {"id": 2, "image_id": 7, "category_id": 3, "bbox": [5, 5, 10, 10], "iscrowd": 1},
      {"id": 3, "image_id": 7, "category_id": 3},
      {"id": 4, "image_id": 7, "category_id": 55, "bbox": [1, 1, 5, 5]},
      {"id": 5, "image_id": 8, "category_id": 3, "bbox": [1, 1, 5, 5]},
      {"id": 6, "image_id": 7, "category_id": 3, "bbox": [1, 1, 0, 5]}]})");
  Result<Dataset> dataset = readDataset(coco);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->format, Format::kCoco);
  EXPECT_EQ(dataset->class_names, (std::vector<std::string>{"car", "toothbrush"}));
  EXPECT_EQ(dataset->category_ids, (std::vector<int64_t>{3, 90}));
  ASSERT_EQ(dataset->samples.size(), 2u);
  EXPECT_TRUE(dataset->samples[1].boxes.empty());  // b.png has no annotations
  ASSERT_EQ(dataset->samples[0].boxes.size(), 2u);
  EXPECT_EQ(dataset->samples[0].boxes[0].class_index, 1);
  EXPECT_FLOAT_EQ(dataset->samples[0].boxes[0].x2, 11);
  EXPECT_FLOAT_EQ(dataset->samples[0].boxes[0].y2, 22);
  EXPECT_TRUE(dataset->samples[0].boxes[1].crowd);
  EXPECT_TRUE(dataset->samples[0].boxes[1].ignore);
  const auto& warnings = dataset->warnings;
  EXPECT_TRUE(anyContains(warnings, "annotations[2]", "bbox")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "annotations[3]", "category_id 55")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "annotations[4]", "image_id 8")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "annotations[5]", "zero or negative")) << joined(warnings);
}

TEST_F(DatasetsBadInput, CocoMissingImage) {
  const fs::path json = root_ / "annotations" / "instances_x.json";
  write(json, R"({"images": [{"id": 1, "file_name": "gone.jpg", "width": 5, "height": 5}],
                  "annotations": [], "categories": [{"id": 1, "name": "person"}]})");
  ReadOptions strict;
  strict.strict = true;
  Result<Dataset> dataset = readDataset(json, strict);
  ASSERT_FALSE(dataset.isOk());
  EXPECT_NE(dataset.status().message().find("gone.jpg"), std::string::npos);
}

TEST_F(DatasetsBadInput, YoloProblemsNameFileAndLine) {
  const fs::path yolo = root_ / "yolo";
  write(yolo / "data.yaml", "path: .\nnames:\n  0: person\n  1: traffic light  # comment\n");
  writePng(yolo / "images" / "val" / "a.png", 200, 100);
  writePng(yolo / "images" / "val" / "b.png", 200, 100);
  write(yolo / "labels" / "val" / "a.txt",
        "1 0.5 0.5 0.2 0.4\n"
        "0 0.5 0.5\n"
        "7 0.5 0.5 0.2 0.2\n"
        "0 0.5 0.5 0 0.2\n"
        "0 2.5 0.5 0.1 0.1\n");
  write(yolo / "labels" / "val" / "orphan.txt", "0 0.5 0.5 0.2 0.2\n");
  Result<Format> format = detectFormat(yolo);
  ASSERT_TRUE(format.isOk());
  EXPECT_EQ(*format, Format::kYolo);
  Result<Dataset> dataset = readDataset(yolo);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->class_names, (std::vector<std::string>{"person", "traffic light"}));
  ASSERT_EQ(dataset->samples.size(), 2u);
  ASSERT_EQ(dataset->samples[0].boxes.size(), 1u);
  const GtBox& box = dataset->samples[0].boxes[0];
  EXPECT_EQ(box.class_name, "traffic light");
  EXPECT_FLOAT_EQ(box.x1, 80);
  EXPECT_FLOAT_EQ(box.y1, 30);
  EXPECT_FLOAT_EQ(box.x2, 120);
  EXPECT_FLOAT_EQ(box.y2, 70);
  const auto& warnings = dataset->warnings;
  EXPECT_TRUE(anyContains(warnings, "a.txt:2", "malformed")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "a.txt:3", "unknown class id 7")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "a.txt:4", "zero or negative")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "a.txt:5", "normalised")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "orphan.txt", "no image")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "b.png", "no label file")) << joined(warnings);
}

TEST_F(DatasetsBadInput, YoloNamesFromListYamlAndCaller) {
  const fs::path yolo = root_ / "yolo";
  write(yolo / "coco.yaml", "names: ['person', \"bicycle\", car]\n");
  writePng(yolo / "images" / "a.png", 10, 10);
  write(yolo / "labels" / "a.txt", "2 0.5 0.5 0.5 0.5\n");
  Result<Dataset> from_yaml = readDataset(yolo / "images");
  ASSERT_TRUE(from_yaml.isOk()) << from_yaml.status().message();
  EXPECT_EQ(from_yaml->class_names, (std::vector<std::string>{"person", "bicycle", "car"}));
  EXPECT_EQ(from_yaml->samples[0].boxes[0].class_name, "car");

  ReadOptions options;
  options.class_names = {"a", "b", "c"};  // e.g. a model's metadata names
  Result<Dataset> from_caller = readDataset(yolo, options);
  ASSERT_TRUE(from_caller.isOk()) << from_caller.status().message();
  EXPECT_EQ(from_caller->samples[0].boxes[0].class_name, "c");

  write(yolo / "coco.yaml", "names: ['person', 'bicycle'\n");
  Result<Dataset> broken = readDataset(yolo);
  ASSERT_FALSE(broken.isOk());
  EXPECT_NE(broken.status().message().find("coco.yaml:1"), std::string::npos)
      << broken.status().message();
}

TEST_F(DatasetsBadInput, Bdd100kProblems) {
  const fs::path bdd = root_ / "bdd";
  writePng(bdd / "images" / "f1.jpg", 1280, 720);
  writePng(bdd / "images" / "unlabelled.jpg", 1280, 720);
  write(bdd / "labels" / "det.json", R"([
    {"name": "f1.jpg", "labels": [
      {"category": "person", "box2d": {"x1": 1, "y1": 2, "x2": 30, "y2": 40}},
      {"category": "lane", "poly2d": []},
      {"category": "spaceship", "box2d": {"x1": 1, "y1": 2, "x2": 30, "y2": 40}},
      {"category": "car", "box2d": {"x1": 1, "y1": 2, "x2": 30}}]},
    {"name": "gone.jpg", "labels": []}])");
  Result<Dataset> dataset = readDataset(bdd);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  EXPECT_EQ(dataset->format, Format::kBdd100k);
  ASSERT_EQ(dataset->samples.size(), 1u);
  ASSERT_EQ(dataset->boxCount(), 1u);
  EXPECT_EQ(dataset->samples[0].boxes[0].class_name, "pedestrian");
  const auto& warnings = dataset->warnings;
  EXPECT_TRUE(anyContains(warnings, "frame[0].labels[2]", "spaceship")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "frame[0].labels[3]", "y2")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "frame[1]", "gone.jpg")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "unlabelled.jpg", "no label")) << joined(warnings);
}

TEST_F(DatasetsBadInput, VocProblemsNameFileAndLine) {
  const fs::path voc = root_ / "VOC2007";
  writePng(voc / "JPEGImages" / "000001.jpg", 300, 200);
  write(voc / "Annotations" / "000001.xml",
        "<annotation>\n<filename>000001.jpg</filename>\n"
        "<object>\n<name>dog</name>\n<difficult>1</difficult>\n"
        "<bndbox><xmin>10</xmin><ymin>20</ymin><xmax>50</xmax><ymax>60</ymax></bndbox>\n"
        "</object>\n"
        "<object>\n<name>dragon</name>\n"
        "<bndbox><xmin>10</xmin><ymin>20</ymin><xmax>50</xmax><ymax>60</ymax></bndbox>\n"
        "</object>\n"
        "<object>\n<name>cat</name>\n<bndbox><xmin>10</xmin></bndbox>\n</object>\n"
        "</annotation>\n");
  write(voc / "Annotations" / "000002.xml",
        "<annotation><filename>000002.jpg</filename>"
        "</annotation>");
  Result<Dataset> dataset = readDataset(voc);
  ASSERT_TRUE(dataset.isOk()) << dataset.status().message();
  ASSERT_EQ(dataset->boxCount(), 1u);
  EXPECT_TRUE(dataset->samples[0].boxes[0].difficult);
  const auto& warnings = dataset->warnings;
  EXPECT_TRUE(anyContains(warnings, "000001.xml:8", "dragon")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "000001.xml:12", "bndbox")) << joined(warnings);
  EXPECT_TRUE(anyContains(warnings, "000002.xml", "not found")) << joined(warnings);
}

}  // namespace
}  // namespace detslim::datasets
