//! Per-method hyper-parameter search on validation (issue 11 item 1).
//!
//! The paper tuned its baselines "so that they currently work best in our dataset"; here every preset gets its
//! learning-rate scale and its own key hyper-parameters chosen by validation mAP. The search is coordinate-wise:
//! first the learning-rate scale (every other parameter at the preset's value), then each key parameter of
//! [`key_parameters`] in turn, at the values chosen before it and the preset's values of those after it (DB and
//! DB-Focal: μ, then λ at the chosen μ).
//!
//! Every parameter has an ordered ladder of allowed values ([`Param::ladder`]). One parameter's search
//! ([`LadderSearch`]) starts from a grid of consecutive rungs: for the learning-rate scale ×1, ×10, ×100; for a
//! key parameter the preset's value and its neighbours. While the best value found lies on an edge of the
//! evaluated rungs, the next rung past that edge is evaluated, until the best is inside or the ladder ends: the
//! ladder's ends are the search's limits. Ties go to the smaller value; a point whose training failed scores
//! −∞.
//!
//! Short selection runs favour large learning rates (the short-horizon bias of Wu et al., *Understanding
//! Short-Horizon Bias in Stochastic Meta-Optimization*, ICLR 2018): on OpenClipart-MLT, runs of a quarter of
//! the length chose ×100 where full-length runs chose ×10 for ERM, focal, LDAM and ASL. A search built with
//! `confirm_lr` ([`MethodSearch::new`], `mllt reproduce --confirm-lr`) therefore ends the learning-rate stage
//! with a confirmation: the cheap choice and its two neighbouring rungs are retrained at full length on the
//! same split, and the best of them by full-length validation mAP is the choice; the key parameters keep
//! the cheap choice. It is off by default: it costs three full-length runs per method, and on the recorded
//! run its choices, though better on validation, were worse on test for the methods it changed
//! (`results/README.md`).
//!
//! [`run_searches`] advances many methods' searches together: each round evaluates every pending point of every
//! search as one batch (in parallel), so that the methods do not wait for one another's stages.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use mllt_nn::loss::Weighting;
use mllt_nn::model::HeadConfig;
use mllt_nn::train::TrainConfig;
use serde::Serialize;

use crate::Preset;

/// A tunable hyper-parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Param {
    /// Multiplier of the preset's `optimizer.lr`.
    LrScale,
    /// γ of the focal modulation (`loss.focal.gamma`).
    FocalGamma,
    /// β of the class-balanced weights (`loss.weighting.beta`, kind `class_balanced`).
    CbBeta,
    /// LDAM's largest margin (`loss.ldam.max_margin`).
    LdamMargin,
    /// ASL's γ− (`loss.asl.gamma_neg`).
    AslGammaNeg,
    /// μ of the re-balanced weight (`loss.weighting.mu`, kind `rebalance`, Eq. 4).
    RebalanceMu,
    /// β of the re-balanced weight, the slope of its smoothing (`loss.weighting.beta`, kind `rebalance`,
    /// Eq. 4); swept by `mllt sweep`, not tuned.
    RebalanceBeta,
    /// λ of the negative-tolerant regularisation (`loss.ntr.lambda`, Eq. 7–9).
    NtrLambda,
    /// κ of NTR's class-prior bias (`loss.ntr.kappa`, Eq. 9); swept by `mllt sweep`, not tuned.
    NtrKappa,
    /// The constant multiplier of the loss (`loss.loss_weight`), for RW: its `by_instance` normalisation
    /// divides every weight by the largest, √(N/n_min), which shrinks the loss by 44× on DebTags-MLT.
    LossWeight,
    /// ML-GCN's binarisation threshold τ of the label graph (`model.tau`, kind `ml-gcn`).
    GcnTau,
}

