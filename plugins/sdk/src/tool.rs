//! Tools declared from Rust types: the input schema is derived with
//! `schemars` (doc comments become descriptions, `#[schemars(email)]` and
//! friends become formats and bounds), never written by hand.

use crate::error::ToolError;
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// MCP tool annotations. Start from [`Annotations::default`] (all false) and
/// set what holds; the host enforces confirmation for `destructive`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Annotations {
    pub read_only: bool,
    pub destructive: bool,
    pub idempotent: bool,
    pub open_world: bool,
}

impl Annotations {
    /// Read-only and idempotent: the usual annotations of a query tool.
    pub fn query() -> Self {
        Annotations::default().read_only().idempotent()
    }
    /// The tool changes nothing.
    pub fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }
    /// The tool may delete or overwrite data (host asks for confirmation).
    pub fn destructive(mut self) -> Self {
        self.destructive = true;
        self
    }
    /// Calling it again with the same arguments has no further effect.
    pub fn idempotent(mut self) -> Self {
        self.idempotent = true;
        self
    }
    /// It reaches entities outside the tenant.
    pub fn open_world(mut self) -> Self {
        self.open_world = true;
        self
    }
}

type Handler = Box<dyn Fn(Value, &[&'static str]) -> Result<Value, ToolError>>;

/// One tool: its definition and its handler.
pub struct Tool {
    name: &'static str,
    title: Option<&'static str>,
    description: &'static str,
    input_schema: fn() -> Value,
    output_schema: Option<fn() -> Value>,
    annotations: Annotations,
    secret_fields: Vec<&'static str>,
    bulk_argument: Option<&'static str>,
    handler: Handler,
    planner: Option<Handler>,
}

impl std::fmt::Debug for Tool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tool")
            .field("name", &self.name)
            .field("annotations", &self.annotations)
            .finish_non_exhaustive()
    }
}

impl Tool {
    /// A tool whose arguments deserialize into `A` and whose handler returns
    /// `R` (serialized to JSON). The input schema is `A`'s JSON Schema.
    pub fn new<A, R>(
        name: &'static str,
        description: &'static str,
        handler: fn(A) -> Result<R, ToolError>,
    ) -> Self
    where
        A: JsonSchema + DeserializeOwned + 'static,
        R: Serialize + 'static,
    {
        Tool {
            name,
            title: None,
            description,
            input_schema: schema_for::<A>,
            output_schema: None,
            annotations: Annotations::default(),
            secret_fields: Vec::new(),
            bulk_argument: None,
            planner: None,
            handler: Box::new(move |args, secrets| {
                let parsed: A = parse_args(args, secrets)?;
                let out = handler(parsed)?;
                serde_json::to_value(out).map_err(|e| {
                    ToolError::plugin(format!(
                        "The tool's result could not be encoded as JSON ({e}); report this bug."
                    ))
                })
            }),
        }
    }

    /// A human-readable title.
    pub fn title(mut self, title: &'static str) -> Self {
        self.title = Some(title);
        self
    }

    /// Sets the annotations.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.annotations = annotations;
        self
    }

    /// Marks a top-level argument as secret (redacted by the host, never
    /// echoed in input errors).
    pub fn secret(mut self, field: &'static str) -> Self {
        self.secret_fields.push(field);
        self
    }

    /// Names the array argument whose length makes a call bulk: over the
    /// host's threshold, the call needs the administrator's confirmation.
    pub fn bulk(mut self, array_argument: &'static str) -> Self {
        self.bulk_argument = Some(array_argument);
        self
    }

    /// Describes what a call would do, for the confirmation the host asks
    /// before a destructive or bulk call. It gets the same arguments as the
    /// handler, may read but must not change anything.
    pub fn plan<A>(mut self, planner: fn(A) -> Result<String, ToolError>) -> Self
    where
        A: DeserializeOwned + 'static,
    {
        self.planner = Some(Box::new(move |args, secrets| {
            let parsed: A = parse_args(args, secrets)?;
            planner(parsed).map(Value::String)
        }));
        self
    }

    /// Declares the structured result's schema (`R`'s JSON Schema).
    pub fn output<R: JsonSchema>(mut self) -> Self {
        self.output_schema = Some(schema_for::<R>);
        self
    }

    pub fn name(&self) -> &'static str {
        self.name
    }
    pub fn description(&self) -> &'static str {
        self.description
    }
    pub fn annotations_ref(&self) -> Annotations {
        self.annotations
    }
    pub fn secret_fields(&self) -> &[&'static str] {
        &self.secret_fields
    }
    pub fn bulk_argument(&self) -> Option<&'static str> {
        self.bulk_argument
    }
    /// The input schema as JSON.
    pub fn input_schema(&self) -> Value {
        (self.input_schema)()
    }
    /// The output schema as JSON, when declared.
    pub fn output_schema(&self) -> Option<Value> {
        self.output_schema.map(|f| f())
    }
    pub fn title_ref(&self) -> Option<&'static str> {
        self.title
    }

    /// Deserializes `args` into the tool's type and runs the handler.
    pub fn invoke(&self, args: Value) -> Result<Value, ToolError> {
        (self.handler)(args, &self.secret_fields)
    }

    /// The plan for `args`; empty when the tool declares no planner.
    pub fn plan_for(&self, args: Value) -> Result<String, ToolError> {
        match &self.planner {
            Some(p) => {
                p(args, &self.secret_fields).map(|v| v.as_str().unwrap_or_default().to_string())
            }
            None => Ok(String::new()),
        }
    }
}

