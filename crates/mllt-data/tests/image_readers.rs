//! The image dataset readers on fixtures written here: VOC XML annotations and image sets, COCO instance
//! JSONs, image folders, and tiny images, including the shipped VOC-MLT / COCO-MLT subset selection.

use std::fs;
use std::path::{Path, PathBuf};

use mllt_core::LabelSet;
use mllt_core::datasets::Shipped;
use mllt_data::coco::{self, read_instances};
use mllt_data::images::{ImageDataset, ImageSpec, MIN_TRAIN_SIDE, SkipReason, Split, check_images};
use mllt_data::voc::{self, parse_annotation};
use serde_json::{Value, json};

fn write(path: &Path, contents: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// A blank image of the given size; the format follows the extension.
fn write_image(path: &Path, width: u32, height: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::new(width, height).save(path).unwrap();
}

fn spec(kind: &str, root: &Path) -> ImageSpec {
    ImageSpec::parse(&format!("{kind}:{}", root.display())).unwrap()
}

fn load_err(spec: &ImageSpec) -> String {
    spec.load().unwrap_err().to_string()
}

/// The class names of every row of a label set.
fn names(ls: &LabelSet) -> Vec<Vec<&str>> {
    ls.rows()
        .iter()
        .map(|row| row.iter().map(|&c| ls.class_names()[c].as_str()).collect())
        .collect()
}

// ---------------------------------------------------------------- VOC

/// A VOC annotation with one object per name; `difficult` and `truncated` alternate, and every person has
/// body parts (whose `<name>`s are not objects).
fn voc_xml(objects: &[&str]) -> String {
    let mut xml = String::from(
        "<annotation>\n\t<folder>VOC2012</folder>\n\t<size><width>500</width><height>375</height></size>\n",
    );
    for (i, name) in objects.iter().enumerate() {
        let part = if *name == "person" {
            "<part><name>head</name><bndbox/></part><part><name>hand</name></part>"
        } else {
            ""
        };
        xml.push_str(&format!(
            "\t<object>\n\t\t<name>{name}</name>\n\t\t<pose>Unspecified</pose>\n\t\t<truncated>{}</truncated>\n\t\t<difficult>{}</difficult>\n\t\t<bndbox><xmin>1</xmin></bndbox>{part}\n\t</object>\n",
            i % 2,
            (i / 2) % 2,
        ));
    }
    xml + "</annotation>\n"
}

/// A `VOC20XX` folder: annotations of `(id, objects)`, and image sets `(split, ids)`.
fn write_voc(root: &Path, annotations: &[(&str, Vec<&str>)], sets: &[(&str, &[&str])]) {
    for (id, objects) in annotations {
        write(&voc::annotation_path(root, id), voc_xml(objects));
    }
    for (split, ids) in sets {
        let path = root.join(format!("ImageSets/Main/{split}.txt"));
        write(&path, ids.join("\n") + "\n");
    }
}

#[test]
fn voc_every_object_counts_including_difficult_and_truncated() {
    let xml = voc_xml(&["dog", "person", "dog", "tvmonitor", "aeroplane"]);
    assert!(xml.contains("<difficult>1</difficult>") && xml.contains("<truncated>1</truncated>"));
    // Objects in document order with repeats; the person's parts (head, hand) are not objects.
    let classes = parse_annotation(&xml, Path::new("a.xml")).unwrap();
    assert_eq!(classes, vec![11, 14, 11, 19, 0]);
    let no_objects = "<annotation><filename>x.jpg</filename></annotation>";
    assert!(
        parse_annotation(no_objects, Path::new("a.xml"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn voc_bad_annotations_name_the_file() {
    let err = parse_annotation(&voc_xml(&["dog", "zebra"]), Path::new("Annotations/x.xml"));
    assert_eq!(
        err.unwrap_err().to_string(),
        "Annotations/x.xml: unknown VOC class `zebra`"
    );
    let err = parse_annotation(
        "<annotation>\n<object><name>dog</name></objet>\n</annotation>",
        Path::new("y.xml"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("y.xml:2: malformed XML"), "{err}");
    assert!(!err.contains('\n'), "{err}");
}

#[test]
fn voc_classes_are_the_standard_order_of_the_shipped_subset() {
    assert_eq!(
        voc::CLASSES.as_slice(),
        Shipped::VocMlt.labels().class_names()
    );
    assert_eq!(voc::CLASSES[10], "diningtable");
}

#[test]
fn voc_spec_reads_trainval_and_test() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("VOC2007");
    write_voc(
        &root,
        &[
            ("000005", vec!["chair", "chair", "person"]),
            ("000007", vec!["car"]),
            ("000009", vec!["horse", "person"]),
            ("000001", vec!["dog"]),
        ],
        &[
            ("trainval", &["000005", "000007", "000009"]),
            ("test", &["000001"]),
        ],
    );
    let ds = spec("voc", &root).load().unwrap();
    assert_eq!(ds.train.labels.ids(), ["000005", "000007", "000009"]);
    assert_eq!(
        names(&ds.train.labels),
        [
            vec!["chair", "person"],
            vec!["car"],
            vec!["horse", "person"]
        ]
    );
    assert_eq!(ds.train.paths[1], root.join("JPEGImages/000007.jpg"));
    assert_eq!(names(&ds.test.labels), [vec!["dog"]]);
    assert_eq!(ds.test.labels.class_names(), ds.train.labels.class_names());

    // A missing annotation, a duplicate id and a missing image set name their files.
    write(&root.join("ImageSets/Main/test.txt"), "000001\n000002\n");
    let err = load_err(&spec("voc", &root));
    assert!(
        err.starts_with(&format!(
            "{}: ",
            voc::annotation_path(&root, "000002").display()
        )),
        "{err}"
    );
    write(&root.join("ImageSets/Main/test.txt"), "000001\n\n000001\n");
    assert!(
        load_err(&spec("voc", &root))
            .ends_with("test.txt:3: duplicate image id `000001` (first on line 1)")
    );
    fs::remove_file(root.join("ImageSets/Main/test.txt")).unwrap();
    assert!(load_err(&spec("voc", &root)).contains("test.txt: "));
}

/// A devkit with the VOC2012 annotations of every shipped VOC-MLT image (from the shipped labels, classes in
/// reverse order and repeated) and a two-image VOC2007 test set.
fn write_voc_mlt(devkit: &Path) -> LabelSet {
    let shipped = Shipped::VocMlt.labels();
    let voc12 = devkit.join("VOC2012");
    for (id, row) in shipped.ids().iter().zip(names(&shipped)) {
        let mut objects: Vec<&str> = row.iter().rev().copied().collect();
        objects.extend(row.first());
        write(&voc::annotation_path(&voc12, id), voc_xml(&objects));
    }
    let voc07 = devkit.join("VOC2007");
    write_voc(
        &voc07,
        &[("000001", vec!["dog", "person"]), ("000004", vec!["car"])],
        &[("test", &["000004", "000001"])],
    );
    shipped
}

#[test]
fn voc_mlt_is_the_shipped_subset_and_voc2007_test() {
    let dir = tempfile::tempdir().unwrap();
    let devkit = dir.path();
    let shipped = write_voc_mlt(devkit);
    let ds = spec("voc-mlt", devkit).load().unwrap();
    assert_eq!(ds.train.labels, shipped);
    assert_eq!(ds.train.paths.len(), 1142);
    let first = &shipped.ids()[0];
    assert_eq!(
        ds.train.paths[0],
        devkit.join(format!("VOC2012/JPEGImages/{first}.jpg"))
    );
    assert_eq!(ds.test.labels.ids(), ["000004", "000001"]);
    assert_eq!(names(&ds.test.labels), [vec!["car"], vec!["dog", "person"]]);
    assert_eq!(
        ds.test.paths[1],
        devkit.join("VOC2007/JPEGImages/000001.jpg")
    );

    // Only three training images exist: the first missing one is the error, or all others are skipped.
    for path in ds.train.paths[..3].iter().chain(&ds.test.paths) {
        write_image(path, 48, 40);
    }
    let err = check_images(ds.clone(), false).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: unreadable image: ",
            ds.train.paths[3].display()
        )),
        "{err}"
    );
    let (checked, skipped) = check_images(ds.clone(), true).unwrap();
    assert_eq!(skipped.len(), 1142 - 3);
    assert!(
        skipped
            .iter()
            .all(|s| s.split == Split::Train && matches!(s.reason, SkipReason::Unreadable(_)))
    );
    assert_eq!(skipped[0].path, ds.train.paths[3]);
    assert_eq!(checked.train, ds.train.subset(&[0, 1, 2]));
    assert_eq!(checked.test, ds.test);
}

#[test]
fn voc_mlt_labels_that_disagree_with_the_shipped_ones_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let devkit = dir.path();
    let shipped = write_voc_mlt(devkit);
    let (k, id) = (500, &shipped.ids()[500]);
    let mut objects = names(&shipped)[k].clone();
    let expected = objects.join(",");
    objects.push("sheep");
    assert!(!expected.contains("sheep"));
    let xml = voc::annotation_path(&devkit.join("VOC2012"), id);
    write(&xml, voc_xml(&objects));
    let mut found = objects.clone();
    found.sort_by_key(|n| voc::CLASSES.iter().position(|c| c == n));
    found.dedup();
    assert_eq!(
        load_err(&spec("voc-mlt", devkit)),
        format!(
            "{}: image `{id}` has labels [{}] but [{expected}] in the shipped voc-mlt subset (wrong folder?)",
            xml.display(),
            found.join(",")
        )
    );
}

// ---------------------------------------------------------------- COCO

fn category(id: u64, name: &str) -> Value {
    json!({"id": id, "name": name, "supercategory": "thing"})
}

fn image(id: u64) -> Value {
    json!({"id": id, "file_name": format!("{id:012}.jpg"), "width": 64, "height": 48, "license": 1})
}

/// A valid annotation of `category` on `image`, with a polygon segmentation.
fn annotation(image: u64, category: u64) -> Value {
    json!({
        "id": image * 1000 + category, "image_id": image, "category_id": category, "iscrowd": 0,
        "area": 120.5, "bbox": [3.0, 4.0, 10.0, 12.0],
        "segmentation": [[3.0, 4.0, 13.0, 4.0, 13.0, 16.0]],
    })
}

/// `annotation` with fields replaced.
fn with(mut a: Value, fields: Value) -> Value {
    for (k, v) in fields.as_object().unwrap() {
        a[k] = v.clone();
    }
    a
}

fn instances(images: Vec<Value>, annotations: Vec<Value>, categories: Vec<Value>) -> Value {
    json!({
        "info": {"year": 2017}, "licenses": [{"id": 1, "name": "x"}],
        "images": images, "annotations": annotations, "categories": categories,
    })
}

/// Categories with non-contiguous ids, listed out of id order: person (1), bicycle (2), hair drier (5).
fn small_categories() -> Vec<Value> {
    vec![
        category(5, "hair drier"),
        category(1, "person"),
        category(2, "bicycle"),
    ]
}

#[test]
fn coco_annotation_rules_and_class_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("instances.json");
    let annotations = vec![
        // Image 10: a crowd person (RLE segmentation) counts; a zero-area bicycle does not.
        with(
            annotation(10, 1),
            json!({"iscrowd": 1, "segmentation": {"counts": [1, 2, 3], "size": [48, 64]}}),
        ),
        with(annotation(10, 2), json!({"area": 0.0})),
        // Image 11: width < 1, height < 1, and ignored (1 and true) annotations do not count; ignore 0 does.
        with(annotation(11, 1), json!({"bbox": [0.0, 0.0, 0.5, 10.0]})),
        with(annotation(11, 2), json!({"bbox": [0.0, 0.0, 10.0, 0.9]})),
        with(annotation(11, 5), json!({"ignore": 1})),
        with(annotation(11, 2), json!({"ignore": true})),
        with(annotation(11, 1), json!({"ignore": 0})),
        // Image 12: a repeated hair drier and a bicycle with bbox exactly 1 x 1.
        annotation(12, 5),
        annotation(12, 5),
        with(
            annotation(12, 2),
            json!({"bbox": [0.0, 0.0, 1.0, 1.0], "ignore": false}),
        ),
    ];
    let json = instances(
        vec![image(12), image(10), image(11), image(13)],
        annotations,
        small_categories(),
    );
    write(&path, json.to_string());
    let inst = read_instances(&path).unwrap();
    assert_eq!(
        inst.labels.class_names(),
        ["person", "bicycle", "hair_drier"]
    );
    assert_eq!(inst.labels.ids(), ["12", "10", "11", "13"]);
    assert_eq!(inst.file_names[0], "000000000012.jpg");
    assert_eq!(
        names(&inst.labels),
        [
            vec!["bicycle", "hair_drier"],
            vec!["person"],
            vec!["person"],
            vec![]
        ]
    );
}