impl Param {
    /// The name in `summary.json` and in run folder names.
    pub fn name(self) -> &'static str {
        match self {
            Param::LrScale => "lr_scale",
            Param::FocalGamma => "focal_gamma",
            Param::CbBeta => "cb_beta",
            Param::LdamMargin => "ldam_margin",
            Param::AslGammaNeg => "asl_gamma_neg",
            Param::RebalanceMu => "rebalance_mu",
            Param::RebalanceBeta => "rebalance_beta",
            Param::NtrLambda => "ntr_lambda",
            Param::NtrKappa => "ntr_kappa",
            Param::LossWeight => "loss_weight",
            Param::GcnTau => "gcn_tau",
        }
    }

    /// The allowed values in increasing order; the search never leaves them. All lie in the domains the
    /// losses accept (γ, γ−, margin ≥ 0; β in (0, 1); λ > 0; μ finite).
    pub fn ladder(self) -> &'static [f64] {
        match self {
            Param::LrScale => &[0.1, 1.0, 10.0, 100.0, 1000.0, 10_000.0],
            Param::FocalGamma => &[0.0, 0.5, 1.0, 2.0, 3.0, 5.0],
            Param::CbBeta => &[0.5, 0.9, 0.99, 0.999, 0.9999],
            Param::LdamMargin => &[0.1, 0.25, 0.5, 1.0, 2.0, 4.0],
            Param::AslGammaNeg => &[1.0, 2.0, 4.0, 6.0, 8.0, 12.0],
            Param::RebalanceMu => &[0.05, 0.1, 0.2, 0.3, 0.5],
            Param::RebalanceBeta => &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0],
            Param::NtrLambda => &[0.5, 1.0, 2.0, 5.0, 10.0, 20.0],
            Param::NtrKappa => &[0.0, 0.01, 0.05, 0.1, 0.2, 0.5],
            Param::LossWeight => &[1.0, 10.0, 100.0, 1000.0, 10_000.0],
            Param::GcnTau => &[0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8],
        }
    }

    /// The rungs the search starts from, given the rung of the preset's value: ×1, ×10, ×100 for the learning
    /// rate, the preset's rung and its neighbours otherwise.
    fn start(self, preset: usize) -> RangeInclusive<usize> {
        match self {
            Param::LrScale => 1..=3,
            _ => preset.saturating_sub(1)..=(preset + 1).min(self.ladder().len() - 1),
        }
    }

    /// The field of `config` that holds the parameter (`None` for the learning-rate scale, which multiplies,
    /// and where the config has no such stage).
    fn field(self, config: &mut TrainConfig) -> Option<&mut f64> {
        let loss = &mut config.loss;
        match self {
            Param::LrScale => None,
            Param::FocalGamma => loss.focal.as_mut().map(|f| &mut f.gamma),
            Param::CbBeta => match &mut loss.weighting {
                Weighting::ClassBalanced(cb) => Some(&mut cb.beta),
                _ => None,
            },
            Param::LdamMargin => loss.ldam.as_mut().map(|l| &mut l.max_margin),
            Param::AslGammaNeg => loss.asl.as_mut().map(|a| &mut a.gamma_neg),
            Param::RebalanceMu => match &mut loss.weighting {
                Weighting::Rebalance(r) => Some(&mut r.mu),
                _ => None,
            },
            Param::RebalanceBeta => match &mut loss.weighting {
                Weighting::Rebalance(r) => Some(&mut r.beta),
                _ => None,
            },
            Param::NtrLambda => loss.ntr.as_mut().map(|n| &mut n.lambda),
            Param::NtrKappa => loss.ntr.as_mut().map(|n| &mut n.kappa),
            Param::LossWeight => Some(&mut loss.loss_weight),
            Param::GcnTau => match &mut config.model {
                HeadConfig::MlGcn { tau, .. } => Some(tau),
                _ => None,
            },
        }
    }

    /// The value in a preset's `config` (1 for the learning-rate scale); `None` where it has no such stage.
    pub fn preset_value(self, config: &TrainConfig) -> Option<f64> {
        match self {
            Param::LrScale => Some(1.0),
            _ => self.field(&mut config.clone()).map(|v| *v),
        }
    }

    /// Sets the parameter to `value` in a preset's `config` (the learning-rate scale multiplies `optimizer.lr`).
    pub fn apply(self, config: &mut TrainConfig, value: f64) -> anyhow::Result<()> {
        if self == Param::LrScale {
            config.optimizer.lr *= value;
            return Ok(());
        }
        let method = config.method.clone();
        let field = self
            .field(config)
            .ok_or_else(|| anyhow::anyhow!("{method} has no {}", self.name()))?;
        *field = value;
        Ok(())
    }

    /// The rung of `value` on the ladder.
    fn rung(self, value: f64) -> Option<usize> {
        self.ladder().iter().position(|&v| v == value)
    }
}

