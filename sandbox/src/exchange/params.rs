//! Parameter binding for `InvokeCommand`, as PowerShell does it for a cmdlet: names match
//! case-insensitively, values are converted to the parameter's type (with PowerShell's own
//! messages when they cannot be), enums accept only their names, mandatory parameters must be
//! present. A parameter the cloud cmdlet has but the sandbox does not emulate is refused with a
//! message that says so, never silently ignored.

use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::cloud_params::CLOUD_PARAMETERS;
use super::error::ExoError;
use crate::web::time::parse_date;

/// A parameter's .NET type, as far as binding is concerned.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Ty {
    Str,
    Bool,
    Switch,
    Int {
        min: i64,
        max: i64,
    },
    /// An enum: its .NET type name and its names.
    Enum(&'static str, &'static [&'static str]),
    /// A MultiValuedProperty of enum values.
    EnumList(&'static str, &'static [&'static str]),
    /// A MultiValuedProperty of strings (a string is split at commas).
    List,
    /// A MultiValuedProperty that also takes `@{Add=…; Remove=…}`.
    ListUpdate,
    Date,
    /// An EnhancedTimeSpan given in days (`365`, `"365"` or `"365.00:00:00"`).
    Days,
    /// A ProxyAddress / SmtpAddress (`x@y` or `smtp:x@y`).
    Smtp,
    /// `Unlimited` or a positive count.
    Unlimited,
    Guid,
}

/// One parameter of an emulated cmdlet.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Param {
    pub name: &'static str,
    pub ty: Ty,
    pub mandatory: bool,
    /// Whether `$null` is a value (it clears the property).
    pub nullable: bool,
}

/// An optional parameter.
pub(crate) const fn p(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        mandatory: false,
        nullable: false,
    }
}

/// A mandatory parameter.
pub(crate) const fn m(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        mandatory: true,
        nullable: false,
    }
}

/// An optional parameter that takes `$null`.
pub(crate) const fn n(name: &'static str, ty: Ty) -> Param {
    Param {
        name,
        ty,
        mandatory: false,
        nullable: true,
    }
}

/// PowerShell's common parameters: accepted by every cmdlet, without effect here.
const COMMON: &[&str] = &[
    "Verbose",
    "Debug",
    "ErrorAction",
    "WarningAction",
    "InformationAction",
    "ProgressAction",
    "ErrorVariable",
    "WarningVariable",
    "InformationVariable",
    "OutVariable",
    "OutBuffer",
    "PipelineVariable",
];

/// The bound parameters of one call, by canonical name, with converted values.
#[derive(Debug, Default, Clone)]
pub(crate) struct Bound {
    values: Vec<(&'static str, Value)>,
}

impl Bound {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.get(name).and_then(Value::as_bool)
    }

    /// A switch: present and not `:$false`.
    pub fn switch(&self, name: &str) -> bool {
        self.bool(name).unwrap_or(false)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(Value::as_i64)
    }

    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).and_then(Value::as_array).map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
    }

    pub fn date(&self, name: &str) -> Option<OffsetDateTime> {
        self.str(name)
            .and_then(|s| OffsetDateTime::parse(s, &Rfc3339).ok())
    }

    /// The bound parameters, in the order given.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Value)> {
        self.values.iter().map(|(k, v)| (*k, v))
    }
}

/// Binds `input` (the `Parameters` object) to `spec` for `cmdlet`.
pub(crate) fn bind(
    cmdlet: &str,
    spec: &[Param],
    input: &Map<String, Value>,
) -> Result<Bound, ExoError> {
    let mut bound = Bound::default();
    for (key, value) in input {
        // OData annotations (`X@odata.type`) travel with values; they are not parameters.
        if key.contains('@') {
            continue;
        }
        if let Some(param) = spec.iter().find(|p| p.name.eq_ignore_ascii_case(key)) {
            if bound.has(param.name) {
                return Err(ExoError::binding(format!(
                    "Cannot bind parameter because parameter '{}' is specified more than once. To provide multiple values to parameters that can accept multiple values, use the array syntax. For example, \"-parameter value1,value2,value3\".",
                    param.name
                )));
            }
            let converted = convert(param, value)?;
            bound.values.push((param.name, converted));
            continue;
        }
        if COMMON.iter().any(|c| c.eq_ignore_ascii_case(key)) {
            continue;
        }
        if let Some(name) = cloud_parameters(cmdlet)
            .iter()
            .find(|c| c.eq_ignore_ascii_case(key))
        {
            return Err(ExoError::not_emulated(cmdlet, name));
        }
        return Err(ExoError::binding(format!(
            "A parameter cannot be found that matches parameter name '{key}'."
        )));
    }
    let missing: Vec<&str> = spec
        .iter()
        .filter(|p| p.mandatory && !bound.has(p.name))
        .map(|p| p.name)
        .collect();
    if !missing.is_empty() {
        return Err(ExoError::binding(format!(
            "Cannot process command because of one or more missing mandatory parameters: {}.",
            missing.join(" ")
        )));
    }
    Ok(bound)
}