#[test]
fn coco_bad_instance_files_name_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    let p = path.display();
    let read = |json: Value| {
        write(&path, json.to_string());
        read_instances(&path).unwrap_err().to_string()
    };
    let err = read(instances(
        vec![image(1)],
        vec![annotation(1, 3)],
        small_categories(),
    ));
    assert_eq!(
        err,
        format!("{p}: annotations[0]: category_id 3 is not in `categories`")
    );
    let err = read(instances(
        vec![image(1)],
        vec![annotation(1, 1), annotation(2, 1)],
        small_categories(),
    ));
    assert_eq!(
        err,
        format!("{p}: annotations[1]: image_id 2 is not in `images`")
    );
    let err = read(instances(
        vec![image(1), image(1)],
        vec![],
        small_categories(),
    ));
    assert_eq!(err, format!("{p}: images: duplicate image id 1"));
    let err = read(instances(
        vec![image(1)],
        vec![with(annotation(1, 1), json!({"bbox": [1.0, 2.0]}))],
        small_categories(),
    ));
    assert!(
        err.starts_with(&format!("{p}: not a COCO instances file: ")),
        "{err}"
    );
    assert!(!err.contains('\n'));
    write(&path, "{\"images\": [");
    assert!(
        read_instances(&path)
            .unwrap_err()
            .to_string()
            .starts_with(&format!("{p}: not a COCO instances file: "))
    );
    let missing = dir.path().join("none.json");
    assert!(
        read_instances(&missing)
            .unwrap_err()
            .to_string()
            .starts_with(&format!("{}: ", missing.display()))
    );
}