/// The key hyper-parameters of a preset, searched after its learning-rate scale, in order (issue 11 item 1).
pub fn key_parameters(preset: Preset) -> &'static [Param] {
    match preset {
        Preset::Erm | Preset::Rs | Preset::Oltr => &[],
        Preset::MlGcn => &[Param::GcnTau],
        Preset::Rw => &[Param::LossWeight],
        Preset::Focal | Preset::RsFocal | Preset::RsRwFocal => &[Param::FocalGamma],
        Preset::CbFocal | Preset::RsCbFocal => &[Param::CbBeta],
        Preset::Ldam => &[Param::LdamMargin],
        Preset::Asl => &[Param::AslGammaNeg],
        Preset::RBce | Preset::RBceFocal => &[Param::RebalanceMu],
        Preset::NtBce => &[Param::NtrLambda],
        Preset::Db | Preset::DbFocal => &[Param::RebalanceMu, Param::NtrLambda],
    }
}

/// The order of a preset's coordinate search: the learning-rate scale, then its key parameters; a loss
/// weight goes first. The step of SGD is lr · (loss gradient + weight decay · θ), so the learning rate can
/// make up for a small loss only while weight decay stays negligible: RW at its preset scale learns nothing
/// on DebTags-MLT (validation mAP 1.7 at loss weight 1, 28.8 at 10 000; chance is 1.5).
pub fn search_order(preset: Preset) -> Vec<Param> {
    let keys = key_parameters(preset);
    let (first, rest): (Vec<Param>, Vec<Param>) =
        keys.iter().partition(|&&p| p == Param::LossWeight);
    first
        .into_iter()
        .chain(std::iter::once(Param::LrScale))
        .chain(rest)
        .collect()
}

/// One setting of a method's searched parameters; in JSON `{"lr_scale": 10.0, "focal_gamma": 2.0}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Point(BTreeMap<Param, f64>);

impl Point {
    /// The value of `param` (`None` where it is not searched).
    pub fn get(&self, param: Param) -> Option<f64> {
        self.0.get(&param).copied()
    }

    /// `config` (a preset's) with every value of the point set.
    pub fn apply(&self, mut config: TrainConfig) -> anyhow::Result<TrainConfig> {
        for (&param, &value) in &self.0 {
            param.apply(&mut config, value)?;
        }
        Ok(config)
    }

    /// A folder name: `lr_scale10-focal_gamma2`.
    pub fn tag(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(p, v)| format!("{}{v}", p.name()))
            .collect();
        parts.join("-")
    }

    fn with(&self, param: Param, value: f64) -> Point {
        let mut values = self.0.clone();
        values.insert(param, value);
        Point(values)
    }
}

impl From<BTreeMap<Param, f64>> for Point {
    fn from(values: BTreeMap<Param, f64>) -> Self {
        Point(values)
    }
}

/// The length of a validation run: a cheap selection run, or the full length of a final run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Length {
    Cheap,
    Full,
}

/// The search over one parameter's ladder (see the module documentation).
#[derive(Debug, Clone)]
pub struct LadderSearch {
    ladder: &'static [f64],
    start: RangeInclusive<usize>,
    /// Cheap score of each rung, where evaluated.
    scores: Vec<Option<f64>>,
    /// Whether the cheap choice and its neighbours are confirmed at full length.
    confirm: bool,
    /// Full-length score of each rung, where evaluated.
    full: Vec<Option<f64>>,
}

impl LadderSearch {
    /// A search over `ladder` starting from the rungs `start` (non-empty, inside the ladder).
    pub fn new(ladder: &'static [f64], start: RangeInclusive<usize>) -> Self {
        assert!(
            !start.is_empty() && *start.end() < ladder.len(),
            "the start grid {start:?} lies inside a ladder of {} rungs",
            ladder.len()
        );
        LadderSearch {
            ladder,
            start,
            scores: vec![None; ladder.len()],
            confirm: false,
            full: vec![None; ladder.len()],
        }
    }

