//! A small labelled image folder written by a test: `classes.txt`, `train.tsv`, `test.tsv` and `images/`.
//! Each test binary that includes it uses part of it.
#![allow(dead_code)]

use std::path::Path;

use image::{Rgb, RgbImage};

/// A 48×40 image with a colour that depends on `k`, saved as PNG or JPEG by the extension of `path`.
pub fn write_image(path: &Path, k: usize) {
    let colour = Rgb([
        (37 * k % 256) as u8,
        (91 * k % 256) as u8,
        (53 * k % 256) as u8,
    ]);
    let image = RgbImage::from_fn(48, 40, |x, y| {
        if (x + y) % 7 == 0 {
            Rgb([255, 255, 255])
        } else {
            colour
        }
    });
    image.save(path).unwrap();
}

/// Labels of item `k` among `classes`: class `k % n` and, for odd `k`, the next one.
pub fn labels_of(k: usize, classes: &[&str]) -> Vec<String> {
    let n = classes.len();
    let mut labels = vec![classes[k % n].to_string()];
    if k % 2 == 1 {
        labels.push(classes[(k + 1) % n].to_string());
    }
    labels
}

/// An image folder of 3 classes, 16 training and 8 test images.
pub fn image_folder(root: &Path) {
    let classes = ["cat", "dog", "cup"];
    std::fs::create_dir_all(root.join("images")).unwrap();
    std::fs::write(root.join("classes.txt"), classes.join("\n") + "\n").unwrap();
    for (split, n) in [("train", 16), ("test", 8)] {
        let mut tsv = String::from("id\tlabels\n");
        for k in 0..n {
            let name = format!("{split}{k}.{}", if k % 2 == 0 { "png" } else { "jpg" });
            write_image(&root.join("images").join(&name), k + n);
            tsv += &format!("{name}\t{}\n", labels_of(k, &classes).join(","));
        }
        std::fs::write(root.join(format!("{split}.tsv")), tsv).unwrap();
    }
}
