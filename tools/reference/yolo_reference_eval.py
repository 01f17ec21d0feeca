#!/usr/bin/env python3
"""Independent reference pipeline for COCO-style detection results of YOLOv5 / YOLOX ONNX models.

Everything DetSlim does in C++ for `detslim eval` is done here a second time, independently:
image loading (cv2.imread), letterboxing, network execution (OpenCV DNN, not DetSlim's engine),
decoding, NMS, rescaling, and the YOLO-label -> COCO ground-truth conversion. The code follows the
original projects line by line where they define the behaviour:

  YOLOv5  (ultralytics/yolov5)
    utils/augmentations.py  letterbox(auto=False): r = min(640/h, 640/w); new_unpad = (round(w*r), round(h*r));
                            cv2.resize INTER_LINEAR; pad dw/2, dh/2 with top/left = round(d - 0.1),
                            bottom/right = round(d + 0.1), colour 114; BGR->RGB, /255.
    utils/general.py        non_max_suppression(multi_label=True): obj > conf, cls *= obj, every (box, class)
                            with obj*cls > conf, sort by score (max_nms 30000), class offset max_wh = 7680,
                            torchvision.ops.nms (IoU > iou suppresses, areas without +1), keep max_det.
                            scale_boxes (subtract the float pad (dw, dh), divide by gain) + clip_boxes.
  YOLOX   (Megvii-BaseDetection/YOLOX)
    yolox/data/data_augment.py preproc: r = min(416/h, 416/w), cv2.resize to (int(w*r), int(h*r)) INTER_LINEAR,
                            paste top-left into a 114-filled canvas, BGR, float 0..255, no mean/std.
    yolox/utils/demo_utils.py demo_postprocess: xy = (p + grid) * stride, wh = exp(p) * stride, strides 8/16/32;
                            scores = obj * cls (the exported head already applies the sigmoids).
    Boxes are divided by r (COCOEvaluator.convert_to_coco_format); YOLOX does not clip them.
    NMS: by default the YOLOv5 multi-label NMS above (the same settings `detslim eval` uses, so the two tools
    can be compared); `--postprocess yolox-eval` reproduces yolox/utils/boxes.py postprocess instead
    (best class only, obj*cls >= conf, batched NMS, no max_det).

Ground truth: YOLO labels `class cx cy w h` (normalised) from the folder given by the Ultralytics rule
(last /images/ -> /labels/, extension -> .txt). Duplicate label rows are dropped as Ultralytics'
verify_image_label does. image_id = int(file stem); category_id = class index 0..79 (detections use the same ids).

Output: --out-gt (COCO instances JSON) and --out-dt (COCO results list). Score them with
`detslim eval-coco --gt GT --dt DT --json` (pycocotools-exact) or pycocotools itself.

Needs: Python 3, OpenCV (cv2) >= 4.5 with the dnn module, numpy, and the `onnx` package only when the
model needs an OpenCV-compatible rewrite (e.g. YOLOv5 opset-17 Split with a `split` input).
"""

import argparse
import json
import os
import sys
import tempfile
import time

import cv2
import numpy as np

COCO80 = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
]
IMG_EXTS = (".jpg", ".jpeg", ".png")


