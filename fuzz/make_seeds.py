#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/seeds/<target>/ from the repository's data and small hand-made files.

Run from the repository root: python3 fuzz/make_seeds.py (needs numpy; torch and Pillow for the .pth and JPEG
seeds, which are skipped without them). The output is committed; rerunning it rewrites the same files.
"""
import io
import json
import struct
import zipfile
from pathlib import Path

import numpy as np

root = Path(__file__).resolve().parent.parent
seeds = root / "fuzz" / "seeds"


def put(target, name, data):
    d = seeds / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def head(path, n):
    return "".join((root / path).read_text().splitlines(keepends=True)[:n])


def npy(arr, version=(1, 0)):
    f = io.BytesIO()
    np.lib.format.write_array(f, arr, version=version)
    return f.getvalue()


# labels: classes.txt NUL label TSV
put("labels", "voc", head("data/voc-mlt/classes.txt", 40) + "\0" + head("data/voc-mlt/train_labels.tsv", 12))
put("labels", "debtags", head("data/debtags-mlt/classes.txt", 40) + "\0" + head("data/debtags-mlt/train.tsv", 12))
put("labels", "plain", "id\tlabels\nx\ta,b\ny\t\nz\tc\n")

# scores (3 classes)
put("scores", "plain.tsv", "a\tb\tc\n0.5\t-1\t2\n1\t2\t3\n0\t0\t0\n")
put("scores", "ids.tsv", "id\ta\tb\tc\nz\t0.5\t-1\t2\nx\t1\t2\t3\ny\t0\t0\t0\n")
put("scores", "s.npy", npy(np.arange(9, dtype="<f8").reshape(3, 3)))

# npy
m = np.arange(6, dtype="<f4").reshape(2, 3) / 4
put("npy", "c_f4.npy", npy(m))
put("npy", "fortran_f8.npy", npy(np.asfortranarray(m.astype("<f8"))))
put("npy", "big_endian_v2.npy", npy(m.astype(">f4"), (2, 0)))
put("npy", "v3.npy", npy(m.astype("<f8"), (3, 0)))

# safetensors: train / test feature matrices, F32 and F16
def safetensors(tensors):
    header, data = {}, b""
    for name, arr, dtype in tensors:
        raw = arr.tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + data

put("safetensors", "f32", safetensors([("train", m, "F32"), ("test", m[:1], "F32")]))
put("safetensors", "f16", safetensors([("train", m.astype("<f2"), "F16"), ("test", m.astype("<f2"), "F16")]))

# TOML configurations
for p in sorted((root / "configs").glob("*.toml")):
    put("toml_config", p.name, p.read_text())

# deb822: Packages, Translation-en and Release
put("deb822", "Packages", """Package: hello
Source: hello-src (1.0-1)
Version: 2.10-3
Section: devel
Tag: devel::editor, interface::commandline, role::program, use::editing
Description: example package
 A longer description.
 .
 Second paragraph.
Description-md5: 0123456789abcdef0123456789abcdef

Package: libfoo1
Tag: devel::library, role::shared-lib
Description: foo library
""")
put("deb822", "Translation-en", """Package: hello
Description-md5: 0123456789abcdef0123456789abcdef
Description-en: example package
 The translated long description.
""")
put("deb822", "Release", """Origin: Debian
Suite: stable
SHA256:
 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 1234 main/binary-amd64/Packages.xz
""")

# texts
put("texts", "debtags", head("data/debtags-mlt/texts.tsv", 6))

# VOC annotation
put("voc_xml", "x.xml", """<annotation>
  <folder>VOC2012</folder>
  <filename>2007_000027.jpg</filename>
  <size><width>486</width><height>500</height><depth>3</depth></size>
  <object><name>person</name><difficult>0</difficult>
    <bndbox><xmin>174</xmin><ymin>101</ymin><xmax>349</xmax><ymax>351</ymax></bndbox></object>
  <object><name> dog </name><difficult>1</difficult></object>
</annotation>
""")

# COCO instances
put("coco_json", "instances.json", json.dumps({
    "images": [{"id": 1, "file_name": "a.jpg"}, {"id": 2, "file_name": "b.jpg"}],
    "annotations": [
        {"image_id": 1, "category_id": 18, "area": 120.5, "bbox": [1, 2, 30, 40]},
        {"image_id": 2, "category_id": 1, "area": 0.0, "bbox": [0, 0, 0, 0], "iscrowd": 1, "ignore": 1},
    ],
    "categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "hot dog"}],
}))

# images: small PNG (from a fixture) and JPEG
try:
    from PIL import Image

    img = Image.open(root / "crates/mllt-data/tests/fixtures/photos/coffee.png").convert("RGB").resize((12, 8))
    for fmt, name in [("PNG", "rgb.png"), ("JPEG", "rgb.jpg")]:
        f = io.BytesIO()
        img.save(f, fmt)
        put("image", name, f.getvalue())
    f = io.BytesIO()
    img.convert("LA").save(f, "PNG")
    put("image", "gray_alpha.png", f.getvalue())
except ImportError:
    print("no Pillow: image seeds skipped")

# .pth: a zip and a legacy checkpoint with two Lite0 tensors
try:
    import torch

    sd = {"_conv_stem.weight": torch.arange(6.0).reshape(2, 3), "_bn0.num_batches_tracked": torch.tensor(3)}
    for name, zipped in [("zip.pth", True), ("legacy.pth", False)]:
        f = io.BytesIO()
        torch.save(sd, f, _use_new_zipfile_serialization=zipped)
        put("pth", name, f.getvalue())
except ImportError:
    print("no torch: .pth seeds skipped")

# model.mllt: a feature model trained by mllt itself on a tiny folder (needs target/release/mllt)
mllt = root / "target" / "release" / "mllt"
if mllt.exists():
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        folder.mkdir()
        (folder / "classes.txt").write_text("a\nb\nc\n")
        rows = [(f"i{k}", ["a", "b", "c"][k % 3] + (",a" if k % 4 == 0 else "")) for k in range(40)]
        for split, part in [("train", rows[:30]), ("test", rows[30:])]:
            (folder / f"{split}.tsv").write_text("id\tlabels\n" + "".join(f"{i}\t{l}\n" for i, l in part))
        x = np.random.default_rng(0).normal(size=(40, 4)).astype("<f4")
        (folder / "features.safetensors").write_bytes(safetensors([("train", x[:30], "F32"), ("test", x[30:], "F32")]))
        config = Path(tmp) / "tiny.toml"
        config.write_text('method = "tiny"\n[model]\nkind = "pfc"\nhidden = 8\n[schedule]\nepochs = 1\nbatch_size = 4\nlr_steps = []\n')
        run = Path(tmp) / "run"
        subprocess.run([str(mllt), "train", "--data", str(folder), "--config", str(config), "--out", str(run)],
                       check=True, capture_output=True)
        put("model_file", "features.mllt", (run / "model.mllt").read_bytes())
else:
    print("no target/release/mllt: model_file seed skipped")
