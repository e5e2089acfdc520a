//! The method presets: the rows of the paper's Tables 1–2 (and ASL), one TOML under `configs/` each, embedded.

use mllt_nn::train::TrainConfig;

/// A method preset: one TOML under `configs/`, embedded in the library. The command-line names are clap's
/// kebab-case of the variants (`rs-cb-focal`). The order is the rows of the paper's Table 1, then Table 2's
/// two combinations that Table 1 lacks, then NT-BCE (§4.4) and ASL (not in the paper).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Preset {
    Erm,
    Rw,
    Focal,
    Rs,
    RsFocal,
    #[value(name = "ml-gcn")]
    MlGcn,
    Oltr,
    Ldam,
    CbFocal,
    RBce,
    RBceFocal,
    Db,
    DbFocal,
    RsRwFocal,
    RsCbFocal,
    NtBce,
    Asl,
}

/// The rows of the paper's Table 1, in its order.
pub const TABLE_1: [Preset; 13] = [
    Preset::Erm,
    Preset::Rw,
    Preset::Focal,
    Preset::Rs,
    Preset::RsFocal,
    Preset::MlGcn,
    Preset::Oltr,
    Preset::Ldam,
    Preset::CbFocal,
    Preset::RBce,
    Preset::RBceFocal,
    Preset::Db,
    Preset::DbFocal,
];

/// The rows of the paper's Table 2, in its order: class-aware re-sampling combined with re-weighting (RS,
/// RS-Focal, RS+RW-Focal, RS+CB-Focal, R-BCE-Focal).
pub const TABLE_2: [Preset; 5] = [
    Preset::Rs,
    Preset::RsFocal,
    Preset::RsRwFocal,
    Preset::RsCbFocal,
    Preset::RBceFocal,
];

impl Preset {
    /// Every preset, in the order of the table.
    pub fn all() -> &'static [Preset] {
        <Preset as clap::ValueEnum>::value_variants()
    }

    /// The preset's TOML text.
    pub fn toml(self) -> &'static str {
        match self {
            Preset::Erm => include_str!("../../../configs/erm.toml"),
            Preset::Rw => include_str!("../../../configs/rw.toml"),
            Preset::Focal => include_str!("../../../configs/focal.toml"),
            Preset::Rs => include_str!("../../../configs/rs.toml"),
            Preset::RsFocal => include_str!("../../../configs/rs-focal.toml"),
            Preset::CbFocal => include_str!("../../../configs/cb-focal.toml"),
            Preset::RsCbFocal => include_str!("../../../configs/rs-cb-focal.toml"),
            Preset::RsRwFocal => include_str!("../../../configs/rs-rw-focal.toml"),
            Preset::Ldam => include_str!("../../../configs/ldam.toml"),
            Preset::RBce => include_str!("../../../configs/r-bce.toml"),
            Preset::RBceFocal => include_str!("../../../configs/r-bce-focal.toml"),
            Preset::NtBce => include_str!("../../../configs/nt-bce.toml"),
            Preset::Db => include_str!("../../../configs/db.toml"),
            Preset::DbFocal => include_str!("../../../configs/db-focal.toml"),
            Preset::Asl => include_str!("../../../configs/asl.toml"),
            Preset::MlGcn => include_str!("../../../configs/ml-gcn.toml"),
            Preset::Oltr => include_str!("../../../configs/oltr.toml"),
        }
    }

    /// The preset's command-line name (`rs-cb-focal`).
    pub fn name(self) -> String {
        clap::ValueEnum::to_possible_value(&self)
            .expect("no skipped variants")
            .get_name()
            .to_string()
    }

    /// The parsed configuration.
    pub fn config(self) -> anyhow::Result<TrainConfig> {
        Ok(TrainConfig::from_toml(
            self.toml(),
            &format!("preset {}", self.name()),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_names_itself() {
        assert_eq!(Preset::all().len(), 17);
        assert_eq!(
            &Preset::all()[..13],
            &TABLE_1,
            "Table 1 comes first, in its order"
        );
        for p in Preset::all() {
            let c = p.config().unwrap();
            assert_eq!(c.method, p.name(), "{p:?}");
        }
    }
}
