//! Conversions between JSON values (how the engine holds cog.yaml, params and resolved
//! versions) and Rhai values.

use rhai::Dynamic;

/// A JSON value as a Rhai value: objects become maps, arrays arrays, numbers `i64`/`f64`.
pub fn json_to_dynamic(value: &serde_json::Value) -> Dynamic {
    use serde_json::Value as J;
    match value {
        J::Null => Dynamic::UNIT,
        J::Bool(b) => Dynamic::from_bool(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => Dynamic::from(s.clone()),
        J::Array(items) => Dynamic::from_array(items.iter().map(json_to_dynamic).collect()),
        J::Object(map) => {
            let mut out = rhai::Map::new();
            for (k, v) in map {
                out.insert(k.as_str().into(), json_to_dynamic(v));
            }
            Dynamic::from_map(out)
        }
    }
}

/// A Rhai value as JSON; fails on values JSON cannot hold (functions, plan handles, NaN).
pub fn dynamic_to_json(value: &Dynamic) -> Result<serde_json::Value, String> {
    use serde_json::Value as J;
    if value.is_unit() {
        return Ok(J::Null);
    }
    if let Ok(b) = value.as_bool() {
        return Ok(J::Bool(b));
    }
    if let Ok(i) = value.as_int() {
        return Ok(J::from(i));
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f).map(J::Number).ok_or_else(|| format!("{f} is not a JSON number"));
    }
    if value.is_string() {
        return Ok(J::String(value.clone().into_string().unwrap_or_default()));
    }
    if value.is_char() {
        return Ok(J::String(value.as_char().map(String::from).unwrap_or_default()));
    }
    if let Some(items) = value.read_lock::<rhai::Array>() {
        return items.iter().map(dynamic_to_json).collect::<Result<Vec<_>, _>>().map(J::Array);
    }
    if let Some(map) = value.read_lock::<rhai::Map>() {
        let mut out = serde_json::Map::new();
        for (k, v) in map.iter() {
            out.insert(k.to_string(), dynamic_to_json(v)?);
        }
        return Ok(J::Object(out));
    }
    Err(format!("a value of type `{}` cannot be turned into JSON", value.type_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let v = serde_json::json!({"build": {"gpu": true, "python_version": "3.11", "n": 3, "f": 1.5,
            "list": ["a", null]}});
        assert_eq!(dynamic_to_json(&json_to_dynamic(&v)).unwrap(), v);
    }
}