/// Writes `ROOT/annotations/instances_<split>.json`.
fn write_instances(root: &Path, split: &str, json: &Value) {
    write(&coco::instances_path(root, split), json.to_string());
}

#[test]
fn coco_spec_keeps_positive_train_images_and_every_val_image() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let train = instances(
        vec![image(3), image(1), image(2)],
        vec![
            annotation(3, 2),
            annotation(2, 1),
            with(annotation(1, 5), json!({"area": 0.0})),
        ],
        small_categories(),
    );
    write_instances(root, "train2017", &train);
    let val = instances(
        vec![image(7), image(8)],
        vec![annotation(8, 5)],
        small_categories(),
    );
    write_instances(root, "val2017", &val);
    let ds = spec("coco", root).load().unwrap();
    assert_eq!(ds.train.labels.ids(), ["3", "2"]);
    assert_eq!(names(&ds.train.labels), [vec!["bicycle"], vec!["person"]]);
    assert_eq!(
        ds.train.paths,
        [
            root.join("train2017/000000000003.jpg"),
            root.join("train2017/000000000002.jpg")
        ]
    );
    assert_eq!(ds.test.labels.ids(), ["7", "8"]);
    assert_eq!(names(&ds.test.labels), [vec![], vec!["hair_drier"]]);
    assert_eq!(ds.test.paths[0], root.join("val2017/000000000007.jpg"));

    // Val categories that differ from train's are an error naming the val file.
    let val = instances(vec![image(7)], vec![], vec![category(1, "person")]);
    write_instances(root, "val2017", &val);
    assert_eq!(
        load_err(&spec("coco", root)),
        format!(
            "{}: its categories differ from the training set's",
            coco::instances_path(root, "val2017").display()
        )
    );
}