/// Deserializes tool arguments, turning a failure into `INPUT_001` that names
/// the field (as a dotted path). Values of `secrets` fields are never echoed.
pub fn parse_args<A: DeserializeOwned>(args: Value, secrets: &[&str]) -> Result<A, ToolError> {
    serde_path_to_error::deserialize::<_, A>(args).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        // `missing field `x`` / `unknown field `x`` name the field inside the path.
        let named = inner
            .split('`')
            .nth(1)
            .filter(|_| inner.starts_with("missing field") || inner.starts_with("unknown field"));
        let field = match (path.as_str(), named) {
            (".", Some(n)) => n.to_string(),
            (p, Some(n)) if inner.starts_with("missing field") => format!("{p}.{n}"),
            (".", None) => String::new(),
            (p, _) => p.to_string(),
        };
        let top = field.split(['.', '[']).next().unwrap_or("");
        let detail = if secrets.contains(&top) {
            "has the wrong type or form".to_string()
        } else {
            inner
                .split(" at line ")
                .next()
                .unwrap_or(&inner)
                .to_string()
        };
        if field.is_empty() {
            ToolError::input(
                None,
                format!("The arguments are invalid ({detail}); fix them and call again."),
            )
        } else {
            ToolError::input(
                Some(&field),
                format!("Argument `{field}` is invalid ({detail}); fix it and call again."),
            )
        }
    })
}

/// `T`'s JSON Schema (draft 2020-12) as a self-contained object: subschemas
/// inlined, no `$schema`/root `title`, and optional properties without the
/// `null` alternative (an absent property is how to say "not given").
pub fn schema_for<T: JsonSchema>() -> Value {
    let settings = SchemaSettings::draft2020_12().with(|s| {
        s.inline_subschemas = true;
        s.meta_schema = None;
    });
    let mut v = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(obj) = v.as_object_mut() {
        obj.remove("title");
        obj.remove("$schema");
    }
    tidy(&mut v);
    v
}

/// Removes `null` from optional properties' schemas, recursively.
fn tidy(schema: &mut Value) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    let required: Vec<String> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if let Some(Value::Object(props)) = obj.get_mut("properties") {
        for (name, prop) in props.iter_mut() {
            if !required.contains(name) {
                drop_null(prop);
            }
        }
    }
    for (key, child) in obj.iter_mut() {
        match key.as_str() {
            "properties" | "$defs" | "patternProperties" => {
                if let Value::Object(m) = child {
                    m.values_mut().for_each(tidy);
                }
            }
            "anyOf" | "oneOf" | "allOf" | "prefixItems" => {
                if let Value::Array(a) = child {
                    a.iter_mut().for_each(tidy);
                }
            }
            "items" | "additionalProperties" | "not" => tidy(child),
            _ => {}
        }
    }
}

fn is_null_schema(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
        || v.get("const").is_some_and(Value::is_null)
}

fn drop_null(prop: &mut Value) {
    let Some(obj) = prop.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = obj.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types[0].clone();
            obj.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(alts)) = obj.get_mut(key) {
            alts.retain(|a| !is_null_schema(a));
            if alts.len() == 1 {
                let only = alts.pop().unwrap_or(Value::Null);
                obj.remove(key);
                if let Value::Object(inner) = only {
                    for (k, v) in inner {
                        obj.entry(k).or_insert(v);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Args {
        /// The address.
        #[schemars(email)]
        user_email: String,
        secret_word: String,
        /// Nested.
        inner: Option<Inner>,
        #[schemars(range(min = 1, max = 100))]
        top: Option<u32>,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        mode: Mode,
        #[schemars(inner(email))]
        to: Option<Vec<String>>,
    }

    #[derive(Debug, Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    enum Mode {
        On,
        Off,
    }

    #[test]
    fn schema_is_self_contained_object() {
        let s = schema_for::<Args>();
        let text = s.to_string();
        assert_eq!(s["type"], "object");
        assert!(!text.contains("$ref"), "{text}");
        assert!(!text.contains("null"), "{text}");
        assert_eq!(s["properties"]["userEmail"]["format"], "email");
        assert_eq!(s["properties"]["userEmail"]["description"], "The address.");
        assert_eq!(s["additionalProperties"], false);
        assert_eq!(s["properties"]["top"]["maximum"], 100);
        assert_eq!(s["properties"]["inner"]["type"], "object");
        assert_eq!(
            s["properties"]["inner"]["properties"]["mode"]["enum"],
            serde_json::json!(["on", "off"])
        );
        assert_eq!(
            s["properties"]["inner"]["properties"]["to"]["items"]["format"],
            "email"
        );
        let req = s["required"].as_array().unwrap();
        assert_eq!(req.len(), 2);
    }

    #[test]
    fn input_errors_name_the_field() {
        let e = parse_args::<Args>(serde_json::json!({"secretWord": "x"}), &[]).unwrap_err();
        assert_eq!(e.code, "INPUT_001");
        assert_eq!(e.detail("field").unwrap(), "userEmail");
        let e = parse_args::<Args>(
            serde_json::json!({"userEmail": "a@b.co", "secretWord": "x", "inner": {"mode": "up"}}),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "inner.mode");
        let e = parse_args::<Args>(
            serde_json::json!({"userEmail": "a@b.co", "secretWord": "x", "bogus": 1}),
            &[],
        )
        .unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "bogus");
    }

    #[test]
    fn secrets_are_not_echoed() {
        let e = parse_args::<Args>(
            serde_json::json!({"userEmail": "a@b.co", "secretWord": 12345678}),
            &["secretWord"],
        )
        .unwrap_err();
        assert_eq!(e.detail("field").unwrap(), "secretWord");
        assert!(!e.message.contains("12345678"), "{}", e.message);
    }
}
