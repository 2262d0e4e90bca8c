"""Video depth benchmarks in their published layouts, with the Video Depth Anything protocol constants.

`load_benchmark(name, root)` yields `BenchmarkVideo`s. Constants (max depth, crops, frame ranges,
16-bit depth scale factors) follow VDA's `benchmark/eval/eval.py` and `dataset_extract/*.py`
(the ~110-frame "like DepthCrafter" setting):

| dataset | layout under root                                      | depth            | frames       | crop            | max depth |
|---------|--------------------------------------------------------|------------------|--------------|-----------------|-----------|
| sintel  | [training/]{clean,depth,camdata_left}/<seq>/frame_*.png/.dpt/.cam | .dpt float32 (TAG 202021.25) | first 100 | none | 70 |
| kitti   | <drive>/{rgb|image_02/data}/*.png + {depth|proj_depth/groundtruth/image_02}/*.png | uint16 / 256 | first 110 | even size, [0:374, 0:1242] | 80 |
| bonn    | <seq>/rgb/*.png + <seq>/depth/*.png (paired by sorted order) | uint16 / 5000 | [30:140] | even size | 10 |
| scannet | <scene>/color/*.jpg, depth/*.png, pose/*.txt, intrinsic/intrinsic_depth.txt | uint16 / 1000 | [0:270:3] (90) | [8:-8, 11:-11] | 10 |
| nyuv2   | <scene>/rgb/*.jpg + <scene>/depth/*.png                | uint16 / 6000    | first 500    | [45:471, 41:601] | 10 |

Depth 0 (or non-finite) is invalid. Sintel gives K and camera-to-world poses (inverse of the
.cam extrinsic); ScanNet gives K (adjusted for the crop) and its camera-to-world pose files; the
others have no poses (TAE is skipped there). Two generated benchmarks need no files:
`procedural` (model.benchmarks.procedural) and `simulated` (capture.simulate, when installed).
"""

from model.benchmarks.loaders import (
    SPECS,
    BenchmarkSpec,
    BenchmarkVideo,
    load_benchmark,
    read_sintel_cam,
    read_sintel_dpt,
    write_sintel_cam,
    write_sintel_dpt,
)

__all__ = [
    "SPECS",
    "BenchmarkSpec",
    "BenchmarkVideo",
    "load_benchmark",
    "read_sintel_cam",
    "read_sintel_dpt",
    "write_sintel_cam",
    "write_sintel_dpt",
]
