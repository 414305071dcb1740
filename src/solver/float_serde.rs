//! Serde for `f64` that round-trips NaN and ±∞, which JSON numbers cannot
//! hold: finite values are plain numbers (exact with serde_json's
//! `float_roundtrip`), non-finite ones the strings `"NaN"`, `"inf"`, `"-inf"`.
//!
//! Use as `#[serde(with = "crate::solver::float_serde")]` on an `f64` field or
//! `#[serde(with = "crate::solver::float_serde::vec")]` on a `Vec<f64>`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr<'a> {
    Num(f64),
    Str(std::borrow::Cow<'a, str>),
}

fn to_repr(v: f64) -> Repr<'static> {
    if v.is_finite() {
        Repr::Num(v)
    } else if v.is_nan() {
        Repr::Str("NaN".into())
    } else if v > 0.0 {
        Repr::Str("inf".into())
    } else {
        Repr::Str("-inf".into())
    }
}

fn from_repr<E: serde::de::Error>(r: Repr<'_>) -> Result<f64, E> {
    match r {
        Repr::Num(v) => Ok(v),
        Repr::Str(s) => match &*s {
            "NaN" => Ok(f64::NAN),
            "inf" => Ok(f64::INFINITY),
            "-inf" => Ok(f64::NEG_INFINITY),
            other => Err(E::custom(format!(
                "expected a number, NaN, inf or -inf, found {other:?}"
            ))),
        },
    }
}

/// Serializes one `f64`.
pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    to_repr(*v).serialize(s)
}

/// Deserializes one `f64`.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    from_repr(Repr::deserialize(d)?)
}

/// The same for `Vec<f64>`.
pub mod vec {
    use super::*;

    /// Serializes a vector.
    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(v.len()))?;
        for &x in v {
            seq.serialize_element(&to_repr(x))?;
        }
        seq.end()
    }

    /// Deserializes a vector.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Vec::<Repr<'de>>::deserialize(d)?
            .into_iter()
            .map(from_repr)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[derive(serde::Serialize, serde::Deserialize, Debug)]
    struct T {
        #[serde(with = "super")]
        a: f64,
        #[serde(with = "super::vec")]
        v: Vec<f64>,
    }

    #[test]
    fn round_trips_every_bit() {
        let t = T {
            a: f64::NAN,
            v: vec![
                0.1 + 0.2,
                f64::INFINITY,
                f64::NEG_INFINITY,
                1e-310,
                -0.0,
                f64::MAX,
            ],
        };
        let s = serde_json::to_string(&t).unwrap();
        let back: T = serde_json::from_str(&s).unwrap();
        assert!(back.a.is_nan());
        for (x, y) in t.v.iter().zip(&back.v) {
            assert_eq!(x.to_bits(), y.to_bits(), "{x} vs {y} via {s}");
        }
    }
}
