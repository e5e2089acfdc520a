//! `mllt embed-labels`: the all-MiniLM-L6-v2 sentence embeddings of a dataset's class names, one unit-norm
//! 384-d row per class in `classes.txt` order (each `_` of a name read as a space), written as a C × 384
//! float32 `.npy`: label vectors for a head that relates the classes (ML-GCN).

use std::path::PathBuf;

use mllt_core::labels::read_classes;
use mllt_core::npy_writer::NpyRowWriter;
use mllt_nn::features::CLASSES_FILE;
use mllt_nn::text::label_embeddings;

/// Arguments of `mllt embed-labels`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Any dataset folder with classes.txt (or a shipped benchmark: openclipart-mlt, debtags-mlt).
    #[arg(value_name = "DATA")]
    data: PathBuf,
    /// Output `.npy` file: C × 384 float32, rows in classes.txt order.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,
    #[command(flatten)]
    device: super::DeviceArg,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let classes = read_classes(&super::dataset::resolve(&self.data)?.join(CLASSES_FILE))?;
        let device = self.device.device()?;
        let vectors = label_embeddings(&classes, &device)?;
        let dim = vectors.dim;
        let mut writer = NpyRowWriter::create(&self.out, dim)?;
        writer.write_rows(&vectors.values)?;
        writer.finish()?;
        println!(
            "{}: {} x {dim} float32 (all-MiniLM-L6-v2 embeddings of the class names of {})",
            self.out.display(),
            classes.len(),
            self.data.display()
        );
        Ok(())
    }
}