/// A COCO root whose train2017 JSON holds every shipped COCO-MLT image (in reverse order, among two others)
/// with annotations from the shipped labels, and 80 categories with gaps in their ids; val2017 has two images.
fn write_coco_mlt(root: &Path) -> LabelSet {
    let shipped = Shipped::CocoMlt.labels();
    let category_id = |c: usize| 3 * c as u64 + 1;
    let categories: Vec<Value> = shipped
        .class_names()
        .iter()
        .enumerate()
        .rev()
        .map(|(c, name)| category(category_id(c), &name.replace('_', " ")))
        .collect();
    let ids: Vec<u64> = shipped.ids().iter().map(|id| id.parse().unwrap()).collect();
    let mut images: Vec<Value> = ids.iter().rev().map(|&id| image(id)).collect();
    images.extend([image(1), image(2)]);
    let mut annotations: Vec<Value> = vec![annotation(1, category_id(0))];
    for (&id, row) in ids.iter().zip(shipped.rows()) {
        annotations.extend(row.iter().map(|&c| annotation(id, category_id(c))));
    }
    write_instances(
        root,
        "train2017",
        &instances(images, annotations, categories.clone()),
    );
    let val = instances(
        vec![image(5), image(6)],
        vec![annotation(6, category_id(79))],
        categories,
    );
    write_instances(root, "val2017", &val);
    shipped
}