def log(msg):
    print(f"[reference] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------
# Network loading (OpenCV DNN), with an in-memory OpenCV-4.6-compatible rewrite when needed
# --------------------------------------------------------------------------------------------------

def _opencv_compatible_copy(path):
    """Return serialized bytes of a copy of the model that OpenCV 4.6's ONNX importer accepts.

    The arithmetic is unchanged: FP16 tensors are upcast to FP32 (exact), opset-13 `axes`/`split`
    inputs become the equivalent opset-11 attributes, Reshape's `allowzero` (opset 14) is dropped
    (only legal when it is 0), and the default-domain opset is declared as 12.
    """
    import onnx
    from onnx import numpy_helper, TensorProto

    m = onnx.load(path)
    g = m.graph
    changes = []

    # FP16 -> FP32 for initializers, Constant nodes, graph inputs/outputs.
    for i, init in enumerate(g.initializer):
        if init.data_type == TensorProto.FLOAT16:
            g.initializer[i].CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float32),
                                                              init.name))
            changes.append("fp16 initializer")
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value" and a.t.data_type == TensorProto.FLOAT16:
                    a.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(a.t).astype(np.float32), a.t.name))
                    changes.append("fp16 constant")
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        if vi.type.tensor_type.elem_type == TensorProto.FLOAT16:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
            changes.append("fp16 io")
    for node in g.node:
        if node.op_type == "Cast":
            for a in node.attribute:
                if a.name == "to" and a.i == TensorProto.FLOAT16:
                    a.i = TensorProto.FLOAT
                    changes.append("cast fp16")

    # Constant values by tensor name (initializers and Constant nodes).
    const = {init.name: numpy_helper.to_array(init) for init in g.initializer}
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    const[node.output[0]] = numpy_helper.to_array(a.t)

    # Second input -> attribute (opset 13 moved these from attributes to inputs).
    moved = {"Split": "split", "Squeeze": "axes", "Unsqueeze": "axes", "ReduceSum": "axes"}
    for node in g.node:
        if node.op_type in moved and len(node.input) >= 2 and node.input[1]:
            name = node.input[1]
            if name not in const:
                raise RuntimeError(f"{node.op_type} {node.name}: {moved[node.op_type]} input is not constant")
            vals = [int(v) for v in np.asarray(const[name]).reshape(-1)]
            del node.input[1]
            node.attribute.append(onnx.helper.make_attribute(moved[node.op_type], vals))
            changes.append(f"{node.op_type} input->attr")
        if node.op_type == "Reshape":
            for k, a in enumerate(list(node.attribute)):
                if a.name == "allowzero":
                    if a.i != 0:
                        raise RuntimeError(f"Reshape {node.name}: allowzero=1 not representable")
                    del node.attribute[k]
                    changes.append("Reshape allowzero dropped")
                    break

    for op in m.opset_import:
        if op.domain in ("", "ai.onnx") and op.version > 12:
            changes.append(f"opset {op.version}->12")
            op.version = 12
    if m.ir_version > 8:
        m.ir_version = 8
    log("OpenCV-compatible copy: " + ", ".join(sorted(set(changes))) if changes else "no changes")
    return m.SerializeToString()


def load_net(path):
    try:
        net = cv2.dnn.readNetFromONNX(path)
        how = "as stored"
    except cv2.error as e:
        msg = " ".join(str(e).split())
        log(f"OpenCV refused the model as stored ({msg[-160:]}); rewriting in memory")
        data = _opencv_compatible_copy(path)
        try:
            net = cv2.dnn.readNetFromONNX(data)
        except (cv2.error, TypeError):
            with tempfile.NamedTemporaryFile(suffix=".onnx", dir="/tmp", delete=False) as f:
                f.write(data)
                tmp = f.name
            try:
                net = cv2.dnn.readNetFromONNX(tmp)
            finally:
                os.unlink(tmp)
        how = "rewritten copy"
    net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
    net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)
    log(f"loaded {path} ({how}) with OpenCV {cv2.__version__}")
    return net


def input_size_of(path, default):
    """Square input size from the ONNX graph input (H == W assumed), or the default."""
    try:
        import onnx
        m = onnx.load(path, load_external_data=False)
        init = {i.name for i in m.graph.initializer}
        for inp in m.graph.input:
            if inp.name in init:
                continue
            dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
            if len(dims) == 4 and dims[2] > 0 and dims[3] > 0:
                return int(dims[2]), int(dims[3])
    except Exception:  # noqa: BLE001 - onnx missing or unreadable: fall back to the family default
        pass
    return default, default


# --------------------------------------------------------------------------------------------------
# Pre-processing
# --------------------------------------------------------------------------------------------------

