//! The bits of every float parameter and buffer of a head, for bit-identity checks of resumed runs.

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;
use mllt_nn::model::Head;

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