#[test]
fn coco_mlt_is_the_shipped_subset_and_all_of_val() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let shipped = write_coco_mlt(root);
    let ds = spec("coco-mlt", root).load().unwrap();
    assert_eq!(ds.train.labels, shipped);
    let first = &shipped.ids()[0];
    assert_eq!(
        ds.train.paths[0],
        root.join(format!("train2017/{:0>12}.jpg", first))
    );
    assert_eq!(ds.test.labels.ids(), ["5", "6"]);
    assert_eq!(names(&ds.test.labels), [vec![], vec!["toothbrush"]]);
    assert_eq!(ds.test.labels.class_names(), shipped.class_names());
}

#[test]
fn coco_mlt_disagreements_with_the_shipped_subset_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let shipped = write_coco_mlt(root);
    let json_path = coco::instances_path(root, "train2017");
    let mut json: Value = serde_json::from_str(&fs::read_to_string(&json_path).unwrap()).unwrap();

    // Mark the first annotation of the shipped image 10 as ignored.
    let (k, id) = (10, shipped.ids()[10].clone());
    let number: u64 = id.parse().unwrap();
    let first = json["annotations"]
        .as_array()
        .unwrap()
        .iter()
        .position(|a| a["image_id"] == number)
        .unwrap();
    json["annotations"][first]["ignore"] = json!(1);
    write_instances(root, "train2017", &json);
    let expected = names(&shipped)[k].join(",");
    let found = names(&shipped)[k][1..].join(",");
    assert_eq!(
        load_err(&spec("coco-mlt", root)),
        format!(
            "{}: image `{id}` has labels [{found}] but [{expected}] in the shipped coco-mlt subset (wrong folder?)",
            json_path.display()
        )
    );

    // A shipped image that is not in the file.
    let images = json["images"].as_array_mut().unwrap();
    let first_id: u64 = shipped.ids()[0].parse().unwrap();
    let pos = images.iter().position(|i| i["id"] == first_id).unwrap();
    images.remove(pos);
    json["annotations"] = json!([]);
    write_instances(root, "train2017", &json);
    assert_eq!(
        load_err(&spec("coco-mlt", root)),
        format!(
            "{}: image `{}` of the shipped coco-mlt subset is not in `images` (wrong file?)",
            json_path.display(),
            shipped.ids()[0]
        )
    );

    // Categories other than the shipped 80.
    write_instances(
        root,
        "train2017",
        &instances(vec![], vec![], small_categories()),
    );
    assert!(load_err(&spec("coco-mlt", root)).contains("not the 80 COCO classes"));
}

// ---------------------------------------------------------------- image folders, specs, image checks

/// An image folder with classes a, b, c.
fn write_folder(root: &Path, train: &str, test: &str) {
    write(&root.join("classes.txt"), "a\nb\nc\n");
    write(&root.join("train.tsv"), format!("image\tlabels\n{train}"));
    write(&root.join("test.tsv"), format!("image\tlabels\n{test}"));
}

