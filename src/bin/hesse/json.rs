//! JSON output helpers.
//!
//! JSON has no NaN or infinity: non-finite numbers are written as `null`.
//! Objects keep their keys in the order written (names of variables in the
//! order of the expression).

use serde::ser::{Serialize, SerializeMap, Serializer};

/// An `f64` that serializes as `null` when not finite.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Num(pub f64);

impl Serialize for Num {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_finite() {
            s.serialize_f64(self.0)
        } else {
            s.serialize_none()
        }
    }
}

/// Name → value pairs, serialized as an object in the given order.
#[derive(Debug, Clone, PartialEq)]
pub struct Named(pub Vec<(String, f64)>);

impl Serialize for Named {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, &Num(*v))?;
        }
        map.end()
    }
}

/// One JSON line.
pub fn to_line<T: Serialize>(value: &T) -> String {
    // Serializing plain structs of numbers, strings and bools cannot fail.
    serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_is_null_and_order_is_kept() {
        let named = Named(vec![("y".into(), 1.5), ("x".into(), f64::NAN)]);
        assert_eq!(to_line(&named), r#"{"y":1.5,"x":null}"#);
        assert_eq!(to_line(&Num(f64::INFINITY)), "null");
    }
}