    /// The same search, ending with the full-length confirmation of its cheap choice and its neighbours.
    pub fn confirmed(mut self) -> Self {
        self.confirm = true;
        self
    }

    /// Records the score of rung `rung` at `length` (NaN counts as −∞).
    pub fn record(&mut self, rung: usize, length: Length, score: f64) {
        let scores = match length {
            Length::Cheap => &mut self.scores,
            Length::Full => &mut self.full,
        };
        scores[rung] = Some(if score.is_nan() {
            f64::NEG_INFINITY
        } else {
            score
        });
    }

    /// The rungs to evaluate next: the start grid's unevaluated rungs; once it is complete, the rung past the
    /// cheap best one while that is an edge of the evaluated range; then, for a confirmed search, the
    /// confirmation rungs at full length; none when the search is done.
    pub fn pending(&self) -> Vec<(usize, Length)> {
        let missing: Vec<(usize, Length)> = self
            .start
            .clone()
            .filter(|&r| self.scores[r].is_none())
            .map(|r| (r, Length::Cheap))
            .collect();
        if !missing.is_empty() {
            return missing;
        }
        let best = self.cheap_best().expect("the start grid is scored");
        let (low, high) = self.evaluated_range();
        if best == low && low > 0 {
            vec![(low - 1, Length::Cheap)]
        } else if best == high && high + 1 < self.ladder.len() {
            vec![(high + 1, Length::Cheap)]
        } else {
            self.confirmation()
                .into_iter()
                .filter(|&r| self.full[r].is_none())
                .map(|r| (r, Length::Full))
                .collect()
        }
    }

    /// The best of `scores` over `rungs`: the highest score, ties to the smaller value.
    fn argmax(scores: &[Option<f64>], rungs: impl Iterator<Item = usize>) -> Option<usize> {
        let mut best: Option<(usize, f64)> = None;
        for rung in rungs {
            if let Some(s) = scores[rung]
                && best.is_none_or(|(_, b)| s > b)
            {
                best = Some((rung, s));
            }
        }
        best.map(|(rung, _)| rung)
    }

    /// The best rung by the cheap runs; `None` before any score.
    pub fn cheap_best(&self) -> Option<usize> {
        Self::argmax(&self.scores, 0..self.ladder.len())
    }

    /// The rungs retrained at full length once the cheap search is done: the cheap best and its evaluated
    /// neighbours (none for a search without confirmation).
    pub fn confirmation(&self) -> Vec<usize> {
        let Some(best) = self.cheap_best().filter(|_| self.confirm) else {
            return Vec::new();
        };
        (best.saturating_sub(1)..=best + 1)
            .filter(|&r| r < self.ladder.len() && self.scores[r].is_some())
            .collect()
    }

    /// The chosen rung: the best of the confirmation rungs by full-length score once they are all scored,
    /// else the cheap best; `None` before any score.
    pub fn best(&self) -> Option<usize> {
        let confirmation = self.confirmation();
        if !confirmation.is_empty() && confirmation.iter().all(|&r| self.full[r].is_some()) {
            return Self::argmax(&self.full, confirmation.into_iter());
        }
        self.cheap_best()
    }

    /// The cheap score of rung `rung`, where evaluated.
    pub fn score(&self, rung: usize) -> Option<f64> {
        self.scores[rung]
    }

    /// The full-length score of rung `rung`, where evaluated for the confirmation.
    pub fn full_score(&self, rung: usize) -> Option<f64> {
        self.full[rung]
    }

    /// Whether the search went past its start grid.
    pub fn extended(&self) -> bool {
        let (low, high) = self.evaluated_range();
        low < *self.start.start() || high > *self.start.end()
    }

    /// The lowest and highest evaluated rungs (the evaluated rungs are contiguous).
    fn evaluated_range(&self) -> (usize, usize) {
        let rungs = || (0..self.ladder.len()).filter(|&r| self.scores[r].is_some());
        (
            rungs().next().unwrap_or(*self.start.start()),
            rungs().next_back().unwrap_or(*self.start.end()),
        )
    }
}

