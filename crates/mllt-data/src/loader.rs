//! Batches of transformed images: decoded and augmented in parallel with rayon, prefetched on a background
//! thread.
//!
//! The reference trains from a PyTorch `DataLoader` whose worker processes run the pipeline of
//! [`crate::augment`] on each item; [`BatchLoader`] plays that role: for an epoch given as a list of batches of
//! item indices, a background thread decodes and transforms each batch (items in parallel on rayon) and keeps
//! up to `prefetch` batches ready ahead of the consumer, through a bounded channel. [`load_batch`] is the same
//! work done synchronously (evaluation).
//!
//! The item at position `p` of the epoch (counting through the batches in order, from
//! [`LoaderConfig::first_position`]) is augmented with [`crate::augment::item_rng`]`(seed, epoch, p)`, so the
//! batches are the same whatever the thread count, the prefetch depth or the scheduling, and an epoch resumed
//! in the middle continues with the same augmentation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;

use image::{DynamicImage, ImageReader};
use rayon::prelude::*;

use crate::augment::AugmentConfig;

/// A transformed batch.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// `B × 3 × size × size` values: the items one after the other, each CHW, RGB, normalised.
    pub pixels: Vec<f32>,
    /// The item indices (into the loader's paths) of the `B` images, in order.
    pub items: Vec<usize>,
}

/// An error of the loader; a file error names the file.
#[derive(Debug, thiserror::Error)]
pub enum LoaderError {
    #[error("{path}: cannot decode image: {message}")]
    Decode { path: PathBuf, message: String },
    #[error("item {item} is out of range: the loader has {len} images")]
    ItemOutOfRange { item: usize, len: usize },
    #[error("cannot start the loader: {0}")]
    Start(String),
    #[error("the loader thread panicked")]
    Panicked,
}

/// What a [`BatchLoader`] does beyond the images and the batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoaderConfig {
    /// The transform of every item.
    pub augment: AugmentConfig,
    /// The epoch, for the augmentation randomness.
    pub epoch: u64,
    /// The position in the epoch of the first item of the first batch: 0, or the items already trained on when
    /// an epoch is resumed in the middle.
    pub first_position: u64,
    /// How many batches the background thread may have ready (or in the making) ahead of the consumer; 0 counts
    /// as 1.
    pub prefetch: usize,
    /// Threads of the loader's own rayon pool; 0 uses rayon's global pool.
    pub threads: usize,
}

/// Decodes an image file, by its content (the extension only where the content says nothing).
pub fn decode(path: &Path) -> Result<DynamicImage, LoaderError> {
    let fail = |message: String| LoaderError::Decode {
        path: path.to_path_buf(),
        message,
    };
    ImageReader::open(path)
        .and_then(ImageReader::with_guessed_format)
        .map_err(|e| fail(e.to_string()))?
        .decode()
        .map_err(|e| fail(e.to_string()))
}

/// Decodes and transforms the images `items` of `paths`, in parallel on the current rayon pool; the first item
/// is at `first_position` of `epoch`. On several failures, the error of the first failing item in batch order.
pub fn load_batch(
    paths: &[PathBuf],
    items: &[usize],
    first_position: u64,
    augment: &AugmentConfig,
    epoch: u64,
) -> Result<Batch, LoaderError> {
    let images: Vec<Result<Vec<f32>, LoaderError>> = items
        .par_iter()
        .enumerate()
        .map(|(offset, &item)| {
            let path = paths.get(item).ok_or(LoaderError::ItemOutOfRange {
                item,
                len: paths.len(),
            })?;
            Ok(augment.apply(&decode(path)?, epoch, first_position + offset as u64))
        })
        .collect();
    let mut pixels = Vec::with_capacity(items.len() * 3 * augment.size * augment.size);
    for image in images {
        pixels.extend_from_slice(&image?);
    }
    Ok(Batch {
        pixels,
        items: items.to_vec(),
    })
}

/// An iterator over the batches of one epoch, prepared on a background thread.
///
/// It yields the batches in the order given; after an error it yields nothing more. Dropping it early stops
/// the background thread once the batch in progress is done, and waits for that. With `threads == 0` the
/// batches are made on rayon's global pool: do not consume the loader from inside a job of a one-thread global
/// pool, which could then never run them.
pub struct BatchLoader {
    receiver: Option<Receiver<Result<Batch, LoaderError>>>,
    worker: Option<JoinHandle<()>>,
}

impl BatchLoader {
    /// Starts the background thread (and the loader's rayon pool when `config.threads > 0`).
    pub fn new(
        paths: Arc<[PathBuf]>,
        batches: Vec<Vec<usize>>,
        config: LoaderConfig,
    ) -> Result<Self, LoaderError> {
        let pool = match config.threads {
            0 => None,
            threads => Some(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .thread_name(|i| format!("mllt-loader-{i}"))
                    .build()
                    .map_err(|e| LoaderError::Start(e.to_string()))?,
            ),
        };
        let (sender, receiver) = sync_channel(config.prefetch.max(1) - 1);
        let worker = std::thread::Builder::new()
            .name("mllt-loader".into())
            .spawn(move || {
                let mut position = config.first_position;
                for items in batches {
                    let load =
                        || load_batch(&paths, &items, position, &config.augment, config.epoch);
                    let batch = match &pool {
                        Some(pool) => pool.install(load),
                        None => load(),
                    };
                    position += items.len() as u64;
                    let failed = batch.is_err();
                    if sender.send(batch).is_err() || failed {
                        return;
                    }
                }
            })
            .map_err(|e| LoaderError::Start(e.to_string()))?;
        Ok(Self {
            receiver: Some(receiver),
            worker: Some(worker),
        })
    }
}

impl Iterator for BatchLoader {
    type Item = Result<Batch, LoaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Ok(batch) = self.receiver.as_ref()?.recv() {
            return Some(batch);
        }
        // The thread is gone: finished, stopped after an error, or panicked.
        self.receiver = None;
        let panicked = self
            .worker
            .take()
            .is_some_and(|worker| worker.join().is_err());
        panicked.then_some(Err(LoaderError::Panicked))
    }
}

impl Drop for BatchLoader {
    fn drop(&mut self) {
        // Closing the channel first makes the thread's next send fail, so it stops instead of blocking.
        drop(self.receiver.take());
        if let Some(worker) = self.worker.take() {
            // A panic of the thread was already reported by `next`, or nobody is left to see it.
            let _ = worker.join();
        }
    }
}
