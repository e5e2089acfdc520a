//! `mllt stats`: label statistics of a dataset (written next).

/// Arguments of `mllt stats`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A shipped dataset name (voc-mlt, coco-mlt, voc2012-trainval) or a path.
    pub data: String,
}

impl Args {
    pub fn run(self) -> anyhow::Result<()> {
        let labels = mllt_core::datasets::load(&self.data, None)?;
        println!("{} images, {} classes", labels.len(), labels.num_classes());
        Ok(())
    }
}
