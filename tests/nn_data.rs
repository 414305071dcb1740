//! Initializers' statistics, data sets, the IDX reader, and L-BFGS training
//! the digits classifier through `minimize`.

use std::io::Write;

use hesse::nn::{Activation, BiasInit, Dataset, Init, Loss, Mlp, NnError, read_idx};
use hesse::prelude::*;
use nalgebra::DMatrix;

fn moments(w: &[f64]) -> (f64, f64) {
    let n = w.len() as f64;
    let mean = w.iter().sum::<f64>() / n;
    let var = w.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var)
}

#[test]
fn initializers_have_their_variances() {
    // One 300 x 400 layer (fan-in m = 400, fan-out n = 300): 120 000 weights,
    // so the sample variance is within ~1% of the true one.
    let mlp = Mlp::new(&[400, 300], Activation::Tanh, Loss::MeanSquaredError).unwrap();
    let cases = [
        (Init::Uniform, 1.0 / (3.0 * 400.0)),
        (Init::Glorot, 2.0 / 700.0),
        (Init::He, 2.0 / 400.0),
    ];
    for (init, want) in cases {
        let want: f64 = want;
        let p = mlp.init(init, 9);
        let (mean, var) = moments(&p[mlp.weights_range(0).0]);
        assert!(mean.abs() < 0.01 * want.sqrt(), "{init:?}: mean {mean}");
        assert!(
            (var / want - 1.0).abs() < 0.03,
            "{init:?}: var {var}, want {want}"
        );
    }
    let glorot = mlp.init(Init::Glorot, 9);
    let bound = 6f64.sqrt() / 700f64.sqrt();
    assert!(mlp.weights(&glorot, 0).iter().all(|w| w.abs() <= bound));
    assert!(mlp.bias(&glorot, 0).iter().all(|&b| b == 0.0));
}

#[test]
fn orthogonal_init_is_orthogonal_times_gain() {
    let mlp = Mlp::new(&[50, 80, 30], Activation::Tanh, Loss::MeanSquaredError).unwrap();
    let gain = 1.7;
    let p = mlp.init(Init::Orthogonal { gain }, 4);
    let w1 = mlp.weights(&p, 0).into_owned(); // 80 x 50: orthonormal columns
    let w2 = mlp.weights(&p, 1).into_owned(); // 30 x 80: orthonormal rows
    let e1 = (w1.transpose() * &w1 - DMatrix::identity(50, 50) * gain * gain)
        .abs()
        .max();
    let e2 = (&w2 * w2.transpose() - DMatrix::identity(30, 30) * gain * gain)
        .abs()
        .max();
    assert!(e1 < 1e-12 && e2 < 1e-12, "{e1:.1e} {e2:.1e}");
    assert_ne!(p, mlp.init(Init::Orthogonal { gain }, 5));
}

