//! What the head-training tests share: their synthetic feature folder, and the bits of every float parameter
//! and buffer of a head, for bit-identity checks of resumed runs.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use mllt_nn::features::SyntheticSpec;
use mllt_nn::model::Head;

/// Six classes, 300 training and 120 test items of 16-d features, a long tail.
pub const SPEC: SyntheticSpec = SyntheticSpec {
    classes: 6,
    train: 300,
    test: 120,
    dim: 16,
    tail: 1.2,
    noise: 1.0,
    seed: 5,
};

/// Every float parameter and buffer of the head, flattened, with its bits.
pub fn weights(model: &Head) -> Vec<u32> {
    struct Bits(Vec<u32>);
    impl ModuleVisitor for Bits {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let v = param.val().into_data().try_into_vec_as::<f32>().unwrap();
            self.0.extend(v.iter().map(|x| x.to_bits()));
        }
    }
    let mut bits = Bits(Vec::new());
    model.visit(&mut bits);
    bits.0
}
