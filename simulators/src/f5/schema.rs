//! Validation of declarations against F5's published AS3 schema (JSON Schema draft-07).
//!
//! The schema is 1.2 MB and 524 definitions; it is compiled once per process and file and
//! shared by every simulator that loads it. AS3's custom keyword `f5PostProcess` is ignored (the
//! validator skips keywords it does not know) and so are its custom formats (`f5ip`,
//! `f5bigip`, `f5pointer`): format checks are off, as in AS3's own first pass.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

/// The file name of the vendor schema.
pub const SCHEMA_FILE: &str = "as3-schema.json";
/// The environment variable that names the schema file.
pub const SCHEMA_ENV: &str = "FULCRUM_AS3_SCHEMA";

/// Why the schema could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SchemaError {
    /// The file could not be read.
    #[error("cannot read the AS3 schema {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a JSON Schema the validator can compile.
    #[error("the AS3 schema {path} cannot be compiled: {reason}")]
    Compile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// Where the schema is looked for: `FULCRUM_AS3_SCHEMA`, else `../shared/vendor/as3-schema.json`
/// relative to the workspace root.
pub fn default_path() -> PathBuf {
    match std::env::var_os(SCHEMA_ENV) {
        Some(path) => PathBuf::from(path),
        None => Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/vendor")
            .join(SCHEMA_FILE),
    }
}

/// The longest violation message kept (a message may quote a whole object).
const MESSAGE_LIMIT: usize = 300;

/// The compiled AS3 schema.
pub struct As3Schema {
    document: Value,
    validator: jsonschema::Validator,
    by_class: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
    /// How long reading and compiling it took.
    pub compile_time: Duration,
}

impl std::fmt::Debug for As3Schema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("As3Schema")
            .field("compile_time", &self.compile_time)
            .finish_non_exhaustive()
    }
}

static COMPILED: OnceLock<Mutex<HashMap<PathBuf, Arc<As3Schema>>>> = OnceLock::new();

impl As3Schema {
    /// The schema at `path`, compiled on the first call for that path in this process.
    pub fn load(path: &Path) -> Result<Arc<Self>, SchemaError> {
        let cache = COMPILED.get_or_init(Mutex::default);
        let mut cache = cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(schema) = cache.get(path) {
            return Ok(schema.clone());
        }
        let schema = Arc::new(Self::compile(path)?);
        cache.insert(path.to_path_buf(), schema.clone());
        Ok(schema)
    }

    /// Read and compile the schema at `path`, bypassing the cache.
    pub fn compile(path: &Path) -> Result<Self, SchemaError> {
        let started = Instant::now();
        let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let document: Value = serde_json::from_str(&text).map_err(|e| SchemaError::Compile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let validator = compile(&document).map_err(|reason| SchemaError::Compile {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(Self {
            document,
            validator,
            by_class: Mutex::default(),
            compile_time: started.elapsed(),
        })
    }

    /// Check a request body; the violations, each prefixed with where it is, when it fails.
    pub fn validate(&self, body: &Value) -> Result<(), Vec<String>> {
        violations(&self.validator, "", body)
    }

    /// Check one declared object against its class's definition (`Service_HTTP`, `Pool`…);
    /// the violations are prefixed with `at`, the object's place in the declaration. A class
    /// the schema does not define passes (the whole-body check has refused it already).
    pub fn validate_object(
        &self,
        class: &str,
        at: &str,
        object: &Value,
    ) -> Result<(), Vec<String>> {
        if self.document["definitions"].get(class).is_none() {
            return Ok(());
        }
        let validator = {
            let mut cache = self
                .by_class
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match cache.get(class) {
                Some(validator) => validator.clone(),
                None => {
                    let mut root = self.document.clone();
                    if let Some(root) = root.as_object_mut() {
                        root.remove("oneOf");
                    }
                    root["allOf"] =
                        serde_json::json!([{ "$ref": format!("#/definitions/{class}") }]);
                    let validator = Arc::new(compile(&root).map_err(|reason| {
                        vec![format!(
                            "{at}: the definition {class} is unusable: {reason}"
                        )]
                    })?);
                    cache.insert(class.to_owned(), validator.clone());
                    validator
                }
            }
        };
        violations(&validator, at, object)
    }
}

fn compile(document: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::draft7::options()
        .should_validate_formats(false)
        .build(document)
        .map_err(|e| e.to_string())
}

fn violations(
    validator: &jsonschema::Validator,
    at: &str,
    value: &Value,
) -> Result<(), Vec<String>> {
    let violations: Vec<String> = validator
        .iter_errors(value)
        .map(|error| {
            let path = format!("{at}{}", error.instance_path());
            let mut message = error.to_string();
            if message.len() > MESSAGE_LIMIT {
                let cut = (0..=MESSAGE_LIMIT)
                    .rev()
                    .find(|i| message.is_char_boundary(*i))
                    .unwrap_or(0);
                message.truncate(cut);
                message.push('…');
            }
            format!("{}: {message}", if path.is_empty() { "/" } else { &path })
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

/// How long validations have taken in one simulator.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValidationTimes {
    /// How long compiling the schema took (zero when it came from the process's cache).
    pub compile_ms: f64,
    /// Declarations validated.
    pub count: u64,
    /// Their total time.
    pub total_ms: f64,
    /// The longest one.
    pub max_ms: f64,
}

impl ValidationTimes {
    /// Count one validation.
    pub fn record(&mut self, took: Duration) {
        let ms = took.as_secs_f64() * 1000.0;
        self.count += 1;
        self.total_ms += ms;
        self.max_ms = self.max_ms.max(ms);
    }
}
