//! The public test vectors (`data/maxpool2d.jsonl`, copied from the project's shared vectors; see
//! `data/README.md` for the fields).

use maxpool::technique::with_dtype;
use maxpool::{Backend, DType, ErrorKind, Padding, Params};
use serde_json::Value;

use maxpool_conformance::{check_case, reference, Case, Expected, Outcome, Sample};

/// Reads a vector file's value; floats may be the strings "NaN", "Infinity", "-Infinity".
pub trait FromJson: Sample {
    /// The value of this type that `v` stands for.
    fn from_json(v: &Value) -> Self;
}

macro_rules! float_json {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Self {
                match v {
                    Value::String(s) if s == "NaN" => <$t>::NAN,
                    Value::String(s) if s == "Infinity" => <$t>::INFINITY,
                    Value::String(s) if s == "-Infinity" => <$t>::NEG_INFINITY,
                    v => v.as_f64().unwrap_or_else(|| panic!("not a float: {v}")) as $t,
                }
            }
        }
    )*};
}

macro_rules! int_json {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Self {
                v.as_i64()
                    .and_then(|x| <$t>::try_from(x).ok())
                    .unwrap_or_else(|| panic!("not a {}: {v}", stringify!($t)))
            }
        }
    )*};
}

float_json!(f32, f64);

macro_rules! half_json {
    ($($t:ty),*) => {$(
        impl FromJson for $t {
            fn from_json(v: &Value) -> Self {
                let x = match v {
                    Value::String(s) if s == "NaN" => f64::NAN,
                    Value::String(s) if s == "Infinity" => f64::INFINITY,
                    Value::String(s) if s == "-Infinity" => f64::NEG_INFINITY,
                    v => v.as_f64().unwrap_or_else(|| panic!("not a float: {v}")),
                };
                let h = <$t>::from_f64(x);
                assert!(
                    x.is_nan() || h.to_f64() == x,
                    "{v} is not exactly a {}",
                    stringify!($t)
                );
                h
            }
        }
    )*};
}

half_json!(maxpool::f16, maxpool::bf16);
int_json!(i8, u8, i16, u16, i32, i64);

/// One vector: a pooling call and what it must return.
#[derive(Clone, Debug)]
pub struct Vector {
    /// What the case exercises.
    pub name: String,
    /// Its element type.
    pub dtype: DType,
    json: Value,
}

/// Every vector in the file.
pub fn load() -> Vec<Vector> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/data/maxpool2d.jsonl");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let json: Value = serde_json::from_str(line).expect("each line is a JSON object");
            Vector {
                name: json["name"].as_str().expect("name").to_owned(),
                dtype: json["dtype"]
                    .as_str()
                    .expect("dtype")
                    .parse()
                    .expect("a known dtype"),
                json,
            }
        })
        .collect()
}

impl Vector {
    fn usize(&self, key: &str) -> usize {
        self.json[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: {key}", self.name)) as usize
    }
    fn list<T>(&self, key: &str, f: impl Fn(&Value) -> T) -> Vec<T> {
        self.json[key]
            .as_array()
            .unwrap_or_else(|| panic!("{}: {key}", self.name))
            .iter()
            .map(f)
            .collect()
    }
    fn pair(&self, key: &str) -> [usize; 2] {
        let v = self.list(key, |x| x.as_u64().expect("a size") as usize);
        [v[0], v[1]]
    }

    /// The call's parameters.
    pub fn params(&self) -> Params {
        let p = self.list("padding", |x| x.as_u64().expect("a size") as usize);
        Params {
            kernel: self.pair("kernel"),
            stride: self.pair("stride"),
            padding: Padding {
                top: p[0],
                bottom: p[1],
                left: p[2],
                right: p[3],
            },
            dilation: self.pair("dilation"),
            ceil_mode: self.json["ceil_mode"].as_bool().expect("ceil_mode"),
        }
    }

    /// The call as a case of element type `T` (which must be the vector's dtype).
    pub fn case<T: FromJson>(&self) -> Case<T> {
        assert_eq!(T::DTYPE, self.dtype);
        Case {
            params: self.params(),
            planes: self.usize("planes"),
            height: self.usize("height"),
            width: self.usize("width"),
            input: self.list("input", T::from_json),
        }
    }

    /// What the call must return, or the class of error that must refuse it.
    pub fn expected<T: FromJson>(&self) -> Result<Expected<T>, ErrorKind> {
        match self.json.get("error").and_then(Value::as_str) {
            Some("invalid_shape") => Err(ErrorKind::InvalidShape),
            Some("invalid_params") => Err(ErrorKind::InvalidParams),
            Some(other) => panic!("{}: unknown error {other}", self.name),
            None => Ok(Expected {
                out_height: self.usize("out_height"),
                out_width: self.usize("out_width"),
                values: self.list("values", T::from_json),
                indices: self.list("indices", |x| x.as_i64().expect("an index")),
                multiplier: self.list("multiplier", |x| x.as_u64().expect("a count") as u32),
                // Vectors do not state them; the suite's reference, which is compared with the vector, does.
                row_starts: Vec::new(),
                col_starts: Vec::new(),
            }),
        }
    }
}

fn check_typed<T: FromJson>(backend: Backend, v: &Vector) -> Result<Outcome, String> {
    let case = v.case::<T>();
    let want = v.expected::<T>();
    let ours = reference(
        &case.params,
        case.planes,
        case.height,
        case.width,
        &case.input,
    );
    let agree = match (&ours, &want) {
        (Ok(a), Ok(b)) => {
            a.out_height == b.out_height
                && a.out_width == b.out_width
                && a.values
                    .iter()
                    .zip(&b.values)
                    .all(|(x, y)| x.bits() == y.bits())
                && a.values.len() == b.values.len()
                && a.indices == b.indices
                && a.multiplier == b.multiplier
        }
        (a, b) => a.as_ref().err() == b.as_ref().err(),
    };
    if !agree {
        return Err(format!(
            "the suite's reference disagrees with the vector: {ours:?} vs {want:?}"
        ));
    }
    check_case(backend, &case)
}

/// Checks one vector on one backend: the suite's reference must agree with the vector, and the backend with
/// the reference.
pub fn check_vector(backend: Backend, v: &Vector) -> Result<Outcome, String> {
    with_dtype!(v.dtype, check_typed(backend, v)).map_err(|e| format!("vector {:?}: {e}", v.name))
}