/// One finished (or running) stage of a method's search: one parameter.
#[derive(Debug, Clone)]
pub struct Stage {
    pub param: Param,
    /// The other parameters' values during the stage.
    pub base: Point,
    pub search: LadderSearch,
}

impl Stage {
    /// The evaluated points of the stage with their scores, in ladder order.
    pub fn points(&self) -> Vec<(Point, f64)> {
        let ladder = self.param.ladder();
        (0..ladder.len())
            .filter_map(|r| {
                let score = self.search.score(r)?;
                Some((self.base.with(self.param, ladder[r]), score))
            })
            .collect()
    }

    /// The values retrained at full length for the confirmation (empty without one).
    pub fn confirmed(&self) -> Vec<f64> {
        let ladder = self.param.ladder();
        self.search
            .confirmation()
            .into_iter()
            .map(|r| ladder[r])
            .collect()
    }

    /// The cheap runs' choice (the same as [`Stage::choice`] without a confirmation).
    pub fn cheap_choice(&self) -> Option<f64> {
        self.search.cheap_best().map(|r| self.param.ladder()[r])
    }

    /// The values of the start grid.
    pub fn start(&self) -> Vec<f64> {
        self.param.ladder()[self.search.start.clone()].to_vec()
    }

    /// The chosen value (once the stage has a score).
    pub fn choice(&self) -> Option<f64> {
        self.search.best().map(|r| self.param.ladder()[r])
    }
}

/// The coordinate search of one preset: the learning-rate scale, then each key parameter.
#[derive(Debug, Clone)]
pub struct MethodSearch {
    pub preset: Preset,
    /// Whether the learning rate's cheap choice is confirmed at full length.
    confirm_lr: bool,
    /// The parameters not yet searched, next first.
    waiting: Vec<Param>,
    /// The stages so far; the last one is running unless [`MethodSearch::is_done`].
    stages: Vec<Stage>,
}

impl MethodSearch {
    /// A search of `preset`, with the learning rate's full-length confirmation when `confirm_lr`; an error
    /// when its config lacks a key parameter or the preset's value is not on the ladder.
    pub fn new(preset: Preset, confirm_lr: bool) -> anyhow::Result<Self> {
        let config = preset.config()?;
        let params = search_order(preset);
        let mut base = BTreeMap::new();
        for &p in &params {
            let value = p
                .preset_value(&config)
                .ok_or_else(|| anyhow::anyhow!("{} has no {}", preset.name(), p.name()))?;
            p.rung(value).ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: {} = {value} is not on its ladder {:?}",
                    preset.name(),
                    p.name(),
                    p.ladder()
                )
            })?;
            base.insert(p, value);
        }
        let mut search = MethodSearch {
            preset,
            confirm_lr,
            waiting: params.into_iter().rev().collect(),
            stages: Vec::new(),
        };
        search.begin_stage(Point(base), None);
        search.settle();
        Ok(search)
    }

    /// Starts the search of the next waiting parameter from `incumbent` (every parameter at its current
    /// value), whose score, when known, is the score of the preset's rung.
    fn begin_stage(&mut self, incumbent: Point, score: Option<f64>) {
        let Some(param) = self.waiting.pop() else {
            return;
        };
        let rung = param
            .rung(incumbent.get(param).expect("every parameter has a value"))
            .expect("checked in new");
        let mut search = LadderSearch::new(param.ladder(), param.start(rung));
        if param == Param::LrScale && self.confirm_lr {
            search = search.confirmed();
        }
        if let Some(s) = score {
            search.record(rung, Length::Cheap, s);
        }
        self.stages.push(Stage {
            param,
            base: incumbent,
            search,
        });
    }

    /// While the running stage has nothing left to evaluate and parameters wait, starts the next one from the
    /// running stage's choice.
    fn settle(&mut self) {
        while !self.waiting.is_empty() {
            let stage = self.stages.last().expect("a search has a stage");
            if !stage.search.pending().is_empty() {
                return;
            }
            let best = stage.search.best().expect("a finished stage is scored");
            let chosen = stage.base.with(stage.param, stage.param.ladder()[best]);
            let score = stage.search.score(best);
            self.begin_stage(chosen, score);
        }
    }

    /// The points to evaluate next, with their run lengths (none when done).
    pub fn pending(&self) -> Vec<(Point, Length)> {
        let stage = self.stages.last().expect("a search has a stage");
        let ladder = stage.param.ladder();
        stage
            .search
            .pending()
            .into_iter()
            .map(|(r, length)| (stage.base.with(stage.param, ladder[r]), length))
            .collect()
    }

    /// Records the score of `point` at `length` (one of [`MethodSearch::pending`]), and moves on to the next
    /// parameter when the running one's search is done.
    pub fn record(&mut self, point: &Point, length: Length, score: f64) {
        let stage = self.stages.last_mut().expect("a search has a stage");
        let value = point.get(stage.param).expect("a pending point");
        stage.search.record(
            stage.param.rung(value).expect("a ladder value"),
            length,
            score,
        );
        self.settle();
    }

    /// Whether every parameter has been searched.
    pub fn is_done(&self) -> bool {
        self.pending().is_empty()
    }

    /// The stages, in search order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The chosen point: every parameter at its stage's choice.
    pub fn chosen(&self) -> Point {
        let last = self.stages.last().expect("a search has a stage");
        match last.choice() {
            Some(value) => last.base.with(last.param, value),
            None => last.base.clone(),
        }
    }
}