#[test]
fn specs_parse() {
    let p = PathBuf::from;
    assert_eq!(
        ImageSpec::parse("voc:/d/VOC2007").unwrap(),
        ImageSpec::Voc(p("/d/VOC2007"))
    );
    assert_eq!(
        ImageSpec::parse("voc-mlt:devkit").unwrap(),
        ImageSpec::VocMlt(p("devkit"))
    );
    assert_eq!(
        ImageSpec::parse("coco:c:/x").unwrap(),
        ImageSpec::Coco(p("c:/x"))
    );
    assert_eq!(
        ImageSpec::parse("coco-mlt:coco").unwrap(),
        ImageSpec::CocoMlt(p("coco"))
    );
    assert_eq!(
        ImageSpec::parse("imgs").unwrap(),
        ImageSpec::Folder(p("imgs"))
    );
    assert_eq!(
        ImageSpec::parse("a:b").unwrap(),
        ImageSpec::Folder(p("a:b"))
    );
    assert_eq!(
        "imgs".parse::<ImageSpec>().unwrap(),
        ImageSpec::Folder(p("imgs"))
    );
    assert_eq!(
        ImageSpec::parse("voc:").unwrap_err().to_string(),
        "dataset spec `voc:`: no folder after the colon"
    );
    assert!(ImageSpec::parse("").is_err());
}

#[test]
fn folder_spec_reads_the_label_tsvs() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_folder(root, "x.png\ta,c\nsub/y.jpg\t\n", "z.png\tb\n");
    let ds = ImageSpec::parse(root.to_str().unwrap())
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(names(&ds.train.labels), [vec!["a", "c"], vec![]]);
    assert_eq!(
        ds.train.paths,
        [root.join("images/x.png"), root.join("images/sub/y.jpg")]
    );
    assert_eq!(ds.test.paths, [root.join("images/z.png")]);
    write(&root.join("test.tsv"), "image\tlabels\nz.png\td\n");
    let err = load_err(&ImageSpec::Folder(root.into()));
    assert_eq!(
        err,
        format!("{}:2: unknown class `d`", root.join("test.tsv").display())
    );
}

#[test]
fn check_images_reports_bad_images_and_filters_small_training_images() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write_folder(
        root,
        "ok.png\ta\nbad.jpg\tb\nthin.png\tc\nok2.jpg\ta,b\n",
        "small.png\ta\ngone.png\tb\nok3.png\tc\n",
    );
    let images = root.join("images");
    write_image(&images.join("ok.png"), 40, 32);
    write(
        &images.join("bad.jpg"),
        b"\xFF\xD8\xFF\xE0 this is not a jpeg",
    );
    write_image(&images.join("thin.png"), 300, MIN_TRAIN_SIDE - 1);
    write_image(&images.join("ok2.jpg"), 32, 64);
    write_image(&images.join("small.png"), 8, 8);
    write_image(&images.join("ok3.png"), 33, 33);
    let ds: ImageDataset = ImageSpec::Folder(root.into()).load().unwrap();

    // The first bad image in split order is the error: the corrupt JPEG, then the missing PNG.
    let err = check_images(ds.clone(), false).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: unreadable image: ",
            images.join("bad.jpg").display()
        )),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");
    write_image(&images.join("bad.jpg"), 50, 50);
    let err = check_images(ds.clone(), false).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: unreadable image: ",
            images.join("gone.png").display()
        )),
        "{err}"
    );
    write(&images.join("bad.jpg"), "GIF89a not supported either");

    let (checked, skipped) = check_images(ds.clone(), true).unwrap();
    let reasons: Vec<(Split, PathBuf, bool)> = skipped
        .iter()
        .map(|s| {
            (
                s.split,
                s.path.clone(),
                matches!(s.reason, SkipReason::Unreadable(_)),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (Split::Train, images.join("bad.jpg"), true),
            (Split::Train, images.join("thin.png"), false),
            (Split::Test, images.join("gone.png"), true),
        ]
    );
    assert_eq!(
        skipped[1].reason,
        SkipReason::TooSmall {
            width: 300,
            height: 31
        }
    );
    assert!(
        skipped[1]
            .to_string()
            .ends_with("thin.png: 300x31 has a side under 32 px (training filter)")
    );
    assert_eq!(checked.train, ds.train.subset(&[0, 3]));
    // Small test images are kept: the filter is a training one.
    assert_eq!(checked.test, ds.test.subset(&[0, 2]));

    // Without skip_bad the small training image is still dropped, and nothing else is.
    write_image(&images.join("bad.jpg"), 50, 50);
    write_image(&images.join("gone.png"), 50, 50);
    let (checked, skipped) = check_images(ds.clone(), false).unwrap();
    assert_eq!(skipped.len(), 1);
    assert_eq!(checked.train.labels.ids(), ["ok.png", "bad.jpg", "ok2.jpg"]);
    assert_eq!(checked.test, ds.test);
}
