//! Index and length contracts of the public API (issue 18, item 8): an index
//! out of range or buffers of mismatched lengths panic with a message naming
//! both numbers, as the `# Panics` sections say, and never truncate silently.

use hesse::linesearch::ProblemLine;
use hesse::natural::KfacEstimator;
use hesse::nn::{Activation, Dataset, Loss, Mlp};
use hesse::problem::FnGradient;

fn mlp() -> Mlp {
    Mlp::new(&[2, 3, 1], Activation::Tanh, Loss::MeanSquaredError).unwrap()
}

#[test]
#[should_panic(expected = "layer index 2 out of range: the network has 2 layers")]
fn mlp_weights_of_a_layer_that_does_not_exist() {
    let mlp = mlp();
    let params = vec![0.0; mlp.num_params()];
    let _ = mlp.weights(&params, 2);
}

#[test]
#[should_panic(expected = "layer index 5 out of range")]
fn mlp_bias_of_a_layer_that_does_not_exist() {
    let mlp = mlp();
    let params = vec![0.0; mlp.num_params()];
    let _ = mlp.bias(&params, 5);
}

#[test]
#[should_panic(expected = "layer index 2 out of range")]
fn mlp_weights_range_of_a_layer_that_does_not_exist() {
    let _ = mlp().weights_range(2);
}

#[test]
#[should_panic(expected = "layer index 3 out of range")]
fn mlp_bias_range_of_a_layer_that_does_not_exist() {
    let _ = mlp().bias_range(3);
}

#[test]
#[should_panic(expected = "params has 5 entries, the network has 13 parameters")]
fn mlp_weights_of_a_short_parameter_vector() {
    let mlp = mlp();
    assert_eq!(mlp.num_params(), 13);
    let _ = mlp.weights(&[0.0; 5], 0);
}

#[test]
fn mlp_accessors_in_range_give_the_layer() {
    let mlp = mlp();
    let params: Vec<f64> = (0..mlp.num_params()).map(|i| i as f64).collect();
    assert_eq!(mlp.weights(&params, 1).shape(), (1, 3));
    assert_eq!(mlp.bias(&params, 1), &[12.0]);
}

#[test]
#[should_panic(expected = "example index 2 out of range: the data set has 2 examples")]
fn dataset_input_out_of_range() {
    let d = Dataset::new(2, 1, vec![0.0, 1.0, 2.0, 3.0], vec![5.0, 6.0]).unwrap();
    let _ = d.input(2);
}

#[test]
#[should_panic(expected = "example index 7 out of range")]
fn dataset_target_out_of_range() {
    let d = Dataset::new(2, 1, vec![0.0, 1.0, 2.0, 3.0], vec![5.0, 6.0]).unwrap();
    let _ = d.target(7);
}

#[test]
#[should_panic(expected = "k = 0")]
fn kfac_output_vectors_with_no_outputs() {
    let _ = KfacEstimator::Exact.output_vectors(Loss::SoftmaxCrossEntropy, 0, &[0.5, 0.5], 0);
}

#[test]
#[should_panic(expected = "k = 2, p.len() = 3")]
fn kfac_output_vectors_with_a_partial_column() {
    let _ = KfacEstimator::Sampled.output_vectors(Loss::SoftmaxCrossEntropy, 2, &[0.5; 3], 0);
}

#[test]
#[should_panic(expected = "must have one length; got 2, 2, 1, 2")]
fn problem_line_with_a_short_trial_buffer_does_not_truncate() {
    let problem = FnGradient::new(2, |x: &[f64], g: &mut [f64]| {
        g.copy_from_slice(x);
        0.5 * (x[0] * x[0] + x[1] * x[1])
    });
    let (x, d) = ([1.0, 2.0], [-1.0, -2.0]);
    let (mut x_trial, mut g_trial) = ([0.0; 1], [0.0; 2]);
    let _ = ProblemLine::new(&problem, &x, &d, &mut x_trial, &mut g_trial);
}
