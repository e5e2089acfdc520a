#!/usr/bin/env python3
"""OpenCV/numpy golden outputs of the reference augmentation for `cargo test -p mllt-data --test augment_opencv`.

Inputs: three photos from the scikit-image 0.26.0 wheel (the wheel mllt's `backbone::samples` pins), each
reduced with `cv2.INTER_AREA` to a small non-square thumbnail and written as PNG to
`crates/mllt-data/tests/fixtures/photos/`:

* `chelsea.png`   (CC0, Stefan van der Walt): the whole 451 x 300 cat photo;
* `coffee.png`    (CC0, Rachel Michetti): the whole 600 x 400 espresso photo;
* `astronaut.png` (public domain, NASA): rows 0..340 of the 512 x 512 portrait (face, suit, flag).

Each thumbnail is read back with `cv2.imread` (8-bit BGR, what `mmcv.imread` returns) and made float32, as the
reference's `ExtraAugmentation` does, then run through what mmcv 0.x calls (the versions the Distribution-Balanced
Loss code was written for):

* `resize_down`, `resize_up`: `cv2.resize(img, (W, H), interpolation=cv2.INTER_LINEAR)` (`mmcv.imresize`) to a
  smaller and a larger non-square size, as the pip wheels run it: through Intel IPP (`ipp` in the JSON names
  its version and CPU path); `resize_down_no_ipp`, `resize_up_no_ipp`: the same with `cv2.ipp.setUseIPP(False)`,
  OpenCV's own implementation;
* `hsv`: `cv2.cvtColor(img, cv2.COLOR_BGR2HSV)` (`mmcv.bgr2hsv`; H in degrees); `hsv_to_bgr`:
  `cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)` (`mmcv.hsv2bgr`) of that `hsv`;
* `distort_a`, `distort_b`: `PhotoMetricDistortion.__call__` of mmdet 1.x `extra_aug.py` with the draws listed
  under `photometric` (brightness, contrast before or after the HSV round trip, saturation, hue shift with its
  +-360 wrap, channel swap), written out below with numpy and OpenCV exactly as that code runs them;
* `crop`: `img[top:bottom, left:right]` for the listed box (stored as uint8: the values are whole numbers);
* `normalised`, `flipped`: `mmcv.imnormalize(resize_down, mean, std, to_rgb=True)`, i.e.
  `(cv2.cvtColor(x, cv2.COLOR_BGR2RGB) - mean) / std` in float32 with float32 `mean`/`std`, transposed to CHW;
  `flipped` is `np.flip(., axis=1)` (`mmcv.imflip`) of it before the transpose;
* `test_pipeline`: the test pipeline, resize to `size x size`, normalise, CHW;
* `train_pipeline`: the training pipeline for the draws listed: distortion of the whole image, crop, resize,
  normalise, flip when `flip`, CHW (the reference's order; mllt crops before distorting).

Writes `augment_opencv.json` (the draws, the sizes and, per array, its dtype, shape and byte offset) and
`augment_opencv.bin` (the arrays, little-endian, C order) next to this script, and the three fixtures.

    python3 -m pip install numpy==2.4.6 opencv-python-headless==5.0.0.93
    python3 -m pip download --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
        --python-version 3.11 --implementation cp -d /tmp/skimage-wheel scikit-image==0.26.0
    python3 crates/mllt-data/tests/golden/augment_opencv.py /tmp/skimage-wheel/scikit_image-0.26.0-*.whl
"""

import hashlib
import json
import sys
import zipfile
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "photos"

# name: (member of the wheel, its SHA-256, rows kept, thumbnail (width, height))
PHOTOS = {
    "chelsea": (
        "skimage/data/chelsea.png",
        "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
        None,
        (48, 32),
    ),
    "coffee": (
        "skimage/data/coffee.png",
        "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
        None,
        (48, 32),
    ),
    "astronaut": (
        "skimage/data/astronaut.png",
        "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
        (0, 341),
        (48, 32),
    ),
}

# Per photo: the downscale and upscale sizes (W, H), the crop box (left, top, right, bottom), the two
# photometric draws and the training-pipeline draw (which of the two, the crop, the flip, the size).
SIZES = {
    "chelsea": {"down": (29, 19), "up": (61, 45), "crop": (3, 2, 45, 31)},
    "coffee": {"down": (37, 23), "up": (67, 37), "crop": (0, 5, 41, 32)},
    "astronaut": {"down": (21, 27), "up": (53, 41), "crop": (7, 0, 48, 27)},
}
PIPELINE_SIZE = 24

MEAN = np.array([123.675, 116.28, 103.53], dtype=np.float32)
STD = np.array([58.395, 57.12, 57.375], dtype=np.float32)


def f32(x):
    """`x` rounded to float32 and back: the JSON value is then exactly the float32 mllt uses."""
    return float(np.float32(x))


# Two draws that together take every branch: contrast before / after, a hue shift that wraps past 360 and one
# that wraps below 0, saturation below and above 1 (S > 1 makes negative channels), brightness that makes
# dark pixels negative, a channel swap and none.
PHOTOMETRIC = {
    "a": {
        "brightness": f32(20.3),
        "contrast_first": True,
        "contrast": f32(1.31),
        "saturation": f32(0.62),
        "hue": f32(15.7),
        "channel_order": [2, 0, 1],
    },
    "b": {
        "brightness": f32(-27.9),
        "contrast_first": False,
        "contrast": f32(0.71),
        "saturation": f32(1.43),
        "hue": f32(-16.2),
        "channel_order": None,
    },
}


