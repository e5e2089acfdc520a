//! How good are the cheap selection runs? (issue 11 item 2)
//!
//! With `--check-selection` every validation point is also trained at full length. For each method and each
//! searched parameter (one stage of the coordinate search), the search's choice (by the cheap runs'
//! validation mAP, and for the learning rate by the full-length confirmation of the cheap choice and its
//! neighbours) is compared with the full-length choice, the best of the same points by the full-length runs'
//! validation mAP (ties to the smaller value, as the search). They agree when they are the same value; the
//! validation mAP the search's choice loses is full-length mAP(full choice) − full-length mAP(its choice) ≥ 0.
//! `cheap_choice` keeps the cheap runs' own choice, to show what the confirmation changed.
//! The check compares choices among the points the cheap search visited: a full-length search could have
//! extended its grid elsewhere.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::tuning::Param;
use crate::validation::{MethodTuning, StageRecord};

/// One stage: the two choices.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCheck {
    pub method: String,
    pub param: Param,
    /// The cheap runs' choice, before any confirmation.
    pub cheap_choice: f64,
    /// The search's choice.
    pub choice: f64,
    pub full_choice: f64,
    /// Whether the search's choice is the full-length one.
    pub agree: bool,
    /// Full-length validation mAP lost by taking the search's choice; `None` when its full-length run failed.
    pub map_lost: Option<f64>,
}

/// How many stages agree.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Agreement {
    pub agreed: usize,
    pub stages: usize,
}

impl Agreement {
    fn add(&mut self, agree: bool) {
        self.agreed += usize::from(agree);
        self.stages += 1;
    }
}

/// The selection check of one dataset.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SelectionCheck {
    /// Over every method and parameter.
    pub overall: Agreement,
    /// `agreed / stages`.
    pub agreement: f64,
    /// Mean and largest full-length validation mAP lost, over the stages whose cheap choice trained at full
    /// length.
    pub mean_map_lost: f64,
    pub max_map_lost: f64,
    pub per_param: BTreeMap<Param, Agreement>,
    pub stages: Vec<StageCheck>,
}

/// The full-length choice of a stage: the point with the best full-length validation mAP, ties to the smaller
/// value (points are in ladder order); failed runs score −∞. `None` without full-length runs.
fn full_choice(stage: &StageRecord) -> Option<(f64, f64)> {
    let mut best: Option<(f64, f64)> = None;
    for p in &stage.points {
        let score = p.full.as_ref()?.score();
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((p.values.get(stage.param)?, score));
        }
    }
    best
}

/// The check over `tunings` (see the module documentation); `None` when the points have no full-length runs.
pub fn selection_check(tunings: &[MethodTuning]) -> Option<SelectionCheck> {
    let mut stages = Vec::new();
    for t in tunings {
        for stage in &t.stages {
            let (full_choice, best) = full_choice(stage)?;
            let cheap_full = stage
                .points
                .iter()
                .find(|p| p.values.get(stage.param) == Some(stage.choice))
                .and_then(|p| p.full.as_ref()?.validation_map);
            stages.push(StageCheck {
                method: t.method.name(),
                param: stage.param,
                cheap_choice: stage.cheap_choice,
                choice: stage.choice,
                full_choice,
                agree: full_choice == stage.choice,
                map_lost: cheap_full.map(|m| best - m),
            });
        }
    }
    let mut overall = Agreement::default();
    let mut per_param: BTreeMap<Param, Agreement> = BTreeMap::new();
    for s in &stages {
        overall.add(s.agree);
        per_param.entry(s.param).or_default().add(s.agree);
    }
    let lost: Vec<f64> = stages.iter().filter_map(|s| s.map_lost).collect();
    Some(SelectionCheck {
        overall,
        agreement: overall.agreed as f64 / overall.stages.max(1) as f64,
        mean_map_lost: lost.iter().sum::<f64>() / lost.len().max(1) as f64,
        max_map_lost: lost.iter().copied().fold(0.0, f64::max),
        per_param,
        stages,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::Preset;
    use crate::tuning::Point;
    use crate::validation::{PointRecord, Trial};

    fn trial(map: Option<f64>) -> Trial {
        Trial {
            validation_map: map,
            iterations: 10,
            error: None,
        }
    }

    fn point(param: Param, value: f64, cheap: f64, full: Option<f64>) -> PointRecord {
        let values: BTreeMap<Param, f64> = [(param, value)].into();
        PointRecord {
            values: Point::from(values),
            cheap: trial(Some(cheap)),
            full: Some(trial(full)),
        }
    }

    fn stage(param: Param, choice: f64, points: Vec<PointRecord>) -> StageRecord {
        StageRecord {
            param,
            start: vec![],
            extended: false,
            cheap_choice: choice,
            confirmed: vec![],
            choice,
            points,
        }
    }

    #[test]
    fn agreement_and_lost_map_by_hand() {
        // lr: cheap picks 10 (0.5 > 0.4 > 0.3); full length prefers 100 (0.62 > 0.60): disagree, lost 0.02.
        // γ: cheap picks 2, full length too (1 failed at full length): agree, lost 0.
        let lr = stage(
            Param::LrScale,
            10.0,
            vec![
                point(Param::LrScale, 1.0, 0.3, Some(0.55)),
                point(Param::LrScale, 10.0, 0.5, Some(0.60)),
                point(Param::LrScale, 100.0, 0.4, Some(0.62)),
            ],
        );
        let gamma = stage(
            Param::FocalGamma,
            2.0,
            vec![
                point(Param::FocalGamma, 1.0, 0.1, None),
                point(Param::FocalGamma, 2.0, 0.6, Some(0.61)),
                point(Param::FocalGamma, 3.0, 0.5, Some(0.58)),
            ],
        );
        let tuning = MethodTuning {
            method: Preset::Focal,
            chosen: Point::from(BTreeMap::new()),
            lr: 0.2,
            stages: vec![lr, gamma],
        };
        let c = selection_check(std::slice::from_ref(&tuning)).unwrap();
        assert_eq!(
            c.overall,
            Agreement {
                agreed: 1,
                stages: 2
            }
        );
        assert_eq!(c.agreement, 0.5);
        assert_eq!(c.stages[0].full_choice, 100.0);
        assert!(!c.stages[0].agree);
        assert!((c.stages[0].map_lost.unwrap() - 0.02).abs() < 1e-12);
        assert!(c.stages[1].agree && c.stages[1].map_lost == Some(0.0));
        assert!((c.mean_map_lost - 0.01).abs() < 1e-12 && (c.max_map_lost - 0.02).abs() < 1e-12);
        assert_eq!(
            c.per_param[&Param::FocalGamma],
            Agreement {
                agreed: 1,
                stages: 1
            }
        );
        // Without full-length runs there is no check.
        let mut cheap_only = tuning;
        for s in &mut cheap_only.stages {
            for p in &mut s.points {
                p.full = None;
            }
        }
        assert_eq!(selection_check(&[cheap_only]), None);
    }
}