/// One pending evaluation of a round: the search's index, the point and the run length.
pub type Pending = (usize, Point, Length);

/// Runs `searches` to their ends. Each round collects every search's pending points as one batch of
/// [`Pending`], scores it with `evaluate` (which returns one score per point, in order) and feeds the
/// scores back.
pub fn run_searches(
    searches: &mut [MethodSearch],
    mut evaluate: impl FnMut(&[Pending]) -> anyhow::Result<Vec<f64>>,
) -> anyhow::Result<()> {
    loop {
        let batch: Vec<Pending> = searches
            .iter()
            .enumerate()
            .flat_map(|(m, s)| s.pending().into_iter().map(move |(p, l)| (m, p, l)))
            .collect();
        if batch.is_empty() {
            return Ok(());
        }
        let scores = evaluate(&batch)?;
        assert_eq!(scores.len(), batch.len(), "one score per point");
        for ((m, point, length), score) in batch.iter().zip(scores) {
            searches[*m].record(point, *length, score);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_has_its_key_parameters_on_their_ladders() {
        for &p in Preset::all() {
            let search = MethodSearch::new(p, false).unwrap();
            let config = p.config().unwrap();
            for &k in key_parameters(p) {
                let v = k.preset_value(&config).unwrap();
                assert!(k.ladder().contains(&v), "{p:?} {k:?} {v}");
            }
            // The first stage is the learning-rate scale's grid ×1, ×10, ×100; RW's is its loss weight's,
            // ×1 (the preset) and ×10.
            let (param, grid) = match p {
                Preset::Rw => (Param::LossWeight, vec![1.0, 10.0]),
                _ => (Param::LrScale, vec![1.0, 10.0, 100.0]),
            };
            let first: Vec<f64> = search
                .pending()
                .iter()
                .map(|(pt, length)| {
                    assert_eq!(*length, Length::Cheap);
                    pt.get(param).unwrap()
                })
                .collect();
            assert_eq!(first, grid, "{p:?}");
            let order = search_order(p);
            assert_eq!(order.len(), key_parameters(p).len() + 1);
            assert_eq!(order[0], param);
        }
    }

    #[test]
    fn ladders_increase() {
        for p in [
            Param::LrScale,
            Param::FocalGamma,
            Param::CbBeta,
            Param::LdamMargin,
            Param::AslGammaNeg,
            Param::RebalanceMu,
            Param::RebalanceBeta,
            Param::NtrLambda,
            Param::NtrKappa,
            Param::LossWeight,
            Param::GcnTau,
        ] {
            assert!(p.ladder().windows(2).all(|w| w[0] < w[1]), "{p:?}");
        }
    }

    #[test]
    fn apply_sets_the_fields_and_scales_the_rate() {
        let db = Preset::DbFocal.config().unwrap();
        let mut values = BTreeMap::new();
        values.insert(Param::LrScale, 10.0);
        values.insert(Param::RebalanceMu, 0.3);
        values.insert(Param::NtrLambda, 5.0);
        let c = Point(values).apply(db.clone()).unwrap();
        assert!((c.optimizer.lr - 10.0 * db.optimizer.lr).abs() < 1e-12);
        assert_eq!(Param::RebalanceMu.preset_value(&c), Some(0.3));
        assert_eq!(Param::NtrLambda.preset_value(&c), Some(5.0));
        let mut erm = Preset::Erm.config().unwrap();
        assert!(Param::FocalGamma.apply(&mut erm, 1.0).is_err());
        assert_eq!(Param::CbBeta.preset_value(&erm), None);
    }

    /// Scores of a rung: a peak at `peak` (rung index), lower the farther from it.
    fn peaked(peak: usize) -> impl Fn(usize) -> f64 {
        move |r| -(r as f64 - peak as f64).abs()
    }

    /// Runs a single ladder search on `score`, returning the evaluated rungs in order and the best.
    fn drive(mut s: LadderSearch, score: impl Fn(usize) -> f64) -> (Vec<usize>, usize) {
        let mut order = Vec::new();
        loop {
            let next = s.pending();
            if next.is_empty() {
                return (order, s.best().unwrap());
            }
            for (r, length) in next {
                assert_eq!(length, Length::Cheap, "no confirmation");
                order.push(r);
                s.record(r, length, score(r));
            }
        }
    }

    #[test]
    fn the_grid_extends_past_an_edge_until_the_best_is_inside() {
        // Ladder of 7 rungs, start 2..=4, optimum at rung 6: extends to 5 (best on the edge again), then 6 (the
        // ladder's end stops it).
        static LADDER: [f64; 7] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0];
        let s = LadderSearch::new(&LADDER, 2..=4);
        assert_eq!(drive(s.clone(), peaked(6)), (vec![2, 3, 4, 5, 6], 6));
        // Optimum at 5: extends to 5, then 6 scores lower and the best is inside.
        assert_eq!(drive(s.clone(), peaked(5)), (vec![2, 3, 4, 5, 6], 5));
        // Optimum inside the start grid: no extension.
        let mut inside = s.clone();
        for r in 2..=4 {
            inside.record(r, Length::Cheap, peaked(3)(r));
        }
        assert!(inside.pending().is_empty() && !inside.extended());
        // Optimum below: extends downwards to the ladder's start.
        assert_eq!(drive(s.clone(), peaked(0)), (vec![2, 3, 4, 1, 0], 0));
        // Ties go to the smaller value; a failed point (NaN) counts as −∞.
        let (_, best) = drive(s.clone(), |r| if r == 2 { f64::NAN } else { 1.0 });
        assert_eq!(best, 3);
        let mut ext = s;
        for r in 2..=4 {
            ext.record(r, Length::Cheap, peaked(6)(r));
        }
        assert_eq!(ext.pending(), vec![(5, Length::Cheap)]);
        ext.record(5, Length::Cheap, 0.0);
        assert!(ext.extended());
    }

    #[test]
    fn method_searches_run_stage_after_stage_and_reuse_the_incumbent() {
        // A fake validation mAP: best at lr ×1000 (past the start grid's ×100; ×10 000 is tried), μ best at
        // 0.5 (the ladder's end, past the start 0.1..0.3), λ best at 2 (the preset's value). Focal γ best at 3.
        let score = |p: &Point| {
            let lr = p.get(Param::LrScale).unwrap().log10();
            let mut s = -(lr - 3.0).abs();
            if let Some(mu) = p.get(Param::RebalanceMu) {
                s -= (mu - 0.5).abs();
            }
            if let Some(l) = p.get(Param::NtrLambda) {
                s -= (l - 2.0).abs();
            }
            if let Some(g) = p.get(Param::FocalGamma) {
                s -= (g - 3.0).abs();
            }
            s
        };
        let mut searches = vec![
            MethodSearch::new(Preset::DbFocal, true).unwrap(),
            MethodSearch::new(Preset::Focal, true).unwrap(),
            MethodSearch::new(Preset::Erm, true).unwrap(),
        ];
        let mut batches = Vec::new();
        run_searches(&mut searches, |batch| {
            batches.push(batch.len());
            Ok(batch.iter().map(|(_, p, _)| score(p)).collect())
        })
        .unwrap();
        // Round 1: 3 × 3 lr points; round 2: ×1000 for each; round 3: ×10 000 for each; round 4: the
        // confirmation of ×100, ×1000 and ×10 000 at full length for each; then DB-Focal's μ (0.1, 0.3 new: 0.2
        // is the incumbent) with Focal's γ (1, 3 new); then μ 0.5 with γ 5 (γ 3 is the best on the edge); then
        // λ (1, 5).
        assert_eq!(batches, vec![9, 3, 3, 9, 4, 2, 2]);
        let db = &searches[0];
        let chosen = db.chosen();
        assert_eq!(chosen.get(Param::LrScale), Some(1000.0));
        assert_eq!(chosen.get(Param::RebalanceMu), Some(0.5));
        assert_eq!(chosen.get(Param::NtrLambda), Some(2.0));
        let stages = db.stages();
        assert_eq!(stages.len(), 3);
        assert!(stages[0].search.extended() && stages[1].search.extended());
        assert!(!stages[2].search.extended());
        assert_eq!(stages[1].start(), vec![0.1, 0.2, 0.3]);
        assert_eq!(stages[1].points().len(), 4);
        // λ's stage ran at the chosen lr and μ.
        assert!(stages[2].points().iter().all(|(p, _)| {
            p.get(Param::LrScale) == Some(1000.0) && p.get(Param::RebalanceMu) == Some(0.5)
        }));
        assert_eq!(searches[1].chosen().get(Param::FocalGamma), Some(3.0));
        assert_eq!(searches[2].stages().len(), 1);
        assert!(searches.iter().all(MethodSearch::is_done));
        assert_eq!(stages[0].confirmed(), vec![100.0, 1000.0, 10_000.0]);
        assert!(stages[1].confirmed().is_empty());
    }

    #[test]
    fn the_learning_rate_is_confirmed_at_full_length() {
        // Cheap runs peak at ×1000, full-length runs at ×100 (the short-horizon bias): the confirmation of
        // ×100, ×1000 and ×10 000 at full length chooses ×100, and γ is then searched at ×100.
        let mut searches = vec![MethodSearch::new(Preset::Focal, true).unwrap()];
        let mut full_points = Vec::new();
        run_searches(&mut searches, |batch| {
            Ok(batch
                .iter()
                .map(|(_, p, length)| {
                    let lr = p.get(Param::LrScale).unwrap().log10();
                    let peak = match length {
                        Length::Cheap => 3.0,
                        Length::Full => {
                            full_points.push(p.clone());
                            2.0
                        }
                    };
                    -(lr - peak).abs() - (p.get(Param::FocalGamma).unwrap() - 2.0).abs()
                })
                .collect())
        })
        .unwrap();
        let focal = &searches[0];
        let lr = &focal.stages()[0];
        assert_eq!(lr.cheap_choice(), Some(1000.0));
        assert_eq!(lr.choice(), Some(100.0));
        assert_eq!(lr.search.full_score(4), Some(-1.0));
        let full_lrs: Vec<f64> = full_points
            .iter()
            .map(|p| p.get(Param::LrScale).unwrap())
            .collect();
        assert_eq!(full_lrs, vec![100.0, 1000.0, 10_000.0]);
        assert!(
            focal.stages()[1]
                .points()
                .iter()
                .all(|(p, _)| p.get(Param::LrScale) == Some(100.0))
        );
        assert_eq!(focal.chosen().get(Param::LrScale), Some(100.0));
        assert_eq!(focal.chosen().get(Param::FocalGamma), Some(2.0));
        // Without the confirmation (the default) nothing trains at full length and the cheap choice stands.
        let mut plain = vec![MethodSearch::new(Preset::Focal, false).unwrap()];
        run_searches(&mut plain, |batch| {
            Ok(batch
                .iter()
                .map(|(_, p, length)| {
                    assert_eq!(*length, Length::Cheap);
                    -(p.get(Param::LrScale).unwrap().log10() - 3.0).abs()
                })
                .collect())
        })
        .unwrap();
        assert_eq!(plain[0].chosen().get(Param::LrScale), Some(1000.0));
        assert!(plain[0].stages()[0].confirmed().is_empty());
    }
}