def distort(img, p):
    """`PhotoMetricDistortion.__call__` (mmdet 1.x) with the draws `p` in place of its coins."""
    img = img.copy()
    if p["brightness"] is not None:
        img += p["brightness"]
    if p["contrast_first"] and p["contrast"] is not None:
        img *= p["contrast"]
    img = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
    if p["saturation"] is not None:
        img[..., 1] *= p["saturation"]
    if p["hue"] is not None:
        img[..., 0] += p["hue"]
        img[..., 0][img[..., 0] > 360] -= 360
        img[..., 0][img[..., 0] < 0] += 360
    img = cv2.cvtColor(img, cv2.COLOR_HSV2BGR)
    if not p["contrast_first"] and p["contrast"] is not None:
        img *= p["contrast"]
    if p["channel_order"] is not None:
        img = img[..., p["channel_order"]]
    assert img.dtype == np.float32
    return img


def normalise(img):
    """`mmcv.imnormalize(img, mean, std, to_rgb=True)` of mmcv 0.x, HWC."""
    img = cv2.cvtColor(img.astype(np.float32), cv2.COLOR_BGR2RGB)
    return (img - MEAN) / STD


def chw(img):
    return np.ascontiguousarray(img.transpose(2, 0, 1))


def train_pipeline(img, p, box, flip, size):
    """The reference's training transform for given draws: distort, crop, resize, normalise, flip, CHW."""
    left, top, right, bottom = box
    out = distort(img, p)[top:bottom, left:right]
    out = normalise(cv2.resize(out, (size, size), interpolation=cv2.INTER_LINEAR))
    if flip:
        out = np.flip(out, axis=1)
    return chw(out)


def make_fixtures(wheel):
    FIXTURES.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as z:
        for name, (member, sha, rows, size) in PHOTOS.items():
            data = z.read(member)
            assert hashlib.sha256(data).hexdigest() == sha, member
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            if rows is not None:
                img = img[rows[0] : rows[1]]
            thumb = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            assert cv2.imwrite(str(FIXTURES / f"{name}.png"), thumb, [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    make_fixtures(sys.argv[1])
    blob = bytearray()
    manifest = {
        "opencv": cv2.__version__,
        "numpy": np.__version__,
        "ipp": cv2.ipp.getIppVersion() if cv2.ipp.useIPP() else None,
        "photometric": PHOTOMETRIC,
        "pipeline_size": PIPELINE_SIZE,
        "images": {},
    }

    def put(arr):
        arr = np.ascontiguousarray(arr)
        dtype = {np.dtype(np.float32): "f32", np.dtype(np.uint8): "u8"}[arr.dtype]
        entry = {"dtype": dtype, "shape": list(arr.shape), "offset": len(blob)}
        blob.extend(arr.astype(arr.dtype.newbyteorder("<")).tobytes())
        return entry

    for name in PHOTOS:
        img = cv2.imread(str(FIXTURES / f"{name}.png"), cv2.IMREAD_COLOR).astype(np.float32)
        sizes = SIZES[name]
        left, top, right, bottom = sizes["crop"]
        down = cv2.resize(img, sizes["down"], interpolation=cv2.INTER_LINEAR)
        up = cv2.resize(img, sizes["up"], interpolation=cv2.INTER_LINEAR)
        cv2.ipp.setUseIPP(False)
        down_no_ipp = cv2.resize(img, sizes["down"], interpolation=cv2.INTER_LINEAR)
        up_no_ipp = cv2.resize(img, sizes["up"], interpolation=cv2.INTER_LINEAR)
        cv2.ipp.setUseIPP(True)
        hsv = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)
        normalised = normalise(down)
        test = chw(normalise(cv2.resize(img, (PIPELINE_SIZE, PIPELINE_SIZE), interpolation=cv2.INTER_LINEAR)))
        pipelines = [
            {"photometric": "a", "crop": sizes["crop"], "flip": True},
            {"photometric": "b", "crop": [0, 0, img.shape[1], img.shape[0]], "flip": False},
        ]
        for pipe in pipelines:
            pipe["output"] = put(
                train_pipeline(img, PHOTOMETRIC[pipe["photometric"]], pipe["crop"], pipe["flip"], PIPELINE_SIZE)
            )
        manifest["images"][name] = {
            "file": f"photos/{name}.png",
            "crop": sizes["crop"],
            "arrays": {
                "resize_down": put(down),
                "resize_up": put(up),
                "resize_down_no_ipp": put(down_no_ipp),
                "resize_up_no_ipp": put(up_no_ipp),
                "hsv": put(hsv),
                "hsv_to_bgr": put(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)),
                "distort_a": put(distort(img, PHOTOMETRIC["a"])),
                "distort_b": put(distort(img, PHOTOMETRIC["b"])),
                "crop": put(img[top:bottom, left:right].astype(np.uint8)),
                "normalised": put(chw(normalised)),
                "flipped": put(chw(np.flip(normalised, axis=1))),
                "test_pipeline": put(test),
            },
            "train_pipelines": pipelines,
        }
    (HERE / "augment_opencv.bin").write_bytes(bytes(blob))
    (HERE / "augment_opencv.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{len(blob)} bytes of arrays")


if __name__ == "__main__":
    main()