/// The parameters Microsoft documents for the cloud cmdlet.
pub(crate) fn cloud_parameters(cmdlet: &str) -> &'static [&'static str] {
    CLOUD_PARAMETERS
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(cmdlet))
        .map(|(_, ps)| *ps)
        .unwrap_or(&[])
}

/// The text PowerShell shows for a value in its messages.
fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(shown).collect::<Vec<_>>().join(" "),
        Value::Object(_) => "System.Collections.Hashtable".into(),
        other => other.to_string(),
    }
}

fn transformation(param: &str, v: &Value, ty: &str, error: &str) -> ExoError {
    ExoError::binding(format!(
        "Cannot process argument transformation on parameter '{param}'. Cannot convert value \"{}\" to type \"{ty}\". Error: \"{error}\"",
        shown(v)
    ))
}

fn convert(param: &Param, v: &Value) -> Result<Value, ExoError> {
    if v.is_null() {
        if param.nullable {
            return Ok(Value::Null);
        }
        if matches!(param.ty, Ty::Switch) {
            return Ok(json!(true));
        }
        if !matches!(param.ty, Ty::Bool) {
            return Err(ExoError::binding(format!(
                "Cannot bind argument to parameter '{}' because it is null.",
                param.name
            )));
        }
    }
    let name = param.name;
    match param.ty {
        Ty::Str => scalar_string(v)
            .map(Value::String)
            .ok_or_else(|| transformation(name, v, "System.String", "Specified cast is not valid.")),
        Ty::Bool | Ty::Switch => to_bool(v).map(Value::Bool).ok_or_else(|| {
            ExoError::binding(format!(
                "Cannot process argument transformation on parameter '{name}'. Cannot convert value \"{}\" to type \"System.Boolean\". Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.",
                shown(v)
            ))
        }),
        Ty::Int { min, max } => {
            let i = to_int(v).ok_or_else(|| {
                transformation(
                    name,
                    v,
                    "System.Int32",
                    "Input string was not in a correct format.",
                )
            })?;
            range(name, i, min, max)?;
            Ok(json!(i))
        }
        Ty::Unlimited => {
            if let Some(s) = v.as_str()
                && s.trim().eq_ignore_ascii_case("unlimited")
            {
                return Ok(json!("Unlimited"));
            }
            let i = to_int(v).ok_or_else(|| {
                transformation(
                    name,
                    v,
                    "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]",
                    "The value must be \"Unlimited\" or a number.",
                )
            })?;
            range(name, i, 1, i64::from(u32::MAX))?;
            Ok(json!(i))
        }
        Ty::Enum(type_name, names) => to_enum(name, v, type_name, names).map(Value::String),
        Ty::EnumList(type_name, names) => {
            let items = to_list(v).ok_or_else(|| {
                transformation(name, v, type_name, "Specified cast is not valid.")
            })?;
            items
                .iter()
                .map(|s| to_enum(name, &json!(s), type_name, names).map(Value::String))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Ty::List => to_list(v).map(|l| json!(l)).ok_or_else(|| {
            transformation(
                name,
                v,
                "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]",
                "Specified cast is not valid.",
            )
        }),
        Ty::ListUpdate => {
            if let Value::Object(o) = v {
                let mut add = Vec::new();
                let mut remove = Vec::new();
                for (k, item) in o {
                    if k.contains('@') {
                        continue;
                    }
                    let list = to_list(item).unwrap_or_default();
                    if k.eq_ignore_ascii_case("add") {
                        add.extend(list);
                    } else if k.eq_ignore_ascii_case("remove") {
                        remove.extend(list);
                    } else {
                        return Err(transformation(
                            name,
                            v,
                            "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]",
                            &format!(
                                "The hash table key '{k}' isn't valid; use Add or Remove."
                            ),
                        ));
                    }
                }
                return Ok(json!({"Add": add, "Remove": remove}));
            }
            to_list(v).map(|l| json!(l)).ok_or_else(|| {
                transformation(
                    name,
                    v,
                    "Microsoft.Exchange.Data.MultiValuedProperty`1[System.String]",
                    "Specified cast is not valid.",
                )
            })
        }
        Ty::Date => {
            let s = scalar_string(v).unwrap_or_default();
            parse_date(&s)
                .map(|d| json!(d.format(&Rfc3339).unwrap_or_default()))
                .ok_or_else(|| {
                    transformation(
                        name,
                        v,
                        "System.DateTime",
                        &format!("String '{s}' was not recognized as a valid DateTime."),
                    )
                })
        }
        Ty::Days => {
            let days = to_days(v).ok_or_else(|| {
                transformation(
                    name,
                    v,
                    "Microsoft.Exchange.Data.EnhancedTimeSpan",
                    "Input string was not in a correct format.",
                )
            })?;
            Ok(json!(days))
        }
        Ty::Smtp => {
            let s = scalar_string(v).unwrap_or_default();
            let address = s
                .split_once(':')
                .filter(|(prefix, _)| prefix.eq_ignore_ascii_case("smtp"))
                .map(|(_, a)| a)
                .unwrap_or(&s)
                .trim();
            if !valid_smtp(address) {
                return Err(transformation(
                    name,
                    v,
                    "Microsoft.Exchange.Data.ProxyAddress",
                    &format!("The address '{s}' is invalid: \"{address}\" isn't a valid SMTP address. The domain name can't contain spaces and it has to have a prefix and a suffix, such as example.com."),
                ));
            }
            Ok(json!(address))
        }
        Ty::Guid => {
            let s = scalar_string(v).unwrap_or_default();
            uuid::Uuid::parse_str(s.trim())
                .map(|u| json!(u.to_string()))
                .map_err(|_| {
                    transformation(
                        name,
                        v,
                        "System.Guid",
                        "Guid should contain 32 digits with 4 dashes (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx).",
                    )
                })
        }
    }
}

fn range(name: &str, i: i64, min: i64, max: i64) -> Result<(), ExoError> {
    if i > max {
        return Err(ExoError::binding(format!(
            "Cannot validate argument on parameter '{name}'. The {i} argument is greater than the maximum allowed range of {max}. Supply an argument that is less than or equal to {max} and then try the command again."
        )));
    }
    if i < min {
        return Err(ExoError::binding(format!(
            "Cannot validate argument on parameter '{name}'. The {i} argument is less than the minimum allowed range of {min}. Supply an argument that is greater than or equal to {min} and then try the command again."
        )));
    }
    Ok(())
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.into()),
        _ => None,
    }
}