#[test]
fn sparse_init_has_k_nonzero_incoming_weights_per_unit() {
    let mlp = Mlp::new(&[64, 40, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy).unwrap();
    let p = mlp.init(Init::Sparse { k: 15 }, 2);
    let w = mlp.weights(&p, 0);
    for i in 0..40 {
        assert_eq!(w.row(i).iter().filter(|&&x| x != 0.0).count(), 15);
    }
    let (_, var) = moments(&w.iter().copied().filter(|&x| x != 0.0).collect::<Vec<_>>());
    assert!((var - 1.0).abs() < 0.15, "var {var}");
    // Fan-in 40 >= 15 on the second layer too; a fan-in below k keeps all.
    let small = Mlp::new(&[4, 3], Activation::Tanh, Loss::MeanSquaredError).unwrap();
    let q = small.init(Init::Sparse { k: 15 }, 2);
    assert!(small.weights(&q, 0).iter().all(|&x| x != 0.0));
}

#[test]
fn bias_options() {
    let mlp = Mlp::new(&[5, 8, 3], Activation::Relu, Loss::SoftmaxCrossEntropy).unwrap();
    let p = mlp.init_with(Init::He, BiasInit::Hidden(0.1), 1);
    assert!(mlp.bias(&p, 0).iter().all(|&b| b == 0.1));
    assert!(mlp.bias(&p, 1).iter().all(|&b| b == 0.0));
    // Output bias from class frequencies: softmax(b) = frequencies.
    let labels = [0, 0, 0, 1, 2, 2];
    let data = Dataset::from_labels(5, vec![0.0; 30], &labels, 3).unwrap();
    let mut q = p.clone();
    mlp.set_output_bias_from_data(&mut q, &data).unwrap();
    let b = mlp.bias(&q, 1);
    let z: f64 = b.iter().map(|v| v.exp()).sum();
    let freq: Vec<f64> = b.iter().map(|v| v.exp() / z).collect();
    for (f, want) in freq.iter().zip([0.5, 1.0 / 6.0, 1.0 / 3.0]) {
        assert!((f - want).abs() < 1e-12);
    }
}

#[test]
fn digits_are_embedded_with_their_class_counts() {
    let d = Dataset::digits().unwrap();
    assert_eq!((d.len(), d.dim(), d.target_dim()), (1797, 64, 10));
    let mut counts = [0; 10];
    d.labels().iter().for_each(|&c| counts[c] += 1);
    assert_eq!(counts, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    assert!(d.inputs().iter().all(|&x| (0.0..=1.0).contains(&x)));
    // The first row of the file: label 0, pixels 0,0,5,13,...
    assert_eq!(d.labels()[0], 0);
    assert_eq!(d.input(0)[2], 5.0 / 16.0);
}

#[test]
fn batches_split_and_standardize() {
    let d = Dataset::two_spirals(25, 0.05, 3).unwrap();
    assert_eq!(d.len(), 50);
    let mut batches = d.batches(8, 1).unwrap();
    let e1: Vec<usize> = batches.epoch().flatten().copied().collect();
    let e2: Vec<usize> = batches.epoch().flatten().copied().collect();
    assert_ne!(e1, e2);
    for e in [&e1, &e2] {
        let mut s = e.clone();
        s.sort_unstable();
        assert_eq!(s, (0..50).collect::<Vec<_>>());
    }
    let again: Vec<usize> = d
        .batches(8, 1)
        .unwrap()
        .epoch()
        .flatten()
        .copied()
        .collect();
    assert_eq!(again, e1);
    assert!(d.batches(0, 1).is_err());

    let (mut train, mut val) = d.split(0.2, 7).unwrap();
    assert_eq!((train.len(), val.len()), (40, 10));
    let (mean, std) = train.input_moments();
    train.standardize(&mean, &std).unwrap();
    val.standardize(&mean, &std).unwrap();
    let (m2, s2) = train.input_moments();
    assert!(m2.iter().all(|m| m.abs() < 1e-12));
    assert!(s2.iter().all(|s| (s - 1.0).abs() < 1e-12));
    assert!(train.standardize(&mean[..1], &std).is_err());
    assert!(d.split(1.0, 0).is_err());
}

#[test]
fn teacher_network_is_matched_by_its_own_parameters() {
    let sizes = [4, 6, 2];
    let data = Dataset::teacher(30, &sizes, 0.0, 5).unwrap();
    let student = Mlp::new(&sizes, Activation::Tanh, Loss::MeanSquaredError).unwrap();
    let problem = student.problem(&data).unwrap();
    assert!(problem.value(&student.init(Init::Glorot, 5)) < 1e-28);
    assert!(problem.value(&student.init(Init::Glorot, 6)) > 1e-3);
}

fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn idx_reader_reads_plain_and_gzipped_files_and_names_bad_ones() {
    let dir = std::env::temp_dir().join(format!("hesse-idx-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pixels: Vec<u8> = (0..3 * 2 * 2).map(|i| (i * 20) as u8).collect();
    let images = idx_bytes(&[3, 2, 2], &pixels);
    let labels = idx_bytes(&[3], &[7, 0, 9]);
    std::fs::write(dir.join("img"), &images).unwrap();
    std::fs::write(dir.join("img.gz"), gz(&images)).unwrap();
    std::fs::write(dir.join("lab.gz"), gz(&labels)).unwrap();
    for name in ["img", "img.gz"] {
        let idx = read_idx(dir.join(name)).unwrap();
        assert_eq!(idx.dims, [3, 2, 2]);
        assert_eq!(idx.data, pixels);
    }
    let d = Dataset::from_idx(dir.join("img.gz"), dir.join("lab.gz")).unwrap();
    assert_eq!((d.len(), d.dim()), (3, 4));
    assert_eq!(d.labels(), [7, 0, 9]);
    assert_eq!(d.input(1)[0], 80.0 / 255.0);

    // Missing, truncated, wrong magic, wrong type, mismatched label count.
    let err = read_idx(dir.join("nope")).unwrap_err();
    assert!(matches!(err, NnError::Io { .. }) && err.to_string().contains("nope"));
    std::fs::write(dir.join("short"), &images[..images.len() - 1]).unwrap();
    let err = read_idx(dir.join("short")).unwrap_err().to_string();
    assert!(
        err.contains("short") && err.contains("need 12 data bytes"),
        "{err}"
    );
    std::fs::write(dir.join("magic"), b"PK\x03\x04rest").unwrap();
    assert!(
        read_idx(dir.join("magic"))
            .unwrap_err()
            .to_string()
            .contains("not an IDX file")
    );
    let mut float = images.clone();
    float[2] = 0x0d;
    std::fs::write(dir.join("float"), &float).unwrap();
    assert!(
        read_idx(dir.join("float"))
            .unwrap_err()
            .to_string()
            .contains("0x0d")
    );
    std::fs::write(dir.join("lab2"), idx_bytes(&[2], &[1, 2])).unwrap();
    let err = Dataset::from_idx(dir.join("img"), dir.join("lab2"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("lab2"), "{err}");
    std::fs::write(dir.join("badgz.gz"), &gz(&images)[..20]).unwrap();
    assert!(
        read_idx(dir.join("badgz.gz"))
            .unwrap_err()
            .to_string()
            .contains("badgz")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn vendored_mnist_reads_with_its_published_counts() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/mnist");
    let (train, test) = Dataset::mnist(dir).unwrap();
    assert_eq!((train.len(), test.len(), train.dim()), (60000, 10000, 784));
    assert_eq!(train.labels()[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(test.labels()[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    let mut counts = [0; 10];
    test.labels().iter().for_each(|&c| counts[c] += 1);
    assert_eq!(
        counts,
        [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    );
}

#[test]
fn lbfgs_trains_the_digits_classifier_to_95_percent_held_out() {
    // As examples/train_digits_lbfgs.rs: 64-32-10 tanh, softmax cross-entropy,
    // weight decay 1e-3, seeded 75/25 split, L-BFGS through `minimize`.
    let (mut train, mut test) = Dataset::digits().unwrap().split(0.25, 0).unwrap();
    let (mean, std) = train.input_moments();
    train.standardize(&mean, &std).unwrap();
    test.standardize(&mean, &std).unwrap();
    let mlp = Mlp::new(&[64, 32, 10], Activation::Tanh, Loss::SoftmaxCrossEntropy)
        .unwrap()
        .with_weight_decay(1e-3)
        .unwrap();
    let mut x0 = mlp.init(Init::Glorot, 1);
    mlp.set_output_bias_from_data(&mut x0, &train).unwrap();
    let problem = mlp.problem(&train).unwrap();
    let report = Lbfgs::default()
        .with_gtol(1e-5)
        .with_max_iter(400)
        .minimize(&problem, &x0)
        .unwrap();
    let acc = mlp.accuracy(&report.x, &test, None).unwrap();
    assert!(acc >= 0.95, "held-out accuracy {acc}");
    assert!(report.evals.g <= 400, "{} gradients", report.evals.g);
}