def letterbox_yolov5(im, new_shape=(640, 640), color=(114, 114, 114), auto=False, scaleup=True, stride=32):
    """ultralytics/yolov5 utils/augmentations.py letterbox (scaleFill=False)."""
    shape = im.shape[:2]  # h, w
    r = min(new_shape[0] / shape[0], new_shape[1] / shape[1])
    if not scaleup:
        r = min(r, 1.0)
    ratio = r, r
    new_unpad = int(round(shape[1] * r)), int(round(shape[0] * r))
    dw, dh = new_shape[1] - new_unpad[0], new_shape[0] - new_unpad[1]
    if auto:
        dw, dh = np.mod(dw, stride), np.mod(dh, stride)
    dw /= 2
    dh /= 2
    if shape[::-1] != new_unpad:
        im = cv2.resize(im, new_unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    im = cv2.copyMakeBorder(im, top, bottom, left, right, cv2.BORDER_CONSTANT, value=color)
    return im, ratio, (dw, dh)


def preproc_yolox(img, input_size):
    """Megvii YOLOX yolox/data/data_augment.py preproc (swap=(2,0,1)); returns CHW float32 and r."""
    padded = np.ones((input_size[0], input_size[1], 3), dtype=np.uint8) * 114
    r = min(input_size[0] / img.shape[0], input_size[1] / img.shape[1])
    resized = cv2.resize(img, (int(img.shape[1] * r), int(img.shape[0] * r)),
                         interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    padded[: int(img.shape[0] * r), : int(img.shape[1] * r)] = resized
    padded = padded.transpose(2, 0, 1)
    return np.ascontiguousarray(padded, dtype=np.float32), r


# --------------------------------------------------------------------------------------------------
# Decoding / NMS
# --------------------------------------------------------------------------------------------------

def xywh2xyxy(x):
    y = np.copy(x)
    y[..., 0] = x[..., 0] - x[..., 2] / 2
    y[..., 1] = x[..., 1] - x[..., 3] / 2
    y[..., 2] = x[..., 0] + x[..., 2] / 2
    y[..., 3] = x[..., 1] + x[..., 3] / 2
    return y


def nms_torchvision(boxes, scores, iou_thres, max_keep=None):
    """torchvision.ops.nms semantics (CPU kernel): sort by score descending, greedy, suppress IoU > thr,
    area = (x2-x1)*(y2-y1). Arithmetic in the boxes' dtype (float32 here, as in torch).
    Stops after max_keep kept boxes, which gives the same first max_keep indices as the full run."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    areas = (x2 - x1) * (y2 - y1)
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        if max_keep is not None and len(keep) >= max_keep:
            break
        rest = order[1:]
        xx1 = np.maximum(x1[i], x1[rest])
        yy1 = np.maximum(y1[i], y1[rest])
        xx2 = np.minimum(x2[i], x2[rest])
        yy2 = np.minimum(y2[i], y2[rest])
        w = np.maximum(xx2 - xx1, 0)
        h = np.maximum(yy2 - yy1, 0)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter)
        order = rest[~(iou > iou_thres)]
    return np.asarray(keep, dtype=np.int64)


def nms_yolov5(pred, conf_thres=0.001, iou_thres=0.65, max_det=300, multi_label=True, agnostic=False,
               dtype=np.float32):
    """ultralytics/yolov5 utils/general.py non_max_suppression for one image.
    pred: (N, 5+nc) float32 rows cx, cy, w, h, obj, cls... Returns (K, 6): x1, y1, x2, y2, score, class.
    dtype float32 reproduces torch's arithmetic, including the rounding of the class-offset boxes
    (coordinates up to 79 * 7680 keep only ~0.03-0.06 px of precision); float64 gives exact per-class IoUs."""
    max_wh = 7680
    max_nms = 30000
    nc = pred.shape[1] - 5
    multi_label = multi_label and nc > 1
    x = pred[pred[:, 4] > conf_thres].astype(dtype, copy=True)
    if not x.shape[0]:
        return np.zeros((0, 6), np.float32)
    x[:, 5:] *= x[:, 4:5]
    box = xywh2xyxy(x[:, :4])
    if multi_label:
        i, j = np.nonzero(x[:, 5:] > conf_thres)  # row-major, like torch .nonzero()
        x = np.concatenate((box[i], x[i, 5 + j, None], j[:, None].astype(dtype)), 1)
    else:
        j = x[:, 5:].argmax(1)
        conf = x[np.arange(len(j)), 5 + j]
        x = np.concatenate((box, conf[:, None], j[:, None].astype(dtype)), 1)[conf > conf_thres]
    if not x.shape[0]:
        return np.zeros((0, 6), np.float32)
    x = x[np.argsort(-x[:, 4], kind="stable")[:max_nms]]
    c = x[:, 5:6] * (0 if agnostic else max_wh)
    boxes, scores = x[:, :4] + c, x[:, 4]
    keep = nms_torchvision(boxes, scores, iou_thres, max_keep=max_det)
    return x[keep[:max_det]]


def postprocess_yolox_eval(pred, conf_thres=0.01, iou_thres=0.65):
    """Megvii YOLOX yolox/utils/boxes.py postprocess (class_agnostic=False) for one image.
    pred: decoded (N, 5+nc). Returns (K, 6): x1, y1, x2, y2, obj*cls, class."""
    p = pred.astype(np.float32, copy=True)
    box = xywh2xyxy(p[:, :4])
    cls = p[:, 5:].argmax(1)
    cls_conf = p[np.arange(len(cls)), 5 + cls]
    score = p[:, 4] * cls_conf
    m = score >= conf_thres
    box, score, cls = box[m], score[m], cls[m]
    if not len(score):
        return np.zeros((0, 6), np.float32)
    # torchvision batched_nms = nms on boxes offset by class * (max coordinate + 1)
    offs = cls.astype(np.float32)[:, None] * (box.max() + 1)
    keep = nms_torchvision(box + offs, score, iou_thres)
    return np.concatenate((box[keep], score[keep, None], cls[keep, None].astype(np.float32)), 1)


def yolox_grid_decode(out, img_size, strides=(8, 16, 32)):
    """Megvii YOLOX yolox/utils/demo_utils.py demo_postprocess (p6=False)."""
    grids, expanded = [], []
    hsizes = [img_size[0] // s for s in strides]
    wsizes = [img_size[1] // s for s in strides]
    for hsize, wsize, stride in zip(hsizes, wsizes, strides):
        xv, yv = np.meshgrid(np.arange(wsize), np.arange(hsize))
        grid = np.stack((xv, yv), 2).reshape(1, -1, 2)
        grids.append(grid)
        expanded.append(np.full((*grid.shape[:2], 1), stride))
    grids = np.concatenate(grids, 1)
    expanded = np.concatenate(expanded, 1)
    out = out.copy()
    out[..., :2] = (out[..., :2] + grids) * expanded
    out[..., 2:4] = np.exp(out[..., 2:4]) * expanded
    return out


# --------------------------------------------------------------------------------------------------
# Per-image inference
# --------------------------------------------------------------------------------------------------

def run_yolov5(net, im0, size, args):
    img, ratio, pad = letterbox_yolov5(im0, size, auto=False)
    blob = img[:, :, ::-1].transpose(2, 0, 1)  # BGR -> RGB, HWC -> CHW
    blob = np.ascontiguousarray(blob, dtype=np.float32)[None] / 255.0
    net.setInput(blob.astype(np.float32))
    out = net.forward()
    pred = out.reshape(-1, out.shape[-1])
    if args.postprocess == "yolox-eval":
        det = postprocess_yolox_eval(pred, args.conf, args.iou)
    else:
        det = nms_yolov5(pred, args.conf, args.iou, args.max_det, multi_label=not args.single_label,
                         dtype=np.float64 if args.nms_precision == "float64" else np.float32)
    det = det.astype(np.float64)
    # scale_boxes(img1_shape, boxes, img0_shape, ratio_pad=None): gain/pad recomputed from the shapes
    # (detect.py). With auto=False this is the same (ratio, (dw, dh)) val.py passes as ratio_pad.
    h0, w0 = im0.shape[:2]
    gain = min(size[0] / h0, size[1] / w0)
    padx, pady = (size[1] - w0 * gain) / 2, (size[0] - h0 * gain) / 2
    if args.scale_pad == "int":
        # the padding letterbox actually applied (left, top) = round(d/2 - 0.1): what the ultralytics>=8
        # validator passes to ops.scale_boxes as ratio_pad
        padx, pady = int(round(pad[0] - 0.1)), int(round(pad[1] - 0.1))
    det[:, [0, 2]] -= padx
    det[:, [1, 3]] -= pady
    det[:, :4] /= gain
    if args.clip != "no":
        det[:, [0, 2]] = det[:, [0, 2]].clip(0, w0)
        det[:, [1, 3]] = det[:, [1, 3]].clip(0, h0)
    return det, pred.shape[0]


def run_yolox(net, im0, size, args):
    blob, r = preproc_yolox(im0, size)
    net.setInput(blob[None])
    out = net.forward()
    out = out.reshape(1, -1, out.shape[-1])
    pred = yolox_grid_decode(out, size)[0]
    if args.postprocess == "yolox-eval":
        det = postprocess_yolox_eval(pred, args.conf, args.iou)
    else:
        det = nms_yolov5(pred, args.conf, args.iou, args.max_det, multi_label=not args.single_label,
                         dtype=np.float64 if args.nms_precision == "float64" else np.float32)
    det = det.astype(np.float64)
    det[:, :4] /= r  # COCOEvaluator.convert_to_coco_format: bboxes /= scale
    if args.clip == "yes":
        h0, w0 = im0.shape[:2]
        det[:, [0, 2]] = det[:, [0, 2]].clip(0, w0)
        det[:, [1, 3]] = det[:, [1, 3]].clip(0, h0)
    return det, pred.shape[0]


# --------------------------------------------------------------------------------------------------
# Dataset / ground truth
# --------------------------------------------------------------------------------------------------

def label_path_for(img_path, labels_dir=None):
    stem = os.path.splitext(os.path.basename(img_path))[0]
    if labels_dir:
        return os.path.join(labels_dir, stem + ".txt")
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    p = os.path.abspath(img_path)
    return sb.join(p.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


def read_labels(path):
    """Rows (class, cx, cy, w, h); duplicates removed as in Ultralytics verify_image_label."""
    if not os.path.isfile(path):
        return np.zeros((0, 5), np.float32), 0, False
    with open(path) as f:
        rows = [x.split() for x in f.read().strip().splitlines() if len(x.split())]
    if not rows:
        return np.zeros((0, 5), np.float32), 0, True
    lb = np.array(rows, dtype=np.float32)
    assert lb.shape[1] == 5, f"{path}: labels require 5 columns"
    nl = len(lb)
    _, idx = np.unique(lb, axis=0, return_index=True)
    dup = 0
    if len(idx) < nl:
        dup = nl - len(idx)
        lb = lb[np.sort(idx)]  # keep first occurrences, file order
    return lb, dup, True


def image_id_of(path):
    stem = os.path.splitext(os.path.basename(path))[0]
    try:
        return int(stem)
    except ValueError:
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True)
    ap.add_argument("--family", required=True, choices=["yolov5", "yolox"])
    ap.add_argument("--images", required=True, help="folder of *.jpg / *.png (sorted by name)")
    ap.add_argument("--labels", help="YOLO label folder (default: Ultralytics images->labels rule)")
    ap.add_argument("--out-gt", required=True)
    ap.add_argument("--out-dt", required=True)
    ap.add_argument("--limit", type=int, default=0, help="first N images only")
    ap.add_argument("--size", type=int, default=0, help="square input size (default: from the model)")
    ap.add_argument("--conf", type=float, default=0.001)
    ap.add_argument("--iou", type=float, default=0.65)
    ap.add_argument("--max-det", type=int, default=300)
    ap.add_argument("--single-label", action="store_true", help="best class per box (default multi-label)")
    ap.add_argument("--postprocess", choices=["yolov5", "yolox-eval"], default="yolov5",
                    help="yolov5: Ultralytics multi-label NMS (default, as detslim eval); "
                         "yolox-eval: YOLOX boxes.py postprocess (use --conf 0.01)")
    ap.add_argument("--clip", choices=["auto", "yes", "no"], default="auto",
                    help="clip boxes to the image: auto = yes for yolov5 (clip_boxes), no for yolox (as YOLOX)")
    ap.add_argument("--scale-pad", choices=["float", "int"], default="float",
                    help="yolov5 box mapping: float = YOLOv5 scale_boxes(ratio_pad=None), subtracts "
                         "(640 - w0*gain)/2, (640 - h0*gain)/2 (fractional when odd) although letterbox put "
                         "round(d/2 - 0.1) pixels there (default); int = subtract the integer left/top padding "
                         "actually applied (what the ultralytics>=8 validator passes as ratio_pad)")
    ap.add_argument("--nms-precision", choices=["float32", "float64"], default="float32",
                    help="arithmetic of the YOLOv5 NMS: float32 as torch (default) or float64 (exact IoUs)")
    ap.add_argument("--out-raw", help="optional .npz with every image's kept detections (x1,y1,x2,y2,score,cls)")
    args = ap.parse_args()

    files = sorted(f for f in os.listdir(args.images) if f.lower().endswith(IMG_EXTS))
    if args.limit > 0:
        files = files[: args.limit]
    if not files:
        sys.exit(f"no images in {args.images}")
    default = 640 if args.family == "yolov5" else 416
    size = (args.size, args.size) if args.size else input_size_of(args.model, default)
    log(f"{len(files)} images, family {args.family}, input {size[1]}x{size[0]}, conf {args.conf}, "
        f"iou {args.iou}, max_det {args.max_det}, {'single' if args.single_label else 'multi'}-label, "
        f"postprocess {args.postprocess}, clip {args.clip}, scale-pad {args.scale_pad}")
    net = load_net(args.model)

    images, annotations, results = [], [], []
    raw = {}
    ann_id = 1
    missing_labels = dup_total = 0
    t_net = 0.0
    t0 = time.time()
    run = run_yolov5 if args.family == "yolov5" else run_yolox
    for k, fname in enumerate(files):
        path = os.path.join(args.images, fname)
        im0 = cv2.imread(path, cv2.IMREAD_COLOR)
        if im0 is None:
            sys.exit(f"cannot read {path}")
        h0, w0 = im0.shape[:2]
        iid = image_id_of(path)
        if iid is None:
            iid = k + 1
        images.append({"id": iid, "file_name": fname, "width": int(w0), "height": int(h0)})

        lb, dup, found = read_labels(label_path_for(path, args.labels))
        missing_labels += 0 if found else 1
        dup_total += dup
        for c, cx, cy, w, h in lb.astype(np.float64):
            bw, bh = w * w0, h * h0
            annotations.append({"id": ann_id, "image_id": iid, "category_id": int(c),
                                "bbox": [(cx - w / 2) * w0, (cy - h / 2) * h0, bw, bh],
                                "area": bw * bh, "iscrowd": 0})
            ann_id += 1

        t = time.time()
        det, _ = run(net, im0, size, args)
        t_net += time.time() - t
        raw[str(iid)] = det.astype(np.float64)
        for x1, y1, x2, y2, score, cls in det:
            results.append({"image_id": iid, "category_id": int(cls),
                            "bbox": [float(x1), float(y1), float(x2 - x1), float(y2 - y1)],
                            "score": float(score)})
        if (k + 1) % 32 == 0 or k + 1 == len(files):
            log(f"{k + 1}/{len(files)} images, {len(results)} detections, {time.time() - t0:.1f}s")

    gt = {"info": {"description": f"YOLO labels of {os.path.abspath(args.images)} (yolo_reference_eval.py)"},
          "images": images, "annotations": annotations,
          "categories": [{"id": i, "name": n, "supercategory": ""} for i, n in enumerate(COCO80)]}
    with open(args.out_gt, "w") as f:
        json.dump(gt, f)
    with open(args.out_dt, "w") as f:
        json.dump(results, f)
    if args.out_raw:
        np.savez_compressed(args.out_raw, **raw)
    log(f"GT: {len(images)} images, {len(annotations)} boxes ({missing_labels} images without a label file, "
        f"{dup_total} duplicate label rows dropped) -> {args.out_gt}")
    log(f"DT: {len(results)} detections -> {args.out_dt}; network+post {t_net:.1f}s, total {time.time() - t0:.1f}s")


if __name__ == "__main__":
    main()