fn to_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_f64().map(|f| f != 0.0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "$true" | "1" => Some(true),
            "false" | "$false" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn to_int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn to_list(v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(items) => items.iter().map(scalar_string).collect(),
        Value::String(s) => Some(
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect(),
        ),
        other => scalar_string(other).map(|s| vec![s]),
    }
}

fn to_enum(param: &str, v: &Value, type_name: &str, names: &[&str]) -> Result<String, ExoError> {
    let s = scalar_string(v).unwrap_or_default();
    names
        .iter()
        .find(|n| n.eq_ignore_ascii_case(s.trim()))
        .map(|n| n.to_string())
        .ok_or_else(|| {
            ExoError::binding(format!(
                "Cannot bind parameter '{param}'. Cannot convert value \"{s}\" to type \"{type_name}\". Error: \"Unable to match the identifier name {s} to a valid enumerator name. Specify one of the following enumerator names and try again:\r\n{}\"",
                names.join(", ")
            ))
        })
}

/// Days from `365`, `"365"`, `"365.00:00:00"` or `"365.12:00:00"` (rounded down).
fn to_days(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => {
            let s = s.trim();
            match s.split_once('.') {
                Some((d, rest)) if rest.contains(':') => d.parse().ok(),
                _ if s.contains(':') => Some(0),
                _ => s.parse().ok(),
            }
        }
        _ => None,
    }
}

/// An SMTP address Exchange accepts: one `@`, a non-empty local part, a dotted domain.
pub(crate) fn valid_smtp(a: &str) -> bool {
    let Some((local, domain)) = a.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && !local.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !a.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &[Param] = &[
        m("Identity", Ty::Str),
        p("Enabled", Ty::Bool),
        p("Size", Ty::Int { min: 1, max: 5000 }),
        p(
            "Mode",
            Ty::Enum("Contoso.Mode", &["DoNotAutomaticallySend", "AlwaysSend"]),
        ),
        n("Forward", Ty::Smtp),
        p("Users", Ty::List),
        p("Allow", Ty::ListUpdate),
        p("Age", Ty::Days),
        p("When", Ty::Date),
        p("Force", Ty::Switch),
    ];

    fn bind_json(v: Value) -> Result<Bound, ExoError> {
        bind("Set-Mailbox", SPEC, v.as_object().unwrap())
    }

    fn detail(e: ExoError) -> String {
        e.detail.unwrap_or_default()
    }

    #[test]
    fn converts_values_like_powershell() {
        let b = bind_json(json!({
            "identity": "ann", "Enabled": "$false", "Size": "10", "mode": "alwayssend",
            "Forward": "SMTP:ann@example.com", "Users": "a, b,c", "Allow": {"@odata.type": "#Exchange.GenericHashTable", "add": "x@y.z"},
            "Age": "365.00:00:00", "When": "06/13/2025 5:00 PM", "Force": true, "Identity@odata.type": "#String",
            "ErrorAction": "Stop"
        }))
        .unwrap();
        assert_eq!(b.str("Identity"), Some("ann"));
        assert_eq!(b.bool("Enabled"), Some(false));
        assert_eq!(b.int("Size"), Some(10));
        assert_eq!(b.str("Mode"), Some("AlwaysSend"));
        assert_eq!(b.str("Forward"), Some("ann@example.com"));
        assert_eq!(b.list("Users").unwrap(), vec!["a", "b", "c"]);
        assert_eq!(b.get("Allow").unwrap()["Add"], json!(["x@y.z"]));
        assert_eq!(b.int("Age"), Some(365));
        assert_eq!(
            b.date("When").unwrap(),
            time::macros::datetime!(2025-06-13 17:00 UTC)
        );
        assert!(b.switch("Force"));
        assert!(
            bind_json(json!({"Identity": "a", "Forward": null}))
                .unwrap()
                .get("Forward")
                .unwrap()
                .is_null()
        );
    }

    #[test]
    fn refuses_with_powershell_messages() {
        let cases = [
            (
                json!({"Identity": "a", "Colour": 1}),
                "A parameter cannot be found that matches parameter name 'Colour'.",
            ),
            (
                json!({"Enabled": true}),
                "missing mandatory parameters: Identity.",
            ),
            (
                json!({"Identity": "a", "Mode": "Sometimes"}),
                "Specify one of the following enumerator names and try again:\r\nDoNotAutomaticallySend, AlwaysSend",
            ),
            (
                json!({"Identity": "a", "Enabled": "yes"}),
                "Boolean parameters accept only Boolean values",
            ),
            (
                json!({"Identity": "a", "Size": 5001}),
                "greater than the maximum allowed range of 5000",
            ),
            (
                json!({"Identity": "a", "Size": 0}),
                "less than the minimum allowed range of 1",
            ),
            (
                json!({"Identity": "a", "Forward": "not an address"}),
                "isn't a valid SMTP address",
            ),
            (
                json!({"Identity": "a", "When": "yesterday"}),
                "was not recognized as a valid DateTime",
            ),
            (json!({"Identity": null}), "because it is null"),
            (
                json!({"Identity": "a", "identity": "b"}),
                "is specified more than once",
            ),
            (
                json!({"Identity": "a", "Alias": "b"}),
                "does not emulate the 'Alias' parameter",
            ),
        ];
        for (input, want) in cases {
            let got = detail(bind_json(input.clone()).unwrap_err());
            assert!(got.contains(want), "{input}: {got}");
        }
    }
}
